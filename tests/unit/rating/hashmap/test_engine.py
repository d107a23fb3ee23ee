"""The hashmap engine against CONTRACT 3.3: worked examples, facts, overrides, dates."""

from __future__ import annotations

import datetime
import decimal
import gc
import logging
import sys
import types
from decimal import Decimal

import pytest

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.rating.hashmap.engine import HashMapEngine
from cloudkitty.rating.hashmap.module import HashMap
from tests.unit.rating.hashmap.reference import UTC, RuleSetBuilder

T0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
T1 = datetime.datetime(2024, 2, 1, tzinfo=UTC)
T2 = datetime.datetime(2024, 3, 1, tzinfo=UTC)
IMAGE = "a41fba37-2429-4f15-aa00-b5bc4bf557bf"


def point(qty: str | int, price: str = "0", **attrs: object) -> DataPoint:
    return DataPoint.create("unit", qty, price, groupby=attrs)


def price(engine: HashMapEngine, service: str, pt: DataPoint, scope: str | None = None) -> Decimal:
    return engine.price_point(service, pt, scope, T1)


# --- worked examples -------------------------------------------------------


def example_a() -> HashMapEngine:
    b = RuleSetBuilder()
    compute = b.service("compute")
    flavor = b.field(compute, "flavor")
    image = b.field(compute, "image_id")
    memory = b.field(compute, "memory")
    vcpus = b.field(compute, "vcpus")
    test_group = b.group("test_group")
    second = b.group("second_test_group")
    b.mapping("1.00", service=compute)
    b.mapping("1.337", field=flavor, value="m1.nano", group=test_group)
    b.mapping("1.42", field=flavor, value="m1.tiny", group=test_group)
    b.mapping("1.10", "rate", field=image, value=IMAGE, group=test_group)
    b.threshold(64, "0.15", field=memory, group=test_group)
    b.threshold(128, "0.2", field=memory, group=test_group)
    b.mapping("16.0", field=vcpus, value="8", group=second)
    return HashMapEngine(b.build())


def test_example_a_frame() -> None:
    points = (
        point(1, flavor="m1.nano", image_id="other", memory="64", vcpus="1"),
        point(2, flavor="m1.tiny", image_id=IMAGE, memory="512"),
        point(2, flavor="m1.xlarge", memory=16384, vcpus=8),
        point(1, flavor="m1.nano", image_id=IMAGE, memory="64"),
    )
    frame = DataFrame(T1, T2, {"compute": points})
    rated = example_a().price_frame(frame, "any-scope")
    prices = [p.price for p in rated.points("compute")]
    assert prices == [Decimal("2.487"), Decimal("5.564"), Decimal("34.4"), Decimal("2.6357")]
    # Only the price changes.
    assert [p._replace(price=Decimal(0)) for p in rated.points("compute")] == list(points)


@pytest.mark.parametrize(
    ("qty", "t1", "t2"),
    [
        (20, "0.02", "0.02"),
        (50, "0.049", "0.0485"),
        (80, "0.0784", "0.0776"),
        (250, "0.2375", "0.2375"),
    ],
)
def test_example_b_volume_discount(qty: int, t1: str, t2: str) -> None:
    b = RuleSetBuilder()
    volume = b.service("volume.size")
    group = b.group("volume_thresholds")
    b.mapping("0.001", service=volume, group=group)
    b.threshold(50, "0.98", "rate", service=volume, group=group)
    b.threshold(200, "0.95", "rate", service=volume, group=group)
    b.threshold(50, "0.97", "rate", service=volume, group=group, tenant="T2")
    engine = HashMapEngine(b.build())
    assert price(engine, "volume.size", point(qty), "T1") == Decimal(t1)
    assert price(engine, "volume.size", point(qty), "T2") == Decimal(t2)


