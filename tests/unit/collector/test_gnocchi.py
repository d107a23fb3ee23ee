"""The Gnocchi collector with a canned gnocchiclient: requests, period
reduction, exact values, scope split, metadata, revisions, errors."""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from gnocchiclient import exceptions as gexc
from keystoneauth1 import exceptions as kexc
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.collector import base, gnocchi, metrics
from cloudkitty.conf import collector_gnocchi
from cloudkitty.utils import gnocchi_api

UTC = datetime.timezone.utc
START = datetime.datetime(2024, 3, 5, 10, tzinfo=UTC)
END = START + datetime.timedelta(hours=1)


def ts(minutes: int) -> datetime.datetime:
    return START + datetime.timedelta(minutes=minutes)


def group(values: list[tuple[int, float]], granularity: float = 300.0, **attrs: Any) -> dict:
    points = [(ts(m), granularity, v) for m, v in values]
    return {"group": attrs, "measures": {"measures": {"aggregated": points}}}


class FakeClient:
    """Just the gnocchiclient surface the collector uses."""

    def __init__(self, answers: list[Any] | None = None, resources: list[dict] | None = None):
        self.answers = list(answers or [])
        self.resources = resources or []
        self.calls: list[tuple[tuple, dict]] = []
        self.searches: list[dict] = []
        self.aggregates = self
        self.resource = self

    def fetch(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        answer = self.answers.pop(0) if self.answers else []
        if isinstance(answer, Exception):
            raise answer
        return answer

    def search(self, **kwargs: Any) -> list[dict]:
        self.searches.append(kwargs)
        key, wanted = next(iter(kwargs["query"]["in"].items()))
        found = sorted((r for r in self.resources if r[key] in wanted), key=lambda r: r["id"])
        if kwargs["marker"]:
            found = [r for r in found if r["id"] > kwargs["marker"]]
        return found[: kwargs["limit"]]


def make(client: FakeClient, **definition: Any) -> gnocchi.GnocchiCollector:
    extra = {"resource_type": "instance", "force_granularity": 300}
    extra.update(definition.pop("extra_args", {}))
    parsed = metrics.parse_metrics(
        {"metrics": {"cpu": {"unit": "vcpu", **definition, "extra_args": extra}}},
        scope_key="project_id",
        extra_args=gnocchi.GnocchiCollector.EXTRA_ARGS,
        check=gnocchi.GnocchiCollector.check_definition,
    )
    return gnocchi.GnocchiCollector(
        cfg.ConfigOpts(), period=3600, scope_key="project_id", metrics=parsed, client=client
    )


def test_one_call_for_all_scopes_with_the_documented_request():
    client = FakeClient([[group([(0, 1.0)], id="r1", project_id="p1")]])
    make(client, groupby=["flavor_name"]).collect("cpu", START, END, ["p1", "p2"])
    ((args, kwargs),) = client.calls
    assert args == (["aggregate", "max", ["metric", "cpu", "max"]],)
    assert kwargs == {
        "search": {
            "and": [{"=": {"type": "instance"}}, {"in": {"project_id": ["p1", "p2"]}}],
        },
        "resource_type": "instance",
        "start": "2024-03-05T10:00:00+00:00",
        "stop": "2024-03-05T11:00:00+00:00",
        "granularity": 300,
        "groupby": ["flavor_name", "id", "project_id"],
        "details": False,
        "use_history": True,
    }


def test_the_whole_period_counts_not_only_the_first_point():
    values = [(m, float(m + 1)) for m in range(0, 60, 5)]  # 1..56 every 5 min
    for method, expected in [
        ("sum", sum(v for _, v in values)),
        ("max", 56),
        ("min", 1),
        ("mean", Decimal("28.5")),
        ("first", 1),
        ("last", 56),
        ("count", sum(v for _, v in values)),
    ]:
        client = FakeClient([[group(values, id="r1", project_id="p1")]])
        collector = make(client, extra_args={"aggregation_method": method})
        (point,) = collector.collect("cpu", START, END, ["p1"])["p1"]
        assert point.qty == Decimal(str(expected)), method


def test_floats_become_exact_decimals_before_any_arithmetic():
    client = FakeClient([[group([(0, 0.1), (5, 0.2)], id="r1", project_id="p1")]])
    collector = make(client, extra_args={"aggregation_method": "sum"})
    (point,) = collector.collect("cpu", START, END, ["p1"])["p1"]
    assert str(point.qty) == "0.3"  # float addition would give 0.30000000000000004


def test_points_outside_the_period_and_coarser_granularities_are_ignored():
    raw = group([(-5, 100.0), (0, 1.0), (55, 2.0), (60, 100.0)], id="r1", project_id="p1")
    raw["measures"]["measures"]["aggregated"].append((ts(0), 3600.0, 50.0))
    client = FakeClient([[raw]])
    collector = make(client, extra_args={"aggregation_method": "sum", "force_granularity": 0})
    (point,) = collector.collect("cpu", START, END, ["p1"])["p1"]
    assert point.qty == 3
    assert client.calls[0][1]["granularity"] is None


def test_rate_asks_for_the_slot_before_and_sums_the_changes():
    client = FakeClient([[group([(0, 4.0), (5, 6.0)], id="r1", project_id="p1")]])
    collector = make(client, extra_args={"aggregation_method": "rate:mean"})
    (point,) = collector.collect("cpu", START, END, ["p1"])["p1"]
    assert client.calls[0][1]["start"] == "2024-03-05T09:55:00+00:00"
    assert point.qty == 10


def test_custom_query_placeholders():
    client = FakeClient()
    query = "(aggregate RE_AGGREGATION_METHOD (metric METRIC_NAME AGGREGATION_METHOD))"
    collector = make(
        client,
        extra_args={
            "custom_query": query,
            "aggregation_method": "mean",
            "re_aggregation_method": "sum",
        },
    )
    collector.collect("cpu", START, END, ["p1"])
    assert client.calls[0][0] == ("(aggregate sum (metric cpu mean))",)


def test_points_split_by_scope_carry_the_resource_key():
    client = FakeClient(
        [
            [
                group([(0, 2.0)], id="r2", project_id="p2"),
                group([(0, 1.0)], id="r1", project_id="p1"),
                group([(0, 9.0)], id="r9", project_id="stranger"),
                group([], id="r3", project_id="p1"),  # no point in the period
            ]
        ]
    )
    result = make(client, groupby=["user_id"]).collect("cpu", START, END, ["p1", "p2", "p3"])
    assert {k: [p.qty for p in v] for k, v in result.items()} == {
        "p1": [1],
        "p2": [2],
        "p3": [],
    }
    point = result["p1"][0]
    assert list(point.groupby)[:3] == ["user_id", "id", "project_id"]
    assert point.groupby["user_id"] == ""  # absent attribute
    assert point.groupby["id"] == "r1"


def test_scopes_are_chunked(monkeypatch):
    monkeypatch.setattr(gnocchi, "SCOPES_PER_CALL", 2)
    client = FakeClient()
    make(client).collect("cpu", START, END, ["a", "b", "c"])
    scopes = [c[1]["search"]["and"][1]["in"]["project_id"] for c in client.calls]
    assert scopes == [["a", "b"], ["c"]]


def test_metadata_from_one_paginated_search(monkeypatch):
    monkeypatch.setattr(gnocchi_api, "SEARCH_PAGE", 2)
    resources = [
        {"id": f"r{i}", "project_id": "p1", "flavor_name": f"f{i}", "vcpus": None}
        for i in range(1, 6)
    ]
    groups = [group([(0, 1.0)], id=f"r{i}", project_id="p1") for i in range(1, 7)]
    client = FakeClient([groups], resources)
    collector = make(client, metadata=["flavor_name", "vcpus"])
    points = collector.collect("cpu", START, END, ["p1"])["p1"]
    # r6 has no resource: skipped (with a warning), the others are kept.
    assert [(p.groupby["id"], p.metadata["flavor_name"]) for p in points] == [
        (f"r{i}", f"f{i}") for i in range(1, 6)
    ]
    assert points[0].metadata["vcpus"] == ""
    assert [s["marker"] for s in client.searches] == [None, "r2", "r4"]
    assert client.searches[0]["sorts"] == ["id:asc"]


def test_single_revision_mode_merges_revisions_into_the_latest():
    first = group([(0, 1.0), (5, 0.25)], id="r1", project_id="p1", flavor_name="small")
    second = group([(5, 0.75), (10, 2.0)], id="r1", project_id="p1", flavor_name="large")
    first["group"]["revision_start"] = "2024-03-05T09:00:00+00:00"
    second["group"]["revision_start"] = "2024-03-05T10:06:00+00:00"
    client = FakeClient([[second, first]])
    collector = make(
        client,
        groupby=["flavor_name"],
        extra_args={"use_all_resource_revisions": False, "aggregation_method": "max"},
    )
    (point,) = collector.collect("cpu", START, END, ["p1"])["p1"]
    assert "revision_start" in client.calls[0][1]["groupby"]
    # The 10:05 slot was split 0.25 + 0.75 between revisions: max is 2.
    assert point.groupby["flavor_name"] == "large"
    assert point.qty == 2


def test_all_revisions_mode_keeps_one_point_per_revision():
    client = FakeClient(
        [
            [
                group([(0, 1.0)], id="r1", project_id="p1", flavor_name="small"),
                group([(10, 2.0)], id="r1", project_id="p1", flavor_name="large"),
            ]
        ]
    )
    points = make(client, groupby=["flavor_name"]).collect("cpu", START, END, ["p1"])["p1"]
    assert sorted((p.groupby["flavor_name"], p.qty) for p in points) == [
        ("large", 2),
        ("small", 1),
    ]


@pytest.mark.parametrize(
    "error",
    [
        gexc.MetricNotFound(404, "Metric ['cpu'] does not exist"),
        gexc.BadRequest(400, "{'cause': 'Metrics not found', 'detail': ['cpu']}"),
    ],
)
def test_metric_not_found_means_no_data(error):
    assert make(FakeClient([error])).collect("cpu", START, END, ["p1"]) == {"p1": []}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (gexc.ConnectionFailure(message="refused"), base.SourceUnreachable),
        (kexc.ConnectFailure("keystone down"), base.SourceUnreachable),
        (gexc.BadRequest(400, "Granularity '60.0' does not exist"), base.BadSourceAnswer),
        (gexc.NotFound(404, "Metrics with unknown aggregation"), base.BadSourceAnswer),
        (kexc.Unauthorized("bad password"), base.BadSourceAnswer),
        (gexc.ClientException(500, "Internal Server Error"), base.BadSourceAnswer),
        # Gnocchi restarting, or its proxy without a backend: an outage.
        (gexc.ClientException(503, "Service Unavailable"), base.SourceUnreachable),
        (kexc.http.BadGateway("proxy"), base.SourceUnreachable),
        (kexc.http.GatewayTimeout("proxy"), base.SourceUnreachable),
    ],
)
def test_errors_become_collect_errors_with_their_cause(error, expected):
    with pytest.raises(expected) as caught:
        make(FakeClient([error])).collect("cpu", START, END, ["p1"])
    assert caught.value.cause is error


