"""Property test: the fast engine prices exactly like the naive reference."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.rating.hashmap.engine import HashMapEngine
from cloudkitty.rating.hashmap.ruleset import RuleSet
from tests.unit.rating.hashmap.reference import UTC, RuleSetBuilder, reference_price

TIMES = [datetime.datetime(2024, month, 1, tzinfo=UTC) for month in (1, 2, 3, 4)]
SERVICE_NAMES = ["compute", "volume", "network"]
FIELD_NAMES = ["flavor", "size", "image", "mem"]
GROUP_NAMES = ["g1", "g2", "_DEFAULT_"]
TENANTS = [None, None, "T1", "T2"]
RULE_VALUES = ["a", "b", "8", "1", "64", "1.0", "100", "True"]
ATTR_VALUES: list[Any] = [
    "a",
    "b",
    "8",
    8,
    8.0,
    1,
    1.0,
    "1",
    "64",
    64,
    Decimal("64.5"),
    "large",
    True,
    None,
    " 10 ",
    " 8 ",
    100,
    "1e2",
    -3,
    "nan",
    "-Infinity",
    "0",
]
# Few levels, shared by quantities and attribute values, so that ties
# between service and field thresholds (and between fields) happen often.
LEVELS = ["-2", "-1", "0", "1", "8", "64", "100"]


def decimals(low: str, high: str, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low),
        max_value=Decimal(high),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


@st.composite
def rulesets(draw: st.DrawFn) -> RuleSet:
    b = RuleSetBuilder()
    services = draw(st.lists(st.sampled_from(SERVICE_NAMES), min_size=1, max_size=2, unique=True))
    groups = [b.group(name) for name in draw(st.lists(st.sampled_from(GROUP_NAMES), unique=True))]
    # Each parent: ("service", id) or ("field", id).
    parents: list[tuple[str, int]] = []
    for name in services:
        sid = b.service(name)
        parents.append(("service", sid))
        for field_name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=3, unique=True)):
            parents.append(("field", b.field(sid, field_name)))

    group_choice = st.sampled_from([None, *groups]) if groups else st.just(None)
    for _ in range(draw(st.integers(0, 14))):
        kind, parent_id = draw(st.sampled_from(parents))
        start = draw(st.sampled_from(TIMES[:3]))
        b.mapping(
            draw(decimals("-1", "20")),
            draw(st.sampled_from(["flat", "rate"])),
            service=parent_id if kind == "service" else None,
            field=parent_id if kind == "field" else None,
            value=draw(st.sampled_from(RULE_VALUES)) if kind == "field" else None,
            group=draw(group_choice),
            tenant=draw(st.sampled_from(TENANTS)),
            start=start,
            end=draw(st.sampled_from([None, None, *[t for t in TIMES if t > start]])),
            deleted=draw(st.sampled_from([None, None, None, TIMES[0]])),
        )
    for _ in range(draw(st.integers(0, 12))):
        kind, parent_id = draw(st.sampled_from(parents))
        b.threshold(
            Decimal(draw(st.sampled_from(LEVELS))),
            draw(decimals("0", "5")),
            draw(st.sampled_from(["flat", "rate"])),
            service=parent_id if kind == "service" else None,
            field=parent_id if kind == "field" else None,
            # Few groups for thresholds: competition happens within a group.
            group=draw(st.sampled_from([None, None, *groups[:1]])),
            tenant=draw(st.sampled_from(TENANTS)),
        )
    # Ties of levels between parents of one service are where the order of
    # competition shows: copy some thresholds onto a sibling parent.
    for _ in range(draw(st.integers(0, 3))):
        if not b.thresholds:
            break
        original = draw(st.sampled_from(b.thresholds))
        owner = original.service_id or next(
            f.service_id for f in b.fields if f.id == original.field_id
        )
        siblings = [("service", owner)] + [
            ("field", f.id) for f in b.fields if f.service_id == owner
        ]
        kind, parent_id = draw(st.sampled_from(siblings))
        b.threshold(
            original.level,
            draw(decimals("0", "5")),
            draw(st.sampled_from(["flat", "rate"])),
            service=parent_id if kind == "service" else None,
            field=parent_id if kind == "field" else None,
            group=original.group_id,
            tenant=original.tenant_id,
        )
    return b.build()


@st.composite
def frames_points(draw: st.DrawFn) -> list[tuple[str, DataPoint]]:
    attr_values = st.one_of(st.sampled_from(ATTR_VALUES), st.sampled_from(LEVELS))
    points = []
    for _ in range(draw(st.integers(1, 10))):
        metric_type = draw(st.sampled_from([*SERVICE_NAMES, "unknown"]))
        groupby = {}
        metadata = {}
        for name in FIELD_NAMES:
            where = draw(st.sampled_from(["absent", "groupby", "metadata", "both"]))
            if where in ("groupby", "both"):
                groupby[name] = draw(attr_values)
            if where in ("metadata", "both"):
                metadata[name] = draw(attr_values)
        qty = draw(st.one_of(decimals("0", "200"), st.sampled_from(LEVELS).map(Decimal)))
        price = draw(decimals("0", "3"))
        points.append((metric_type, DataPoint.create("u", qty, price, groupby, metadata)))
    return points


def assert_same_prices(
    engine: HashMapEngine,
    rules: RuleSet,
    points: list[tuple[str, DataPoint]],
    scope_id: str | None,
    at: datetime.datetime,
) -> None:
    usage: dict[str, list[DataPoint]] = {}
    for metric_type, pt in points:
        usage.setdefault(metric_type, []).append(pt)
    frame = DataFrame(at, at + datetime.timedelta(hours=1), usage)
    rated = engine.price_frame(frame, scope_id)
    for metric_type, pts in usage.items():
        for given_point, rated_point in zip(pts, rated.points(metric_type), strict=True):
            expected = reference_price(rules, metric_type, given_point, scope_id, at)
            assert rated_point.price == expected, (metric_type, given_point, scope_id, at)
            assert rated_point._replace(price=given_point.price) == given_point


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=rulesets(),
    points=frames_points(),
    scopes=st.lists(st.sampled_from([None, "T1", "T2", "T3"]), min_size=1, max_size=3),
    times=st.lists(st.sampled_from(TIMES), min_size=1, max_size=3),
)
def test_engine_matches_reference(
    rules: RuleSet,
    points: list[tuple[str, DataPoint]],
    scopes: list[str | None],
    times: list[datetime.datetime],
) -> None:
    # One engine across several scopes and times exercises its caches too.
    engine = HashMapEngine(rules)
    for scope_id in scopes:
        for at in times:
            assert_same_prices(engine, rules, points, scope_id, at)