@pytest.mark.parametrize(
    ("attrs", "qty", "t1", "t2"),
    [
        ({"flavor_name": "m1.small", "image_id": "win"}, 1, "0.7", "1.06"),
        ({"flavor_name": "m1.small", "image_id": "linux"}, 2, "1.2", "1.8"),
        ({"flavor_name": "m1.big", "image_id": "win"}, 1, "0.1", "0.1"),
    ],
)
def test_example_c_tenant_field_override(attrs: dict, qty: int, t1: str, t2: str) -> None:
    b = RuleSetBuilder()
    instance = b.service("instance")
    flavor = b.field(instance, "flavor_name")
    image = b.field(instance, "image_id")
    base = b.group("base")
    b.mapping("0.5", field=flavor, value="m1.small")
    b.mapping("0.8", field=flavor, value="m1.small", tenant="T2")
    b.mapping("1.2", "rate", field=image, value="win")
    b.mapping("0.1", service=instance, group=base)
    engine = HashMapEngine(b.build())
    assert price(engine, "instance", point(qty, **attrs), "T1") == Decimal(t1)
    assert price(engine, "instance", point(qty, **attrs), "T2") == Decimal(t2)


# --- further facts of 3.3 -------------------------------------------------


@pytest.mark.parametrize(("memory", "qty", "expected"), [(64, 1, "0.1337"), (512, 2, "0.4")])
def test_field_thresholds(memory: int, qty: int, expected: str) -> None:
    b = RuleSetBuilder()
    compute = b.service("compute")
    mem = b.field(compute, "memory")
    b.threshold(64, "0.1337", field=mem)
    b.threshold(128, "0.2", field=mem)
    engine = HashMapEngine(b.build())
    assert price(engine, "compute", point(qty, memory=memory)) == Decimal(expected)


@pytest.mark.parametrize(("qty", "expected"), [(0, "0"), (1, "0.1"), (2, "0.15"), (9, "0.15")])
def test_flat_service_threshold_added_once(qty: int, expected: str) -> None:
    b = RuleSetBuilder()
    compute = b.service("compute")
    b.threshold(1, "0.1", service=compute)
    b.threshold(2, "0.15", service=compute)
    engine = HashMapEngine(b.build())
    assert price(engine, "compute", point(qty)) == Decimal(expected)


def test_flats_in_a_group_do_not_add_rates_multiply_groups_add() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    a, c, d, e = (b.field(svc, name) for name in "acde")
    other = b.group("other")
    b.mapping("3", field=a, value="x")
    b.mapping("2", field=c, value="y")  # same group: max(3, 2) = 3, not the last
    b.mapping("1.5", "rate", field=d, value="x")
    b.mapping("2", "rate", field=e, value="y")  # 1.5 * 2 = 3
    b.mapping("0.25", service=svc, group=other)
    engine = HashMapEngine(b.build())
    # _DEFAULT_: 3 * 3 * 2 = 18; other: 0.25 * 2 = 0.5
    assert price(engine, "svc", point(2, a="x", c="y", d="x", e="y")) == Decimal("18.5")


def test_rate_only_group_gives_zero() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    b.mapping("1.5", "rate", service=svc)
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(4, price="1.25")) == Decimal("1.25")


def test_value_matched_by_string_form() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "n")
    b.mapping("1", field=field, value="8")
    b.mapping("10", field=field, value="1")
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1, n=8)) == Decimal(1)
    assert price(engine, "svc", point(1, n="8")) == Decimal(1)
    assert price(engine, "svc", point(1, n=8.0)) == Decimal(0)
    assert price(engine, "svc", point(1, n=1.0)) == Decimal(0)
    assert price(engine, "svc", point(1, n=Decimal("1.0"))) == Decimal(0)
    assert price(engine, "svc", point(1, n=True)) == Decimal(0)
    assert price(engine, "svc", point(1, n=1)) == Decimal(10)


def test_groupby_wins_over_metadata_and_metadata_is_read() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "flavor")
    b.mapping("1", field=field, value="small")
    b.mapping("5", field=field, value="big")
    engine = HashMapEngine(b.build())
    both = DataPoint.create("u", 1, groupby={"flavor": "big"}, metadata={"flavor": "small"})
    meta = DataPoint.create("u", 1, metadata={"flavor": "small"})
    assert price(engine, "svc", both) == Decimal(5)
    assert price(engine, "svc", meta) == Decimal(1)