def test_malformed_answer_is_a_bad_answer():
    with pytest.raises(base.BadSourceAnswer):
        make(FakeClient([[{"group": {"project_id": "p1"}}]])).collect("cpu", START, END, ["p1"])
    with pytest.raises(base.BadSourceAnswer):
        make(FakeClient([{"measures": {}}])).collect("cpu", START, END, ["p1"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"aggregation_method": "avg"}, "aggregation_method"),
        ({"re_aggregation_method": "50pct"}, "re_aggregation_method"),
        ({"force_granularity": -1}, "force_granularity"),
        ({"resource_type": None}, "resource_type"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_definitions_are_config_errors(extra, message):
    args = {"resource_type": "instance", **extra}
    if args["resource_type"] is None:
        del args["resource_type"]
    with pytest.raises(exceptions.ConfigError, match=message):
        metrics.parse_metrics(
            {"metrics": {"cpu": {"unit": "u", "extra_args": args}}},
            scope_key="project_id",
            extra_args=gnocchi.GnocchiCollector.EXTRA_ARGS,
            check=gnocchi.GnocchiCollector.check_definition,
        )


def test_resource_key_cannot_be_metadata():
    with pytest.raises(exceptions.ConfigError, match="resource_key"):
        metrics.parse_metrics(
            {
                "metrics": {
                    "cpu": {"unit": "u", "metadata": ["id"], "extra_args": {"resource_type": "i"}}
                }
            },
            scope_key="project_id",
            extra_args=gnocchi.GnocchiCollector.EXTRA_ARGS,
            check=gnocchi.GnocchiCollector.check_definition,
        )


def test_defaults_match_the_contract():
    parsed = metrics.parse_metrics(
        {"metrics": {"cpu": {"unit": "u", "extra_args": {"resource_type": "i"}}}},
        scope_key="project_id",
        extra_args=gnocchi.GnocchiCollector.EXTRA_ARGS,
    )
    assert dict(parsed["cpu"].extra_args) == {
        "resource_type": "i",
        "resource_key": "id",
        "aggregation_method": "max",
        "re_aggregation_method": "max",
        "force_granularity": 3600,
        "use_all_resource_revisions": True,
        "custom_query": "",
    }


@pytest.mark.parametrize(
    ("method", "values", "expected"),
    [
        ("median", [3, 1, 2, 10], Fraction(5, 2)),
        ("50pct", [3, 1, 2, 10], Fraction(5, 2)),
        ("90pct", [1, 2, 3, 4, 5], Fraction(46, 10)),
        ("rate:max", [1, -2, 3], 2),
        ("std", [2, 4, 4, 4, 5, 5, 7, 9], Decimal("2.138089935299395")),
        ("mean", [7], 7),
        ("std", [7], 7),  # one slot: the slot is the period
    ],
)
def test_reduce_period(method, values, expected):
    got = gnocchi.reduce_period(method, [Fraction(v) for v in values])
    if isinstance(expected, Decimal):
        assert round(got, 15) == expected
    else:
        assert got == expected


def test_client_options_are_required():
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    with pytest.raises(exceptions.ConfigError, match="auth_type"):
        gnocchi.GnocchiCollector(conf, period=3600, scope_key="project_id", metrics={})
    conf.set_override("gnocchi_auth_type", "basic", "collector_gnocchi")
    with pytest.raises(exceptions.ConfigError, match="gnocchi_endpoint"):
        gnocchi.GnocchiCollector(conf, period=3600, scope_key="project_id", metrics={})


def test_basic_auth_client_and_pool_size():
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[])
    collector_gnocchi.register_opts(conf)
    conf.set_override("gnocchi_auth_type", "basic", "collector_gnocchi")
    conf.set_override("gnocchi_endpoint", "http://gnocchi.example:8041", "collector_gnocchi")
    conf.set_override("http_pool_maxsize", 32, "collector_gnocchi")
    collector = gnocchi.GnocchiCollector(conf, period=3600, scope_key="project_id", metrics={})
    session = collector.client.api.session
    assert session.auth.get_endpoint(session) == "http://gnocchi.example:8041"
    assert session.session.get_adapter("http://x")._pool_maxsize == 32
    assert collector.client.api.connect_retries == 3
    collector.close()


def test_options_are_in_the_sample_generator_list():
    from cloudkitty.conf import opts

    groups = {group: {o.dest for o in options} for group, options in opts.list_opts()}
    for name in ("collector_gnocchi", "fetcher_gnocchi"):
        assert {"gnocchi_auth_type", "interface", "auth_type", "auth_section", "cafile"} <= groups[
            name
        ]
    assert {"ignore_rating_role", "ignore_disabled_tenants", "auth_type"} <= groups[
        "fetcher_keystone"
    ]
