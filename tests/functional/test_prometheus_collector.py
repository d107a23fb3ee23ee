"""The Prometheus collector and fetcher against a real Prometheus.

A seeded workload (projects, instances with flavors, volumes, images over
four hours) is backfilled; the collected quantities must equal, to the last
digit, the values computed here from the generated samples.
"""

from __future__ import annotations

import datetime
import decimal
import random
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
import requests
from oslo_config import cfg

from cloudkitty.collector import base, metrics
from cloudkitty.collector.prometheus import PrometheusCollector
from cloudkitty.conf import collector_prometheus, fetcher_prometheus
from cloudkitty.fetcher.prometheus import PrometheusFetcher
from tests.functional.services.prometheus import (
    PrometheusServer,
    Series,
    format_openmetrics,
    prometheus_server,
    require_binaries,
)

UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
E0 = int(T0.timestamp())
HOURS = 4
PERIODS = [
    (T0 + datetime.timedelta(hours=h), T0 + datetime.timedelta(hours=h + 1)) for h in range(HOURS)
]
# Regex metacharacters, a quote and a backslash: must be matched literally.
WEIRD = 'we"ird\\scope|p.*'
PROJECTS = ["p-alpha", "p-beta", "p-gamma", WEIRD]
UNASKED = "p-unasked"  # present in Prometheus, never asked for
FLAVORS = ["m1.tiny", "m1.small", "m1.large"]
GIB_SIZES = ["10.5", "20.1", "0.3", "100.7", "1.25"]

METRICS_YML = {
    "metrics": {
        "instance_up": [
            {
                "alt_name": "instance.hours",
                "unit": "hour",
                "factor": "1/60",  # one sample per minute
                "groupby": ["instance_id"],
                "metadata": ["flavor_name"],
                "extra_args": {"aggregation_method": "sum"},
            },
            {
                "alt_name": "instance",
                "unit": "instance",
                "mutate": "NUMBOOL",
                "groupby": ["instance_id"],
                "metadata": ["flavor_name"],
            },
        ],
        "volume_size_gib": {
            "unit": "TiB",
            "factor": "1/1024",
            "groupby": ["volume_id"],
            "metadata": ["volume_type"],
            "extra_args": {"aggregation_method": "max"},
        },
        "image_size_bytes": {
            "alt_name": "image.size",
            "unit": "MiB",
            "factor": "1/1048576",
            "groupby": ["image_id"],
            "extra_args": {"aggregation_method": "min"},
        },
    }
}


def at_minute(minute: int) -> int:
    # Samples sit 30 s into a minute: never on a period boundary, where the
    # closed range selector of Prometheus 2.x would count them twice.
    return E0 + minute * 60 + 30


def generate(seed: int = 20240101) -> tuple[list[Series], list[tuple[str, dict[str, str], list]]]:
    """The series to backfill, and (metric, labels, [(ts, value string)]) for the oracle."""
    rng = random.Random(seed)
    series: list[Series] = []
    for project in [*PROJECTS, UNASKED]:
        for index in range(rng.randint(1, 3)):
            labels = {
                "project_id": project,
                "instance_id": f"{project}-vm{index}",
                "flavor_name": rng.choice(FLAVORS),
            }
            first, last = sorted(rng.sample(range(HOURS * 60), 2))
            stopped = set(rng.sample(range(first, last + 1), k=min(20, last - first)))
            samples = tuple(
                (at_minute(m), "0" if m in stopped else "1") for m in range(first, last + 1)
            )
            series.append(Series("instance_up", labels, samples))
        for index in range(rng.randint(1, 2)):
            labels = {
                "project_id": project,
                "volume_id": f"{project}-vol{index}",
                "volume_type": rng.choice(["ssd", "hdd"]),
            }
            resize_at = rng.randrange(HOURS * 60)
            before, after = rng.sample(GIB_SIZES, 2)
            samples = tuple(
                (at_minute(m), before if m < resize_at else after) for m in range(2, HOURS * 60, 5)
            )
            series.append(Series("volume_size_gib", labels, samples))
        if rng.random() < 0.75:
            labels = {"project_id": project, "image_id": f"{project}-img"}
            size = str(rng.randrange(1, 5 * 2**30))
            samples = tuple((at_minute(m), size) for m in range(7, HOURS * 60, 10))
            series.append(Series("image_size_bytes", labels, samples))
    return series, [(s.name, dict(s.labels), list(s.samples)) for s in series]