def test_old_price_is_kept_and_other_metrics_untouched() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    b.mapping("0.5", service=svc)
    engine = HashMapEngine(b.build())
    untouched = point(3, price="7")
    frame = DataFrame(T1, T2, {"svc": [point(3, price="1.5")], "other": [untouched]})
    rated = engine.price_frame(frame, None)
    assert rated.points("svc")[0].price == Decimal("3.0")
    assert rated.points("other")[0] is untouched
    assert frame.points("svc")[0].price == Decimal("1.5")  # input not mutated


def test_service_without_rules_keeps_points() -> None:
    b = RuleSetBuilder()
    b.service("svc")
    pt = point(3, price="2")
    rated = HashMapEngine(b.build()).price_frame(DataFrame(T1, T2, {"svc": [pt]}), None)
    assert rated.points("svc")[0] is pt


# --- thresholds: placement and competition ---------------------------------


def test_service_rate_threshold_multiplies_group_price() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.mapping("2", service=svc)
    b.mapping("3", "rate", field=field, value="v")
    b.threshold(10, "0.5", "rate", service=svc)
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(10, f="v")) == Decimal("30")  # 3 * 2 * 10 * 0.5
    assert price(engine, "svc", point(9, f="v")) == Decimal("54")


def test_field_rate_threshold_multiplies_rate() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "size")
    b.mapping("2", service=svc)
    b.threshold(100, "1.5", "rate", field=field)
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(3, size="100")) == Decimal("9")
    assert price(engine, "svc", point(3, size="99.9")) == Decimal("6")


def test_highest_level_wins_between_service_and_field_thresholds() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "size")
    b.mapping("1", service=svc)
    b.threshold(5, "10", service=svc)  # service scope: added once
    b.threshold(20, "2", field=field)  # field scope: added to flat
    engine = HashMapEngine(b.build())
    # qty 6 (service level 5) vs size 30 (field level 20): field wins.
    assert price(engine, "svc", point(6, size=30)) == Decimal("18")  # (1 + 2) * 6
    # size 3: no field candidate; service threshold: 1 * 6 + 10.
    assert price(engine, "svc", point(6, size=3)) == Decimal("16")
    # qty 50 and size 30: service 5 < field 20 still.
    assert price(engine, "svc", point(50, size=30)) == Decimal("150")


def test_service_threshold_wins_a_tie_earlier_field_wins_a_tie() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    first = b.field(svc, "first")
    second = b.field(svc, "second")
    b.mapping("1", service=svc)
    b.threshold(10, "100", service=svc)
    b.threshold(10, "2", field=first)
    b.threshold(10, "3", field=second)
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(10, first=10, second=10)) == Decimal("110")
    assert price(engine, "svc", point(9, first=10, second=10)) == Decimal("27")  # (1+2)*9
    assert price(engine, "svc", point(9, second=10)) == Decimal("36")  # (1+3)*9


def test_thresholds_per_group_are_independent() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    g1 = b.group("g1")
    g2 = b.group("g2")
    b.mapping("1", service=svc, group=g1)
    b.mapping("2", service=svc, group=g2)
    b.threshold(10, "0.5", "rate", service=svc, group=g1)
    b.threshold(20, "0.25", "rate", service=svc, group=g2)
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(10)) == Decimal("25")  # 5 + 20
    assert price(engine, "svc", point(20)) == Decimal("20")  # 10 + 10


def test_levels_of_minus_one_or_less_never_apply() -> None:
    # The slot starts at level -1 and a strictly greater level takes it.
    b = RuleSetBuilder()
    svc = b.service("svc")
    b.mapping("1", service=svc)
    b.threshold(-1, "5", service=svc)
    b.threshold(-3, "7", service=svc)
    b.threshold(0, "0.5", "rate", service=svc, group=b.group("g"))
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(2)) == Decimal("2")


# --- tenant overrides and load order ----------------------------------------


def test_tenant_service_mapping_replaces_global_of_same_group() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    other = b.group("other")
    b.mapping("1", service=svc)
    b.mapping("2", service=svc, group=other)
    b.mapping("5", service=svc, tenant="T2")
    b.mapping("9", service=svc, tenant="T3")
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1), "T1") == Decimal("3")
    assert price(engine, "svc", point(1), "T2") == Decimal("7")  # 5 replaces 1
    assert price(engine, "svc", point(1), None) == Decimal("3")


def test_tenant_may_lower_a_price_flat_is_not_a_max_across_layers() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.mapping("5", field=field, value="v")
    b.mapping("1", field=field, value="v", tenant="T2")
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1, f="v"), "T2") == Decimal("1")


def test_tenant_threshold_replaces_same_group_and_level_only() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "mem")
    b.threshold(10, "1", field=field)
    b.threshold(20, "2", field=field)
    b.threshold(10, "5", field=field, tenant="T2")
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1, mem=15), "T2") == Decimal("5")
    assert price(engine, "svc", point(1, mem=25), "T2") == Decimal("2")
    assert price(engine, "svc", point(1, mem=15), "T1") == Decimal("1")


def test_last_loaded_service_mapping_of_a_group_wins() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    b.mapping("9", service=svc)
    b.mapping("2", service=svc)  # higher id: wins the _DEFAULT_ key
    other = b.group("other")
    b.mapping("5", service=svc, group=other)
    b.mapping("3", "rate", service=svc, group=other)  # replaces the flat: group gives 0
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1)) == Decimal("2")


def test_last_loaded_field_mapping_of_a_group_and_value_wins() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.mapping("4", field=field, value="v")
    b.mapping("1.5", "rate", field=field, value="v")
    b.mapping("3", field=field, value="w")
    b.mapping("6", field=field, value="w")
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1, f="v")) == Decimal("0")
    assert price(engine, "svc", point(1, f="w")) == Decimal("6")


def test_group_named_default_shares_the_default_accumulator() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    b.mapping("1", service=svc)
    b.mapping("4", service=svc, group=b.group("_DEFAULT_"))
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1)) == Decimal("4")


# --- dated rules ---------------------------------------------------------------


def test_mapping_dates_and_soft_delete() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.mapping("1", field=field, value="future", start=T2)
    b.mapping("2", field=field, value="ended", end=T1)
    b.mapping("3", field=field, value="ending", end=T2)
    b.mapping("4", field=field, value="deleted", deleted=T0)
    b.mapping("5", field=field, value="starts-now", start=T1)
    engine = HashMapEngine(b.build())
    prices = {
        v: price(engine, "svc", point(1, f=v))
        for v in ("future", "ended", "ending", "deleted", "starts-now")
    }
    assert prices == {
        "future": 0,
        "ended": 0,
        "ending": 3,
        "deleted": 0,
        "starts-now": 5,
    }


def test_inactive_tenant_mapping_does_not_replace_active_global() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    b.mapping("1", service=svc)
    b.mapping("7", service=svc, tenant="T2", start=T2)
    engine = HashMapEngine(b.build())
    assert engine.price_point("svc", point(1), "T2", T1) == Decimal("1")
    assert engine.price_point("svc", point(1), "T2", T2) == Decimal("7")


def test_frame_is_priced_as_of_its_start() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    b.mapping("1", service=svc, end=T1)
    b.mapping("2", service=svc, start=T1)
    engine = HashMapEngine(b.build())
    before = engine.price_frame(DataFrame(T0, T1, {"svc": [point(1)]}), None)
    after = engine.price_frame(DataFrame(T1, T2, {"svc": [point(1)]}), None)
    assert before.points("svc")[0].price == Decimal("1")
    assert after.points("svc")[0].price == Decimal("2")


def test_resolve_reports_effective_rules_and_is_cached() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.mapping("1", service=svc)
    tenant_rule = b.mapping("2", field=field, value="v", tenant="T2")
    b.mapping("3", field=field, value="v")
    b.mapping("4", service=svc, start=T2)
    engine = HashMapEngine(b.build())
    resolution = engine.resolve("T2", T1)
    service = resolution.services["svc"]
    assert service.mappings["_DEFAULT_"].cost == Decimal("1")
    assert service.fields[0].mappings[("_DEFAULT_", "v")].id == tenant_rule
    assert engine.resolve("T2", T1) is resolution
    assert engine.resolve("T2", T1.replace(tzinfo=None)) is resolution


# --- non-numeric attribute on a field with thresholds ------------------------