def exact(value: Fraction) -> Decimal:
    """Independent Fraction -> Decimal: exact if possible, else 34 digits half-even."""
    with decimal.localcontext() as ctx:
        ctx.prec = 200  # far more than any result here needs
        result = Decimal(value.numerator) / Decimal(value.denominator)
        if Fraction(result) != value:
            ctx.prec = 34
            result = Decimal(value.numerator) / Decimal(value.denominator)
    return result


def expected_quantities(oracle, start: datetime.datetime, end: datetime.datetime):
    """{(name, scope, resource id, metadata value): qty} computed from the samples."""
    lo, hi = start.timestamp(), end.timestamp()
    result: dict[tuple[str, str, str, str], Decimal] = {}
    for metric, labels, samples in oracle:
        if labels["project_id"] == UNASKED:
            continue
        values = [Fraction(v) for ts, v in samples if lo <= ts < hi]
        if not values:
            continue
        scope = labels["project_id"]
        if metric == "instance_up":
            ident, meta = labels["instance_id"], labels["flavor_name"]
            result[("instance.hours", scope, ident, meta)] = exact(sum(values) / 60)
            result[("instance", scope, ident, meta)] = Decimal(1 if max(values) != 0 else 0)
        elif metric == "volume_size_gib":
            key = ("volume_size_gib", scope, labels["volume_id"], labels["volume_type"])
            result[key] = exact(max(values) / 1024)
        else:
            key = ("image.size", scope, labels["image_id"], "")
            result[key] = exact(min(values) / 1048576)
    return result


RESOURCE = {
    "instance.hours": ("instance_id", "flavor_name"),
    "instance": ("instance_id", "flavor_name"),
    "volume_size_gib": ("volume_id", "volume_type"),
    "image.size": ("image_id", None),
}


class CountingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def get(self, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.queries.append(kwargs["params"]["query"])
        return super().get(url, **kwargs)


@pytest.fixture(scope="module")
def workload() -> Iterator[tuple[PrometheusServer, list]]:
    require_binaries()
    series, oracle = generate()
    info = [
        Series(
            "openstack_identity_project_info",
            {"project_id": p, "domain_id": "default"},
            tuple((at_minute(m), "1") for m in range(0, HOURS * 60)),
        )
        for p in [*PROJECTS, UNASKED]
    ]
    with prometheus_server(format_openmetrics([*series, *info])) as server:
        yield server, oracle


def make_conf(server: PrometheusServer) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf([], project="cloudkitty", default_config_files=[])
    for module in (collector_prometheus, fetcher_prometheus):
        conf.register_opts(module.opts, group=module.GROUP)
        conf.set_override("prometheus_url", server.api_url, group=module.GROUP)
    conf.set_override("timeout", 10, group=collector_prometheus.GROUP)
    return conf


def make_collector(server: PrometheusServer, session: requests.Session | None = None):
    definitions = metrics.parse_metrics(
        METRICS_YML,
        scope_key="project_id",
        extra_args=PrometheusCollector.EXTRA_ARGS,
        check=PrometheusCollector.check_definition,
    )
    return PrometheusCollector(
        make_conf(server),
        period=3600,
        scope_key="project_id",
        metrics=definitions,
        session=session,
    )


def collected(collector, start, end, scopes):
    result = {}
    for definition in collector.metrics.values():
        for scope, points in collector.collect(definition, start, end, scopes).items():
            assert scope in scopes
            ident_key, meta_key = RESOURCE[definition.name]
            for point in points:
                assert point.groupby["project_id"] == scope
                key = (
                    definition.name,
                    scope,
                    point.groupby[ident_key],
                    point.metadata[meta_key] if meta_key else "",
                )
                assert key not in result
                result[key] = point.qty
    return result


@pytest.mark.parametrize(("start", "end"), PERIODS, ids=[f"hour{h}" for h in range(HOURS)])
def test_batched_collection_matches_the_samples(workload, start, end):
    server, oracle = workload
    session = CountingSession()
    collector = make_collector(server, session)
    got = collected(collector, start, end, [*PROJECTS, "p-without-data"])
    expected = expected_quantities(oracle, start, end)
    assert got == expected
    # Compare the text too: equal Decimals could still differ in exponent.
    assert {k: str(v) for k, v in got.items()} == {k: str(v) for k, v in expected.items()}
    # One query per metric definition and period, for all the scopes together.
    assert len(session.queries) == len(collector.metrics)
    assert all("project_id=~" in q for q in session.queries)


def test_every_scope_collected_alone_gives_the_same_points(workload):
    server, oracle = workload
    collector = make_collector(server)
    start, end = PERIODS[1]
    merged = {}
    for scope in PROJECTS:
        merged.update(collected(collector, start, end, [scope]))
    assert merged == expected_quantities(oracle, start, end)
    assert any(key[1] == WEIRD for key in merged)  # escaping really was exercised


def test_points_carry_time_keys_and_empty_scopes_are_listed(workload):
    server, _ = workload
    collector = make_collector(server)
    start, end = PERIODS[2]
    result = collector.collect("volume_size_gib", start, end, ["p-alpha", "p-without-data"])
    assert result["p-without-data"] == []
    point = result["p-alpha"][0]
    assert point.unit == "TiB"
    assert {
        k: point.groupby[k] for k in ("week_of_the_year", "day_of_the_year", "month", "year")
    } == {
        "week_of_the_year": "00",
        "day_of_the_year": "1",
        "month": "1",
        "year": "2024",
    }


def test_prometheus_error_is_a_bad_answer(workload):
    server, _ = workload
    broken = {
        "metrics": {"volume_size_gib": {"unit": "GiB", "extra_args": {"query_suffix": "+ ("}}}
    }
    definitions = metrics.parse_metrics(
        broken, scope_key="project_id", extra_args=PrometheusCollector.EXTRA_ARGS
    )
    collector = PrometheusCollector(
        make_conf(server), period=3600, scope_key="project_id", metrics=definitions
    )
    with pytest.raises(base.BadSourceAnswer, match="HTTP 400, bad_data"):
        collector.collect("volume_size_gib", *PERIODS[0], ["p-alpha"])


def test_unreachable_prometheus(workload):
    server, _ = workload
    conf = make_conf(server)
    conf.set_override("prometheus_url", "http://127.0.0.1:9/api/v1", group="collector_prometheus")
    definitions = metrics.parse_metrics(
        {"metrics": {"volume_size_gib": {"unit": "GiB"}}}, scope_key="project_id"
    )
    collector = PrometheusCollector(conf, period=3600, scope_key="project_id", metrics=definitions)
    with pytest.raises(base.SourceUnreachable) as err:
        collector.collect("volume_size_gib", *PERIODS[0], ["p-alpha"])
    assert err.value.cause is not None


def test_prometheus_fetcher_lists_scopes(workload):
    server, _ = workload
    conf = make_conf(server)
    conf.set_override("metric", "openstack_identity_project_info", group="fetcher_prometheus")
    conf.set_override("filters", {"domain_id": "default"}, group="fetcher_prometheus")
    fetcher = PrometheusFetcher(conf)
    scopes = fetcher.get_scopes(T0 + datetime.timedelta(hours=2))
    assert scopes == sorted([*PROJECTS, UNASKED])
    conf.set_override("filters", {"domain_id": 'no"such\\domain'}, group="fetcher_prometheus")
    assert PrometheusFetcher(conf).get_scopes(T0 + datetime.timedelta(hours=2)) == []