def test_non_numeric_threshold_attribute_skips_that_fields_thresholds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    memory = b.field(svc, "memory")
    disk = b.field(svc, "disk")
    b.mapping("2", field=memory, value="large")
    b.threshold(1, "100", field=memory)
    b.threshold(1, "0.5", field=disk, group=b.group("g"))
    engine = HashMapEngine(b.build())
    frame = DataFrame(
        T1,
        T2,
        {"svc": [point(1, memory="large", disk=4), point(1, memory="large"), point(1, memory=3)]},
    )
    with caplog.at_level(logging.WARNING, "cloudkitty.rating.hashmap.engine"):
        rated = engine.price_frame(frame, "S")
    # The mapping on "large" and the disk threshold still apply.
    assert [p.price for p in rated.points("svc")] == [Decimal("2.5"), Decimal("2"), 100]
    assert engine.non_numeric == {("svc", "memory"): 2}
    assert len(caplog.records) == 1
    assert "memory" in caplog.text and "'large'" in caplog.text


@pytest.mark.parametrize("value", ["nan", "Infinity", "", None, [1, 2], True])
def test_odd_attribute_values_do_not_raise(value: object) -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.mapping("1", service=svc)
    b.threshold(0, "1", field=field)
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1, f=value)) == Decimal("1")


def test_threshold_reads_the_number_mapping_reads_the_exact_string() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.mapping("5", field=field, value="8")
    b.threshold(8, "1", field=field)
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1, f="8")) == Decimal("6")
    assert price(engine, "svc", point(1, f=" 8 ")) == Decimal("1")
    assert price(engine, "svc", point(1, f="8.0")) == Decimal("1")


@pytest.mark.parametrize("value", [" 12 ", "12", 12, 12.0, Decimal("12.000"), "1.2e1"])
def test_numeric_attribute_forms(value: object) -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.threshold(12, "1", field=field)
    engine = HashMapEngine(b.build())
    assert price(engine, "svc", point(1, f=value)) == Decimal("1")


# --- arithmetic -------------------------------------------------------------


def test_exact_decimals_whatever_the_callers_context() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    # As read back from NUMERIC(40,28): trailing zeros up to 28 decimals.
    b.mapping("0.1000000000000000000000000000", service=svc)
    b.mapping("1.1000000000000000000000000000", "rate", field=field, value="v")
    engine = HashMapEngine(b.build())
    with decimal.localcontext(decimal.Context(prec=3)):
        result = price(engine, "svc", point("3.333333", f="v"))
    assert result == Decimal("0.36666663")
    assert str(result) == "0.36666663"


def test_points_with_unhashable_and_repeated_values_memoize_correctly() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    field = b.field(svc, "f")
    b.mapping("1", field=field, value="[1]")
    b.mapping("2", field=field, value="8")
    engine = HashMapEngine(b.build())
    pts = [point(1, f=[1]), point(1, f=8), point(1, f=8.0), point(1, f="8"), point(2, f=[1])]
    rated = engine.price_frame(DataFrame(T1, T2, {"svc": pts}), None)
    assert [p.price for p in rated.points("svc")] == [1, 2, 0, 2, 2]


# --- the module wrapper ------------------------------------------------------


def test_module_metadata() -> None:
    assert HashMap.name == "hashmap"
    assert HashMap.description == "HashMap rating module."
    assert HashMap.hot_config is True


def test_config_controller_without_api_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cloudkitty.rating.hashmap.api", None)
    assert HashMap.config_controller() is None


def test_config_controller_with_api_module(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("cloudkitty.rating.hashmap.api")

    class HashMapConfigController:
        pass

    fake.HashMapConfigController = HashMapConfigController  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cloudkitty.rating.hashmap.api", fake)
    assert isinstance(HashMap.config_controller(), HashMapConfigController)


def test_garbage_collector_state_is_restored() -> None:
    b = RuleSetBuilder()
    svc = b.service("svc")
    b.mapping("1", service=svc)
    engine = HashMapEngine(b.build())
    frame = DataFrame(T1, T2, {"svc": [point(1)]})
    assert gc.isenabled()
    engine.price_frame(frame, None)
    assert gc.isenabled()
    bad = DataFrame(T1, T2, {"svc": [DataPoint("u", 1.5, Decimal(0))]})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.price_frame(bad, None)  # a float quantity is a caller bug
    assert gc.isenabled()
    gc.disable()
    try:
        engine.price_frame(frame, None)
        assert not gc.isenabled()
    finally:
        gc.enable()
