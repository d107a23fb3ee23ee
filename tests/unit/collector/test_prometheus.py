"""Prometheus collector without network: query shapes, escaping, parsing."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
import requests
from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.collector import base, metrics
from cloudkitty.collector.prometheus import PrometheusCollector, build_query, chunk_scopes
from cloudkitty.conf import collector_prometheus as conf_module
from cloudkitty.utils import prometheus_api
from tests.unit.collector.fakes import FakeResponse, FakeSession, vector

UTC = datetime.timezone.utc
START = datetime.datetime(2024, 1, 1, tzinfo=UTC)
END = START + datetime.timedelta(hours=1)
URL = "http://prom.example:9090/api/v1"


def definition(extra_args=None, **keys):
    keys.setdefault("unit", "req")
    if extra_args is not None:
        keys["extra_args"] = extra_args
    parsed = metrics.parse_metrics(
        {"metrics": {"http_requests_total": keys}},
        scope_key="project_id",
        extra_args=PrometheusCollector.EXTRA_ARGS,
        check=PrometheusCollector.check_definition,
    )
    return parsed["http_requests_total"]


CONTRACT_KEYS = {"groupby": ["foo", "bar"], "metadata": ["code", "instance"]}
BY = "by (foo, bar, project_id, code, instance)"
SELECTOR = 'http_requests_total{project_id="<id>"}[3600s]'


@pytest.mark.parametrize(
    ("extra_args", "expected"),
    [
        ({"aggregation_method": "avg"}, f"avg(avg_over_time({SELECTOR})) {BY}"),
        (
            {"aggregation_method": "avg", "query_function": "abs"},
            f"avg(abs(avg_over_time({SELECTOR}))) {BY}",
        ),
        (
            {"aggregation_method": "avg", "range_function": "delta"},
            f"avg(delta({SELECTOR})) {BY}",
        ),
        (
            {"aggregation_method": "avg", "query_function": "abs", "range_function": "delta"},
            f"avg(abs(delta({SELECTOR}))) {BY}",
        ),
        ({}, f"max(max_over_time({SELECTOR})) {BY}"),
        (
            {"query_prefix": "100 *", "query_suffix": "> 0"},
            f"100 * max(max_over_time({SELECTOR})) {BY} > 0",
        ),
    ],
)
def test_query_shapes_of_the_contract(extra_args, expected):
    metric = definition(extra_args, **CONTRACT_KEYS)
    assert build_query(metric, 'project_id="<id>"', 3600) == expected


def test_query_without_groupby_groups_by_scope():
    assert build_query(definition(), 'project_id="x"', 600) == (
        'max(max_over_time(http_requests_total{project_id="x"}[600s])) by (project_id)'
    )


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain-id", '"plain-id"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("line\nbreak", '"line\\nbreak"'),
        ("tab\tcr\r", '"tab\\tcr\\r"'),
        ("bell\x07del\x7f", '"bell\\x07del\\x7f"'),
        ("ünïcode", '"ünïcode"'),
    ],
)
def test_quote(value, quoted):
    assert prometheus_api.quote(value) == quoted


def test_regex_escape_escapes_every_re2_metacharacter():
    assert prometheus_api.regex_escape("a.b*c+d?e(f)g|h[i]j{k}l^m$n\\o") == (
        "a\\.b\\*c\\+d\\?e\\(f\\)g\\|h\\[i\\]j\\{k\\}l\\^m\\$n\\\\o"
    )
    assert prometheus_api.regex_escape("0f3c-uuid_ok") == "0f3c-uuid_ok"


def test_label_matcher():
    assert prometheus_api.label_matcher("project_id", ["a"]) == 'project_id="a"'
    assert prometheus_api.label_matcher("project_id", ["a.b", 'c"d']) == (
        'project_id=~"a\\\\.b|c\\"d"'
    )


def test_chunk_scopes_bounds_the_matcher_length():
    scopes = [f"{i:032x}" for i in range(300)]
    chunks = list(chunk_scopes(scopes, limit=1000))
    assert [s for chunk in chunks for s in chunk] == scopes
    assert all(len(prometheus_api.label_matcher("p", c)) <= 1000 + 10 for c in chunks)
    assert len(chunks) > 1
    assert list(chunk_scopes(["x" * 5000])) == [["x" * 5000]]  # never drops a scope


def make_collector(session, metric=None, **options):
    conf = cfg.ConfigOpts()
    conf([], project="cloudkitty", default_config_files=[])
    conf.register_opts(conf_module.opts, group=conf_module.GROUP)
    for key, value in {"prometheus_url": URL, **options}.items():
        conf.set_override(key, value, group=conf_module.GROUP)
    return PrometheusCollector(
        conf,
        period=3600,
        scope_key="project_id",
        metrics={"m": metric or definition(groupby=["instance"], metadata=["flavor"])},
        session=session,
    )


def test_construction_requires_url():
    conf = cfg.ConfigOpts()
    conf([], project="cloudkitty", default_config_files=[])
    with pytest.raises(exceptions.ConfigError, match="prometheus_url"):
        PrometheusCollector(conf, period=3600, scope_key="project_id", metrics={})


def test_construction_rejects_bad_scope_key():
    conf = cfg.ConfigOpts()
    conf([], project="cloudkitty", default_config_files=[])
    with pytest.raises(exceptions.ConfigError, match="scope_key"):
        PrometheusCollector(conf, period=3600, scope_key="project-id", metrics={})


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"unit": "u", "groupby": ["flavor.name"]}, "groupby"),
        ({"unit": "u", "metadata": ["0abc"]}, "metadata"),
    ],
)
def test_definition_names_must_be_prometheus_names(keys, key):
    with pytest.raises(exceptions.ConfigError, match=f"metric 'http_requests_total': key '{key}'"):
        definition(**keys)


def test_metric_name_must_be_a_prometheus_name():
    with pytest.raises(exceptions.ConfigError, match="metric 'image.size': key 'metric'"):
        metrics.parse_metrics(
            {"metrics": {"image.size": {"unit": "MiB"}}},
            scope_key="project_id",
            extra_args=PrometheusCollector.EXTRA_ARGS,
            check=PrometheusCollector.check_definition,
        )


def test_single_scope_instant_query_at_period_end():
    session = FakeSession(
        vector(
            ({"project_id": "p1", "instance": "i1", "flavor": "m1"}, "0.1"),
            ({"project_id": "p1", "instance": "i2"}, "1e3"),
        )
    )
    collector = make_collector(session, prometheus_user="ck", prometheus_password="pw")
    result = collector.collect("m", START, END, ["p1"])
    (call,) = session.calls
    assert call["url"] == f"{URL}/query"
    assert call["params"] == {
        "query": 'max(max_over_time(http_requests_total{project_id="p1"}[3600s])) '
        "by (instance, project_id, flavor)",
        "time": "2024-01-01T01:00:00Z",
    }
    assert call["auth"] == ("ck", "pw")
    assert call["verify"] is True
    assert call["timeout"] == 60
    assert [(p.groupby["instance"], p.qty) for p in result["p1"]] == [
        ("i1", Decimal("0.1")),
        ("i2", Decimal("1000")),
    ]
    assert str(result["p1"][0].qty) == "0.1"  # exact: never went through a float
    assert dict(result["p1"][0].metadata) == {"flavor": "m1"}
    assert dict(result["p1"][1].metadata) == {"flavor": ""}


def test_scope_label_missing_from_result_keeps_scope_id():
    session = FakeSession(vector(({"instance": "i1"}, "2")))
    collector = make_collector(session)
    (point,) = collector.collect("m", START, END, ["p1"])["p1"]
    assert point.groupby["project_id"] == "p1"


def test_many_scopes_in_one_query_split_by_label():
    session = FakeSession(
        vector(
            ({"project_id": "p1", "instance": "i1"}, "1"),
            ({"project_id": 'we"ird\\id', "instance": "i2"}, "2"),
            ({"project_id": "p1", "instance": "i3"}, "3"),
        )
    )
    collector = make_collector(session)
    result = collector.collect("m", START, END, ["p1", 'we"ird\\id', "p3"])
    assert session.queries == [
        "max(max_over_time(http_requests_total"
        '{project_id=~"p1|we\\"ird\\\\\\\\id|p3"}[3600s])) by (instance, project_id, flavor)'
    ]
    assert [p.qty for p in result["p1"]] == [1, 3]
    assert [p.groupby["project_id"] for p in result['we"ird\\id']] == ['we"ird\\id']
    assert result["p3"] == []


def test_many_scopes_without_scope_label_fall_back_to_one_query_per_scope():
    session = FakeSession(
        vector(({"instance": "i1"}, "1")),
        vector(({"instance": "i1"}, "5")),
        vector(),
    )
    collector = make_collector(session)
    result = collector.collect("m", START, END, ["p1", "p2"])
    assert len(session.calls) == 3
    assert 'project_id="p1"' in session.queries[1] and 'project_id="p2"' in session.queries[2]
    assert [p.qty for p in result["p1"]] == [5]
    assert result["p2"] == []


def test_tls_options():
    session = FakeSession(vector(), vector())
    make_collector(session, cafile="/etc/ca.pem").collect("m", START, END, ["p"])
    make_collector(session, cafile="/etc/ca.pem", insecure=True).collect("m", START, END, ["p"])
    assert [c["verify"] for c in session.calls] == ["/etc/ca.pem", False]
    assert session.calls[0]["auth"] is None


def test_close_closes_the_session():
    session = FakeSession()
    make_collector(session).close()
    assert session.closed


def error_body(status, error_type, error):
    return FakeResponse(
        status, json.dumps({"status": "error", "errorType": error_type, "error": error})
    )


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (error_body(400, "bad_data", "parse error at char 3"), "HTTP 400, bad_data: parse error"),
        (error_body(200, "execution", "query timed out"), "execution: query timed out"),
        (FakeResponse(500, "Internal Server Error"), "HTTP 500, answer is not JSON"),
        (FakeResponse(200, "{not json"), "not JSON"),
        (FakeResponse(200, "[1, 2]"), "not a JSON object"),
        (FakeResponse(400, json.dumps({"status": "success", "data": {}})), "HTTP 400"),
        (
            FakeResponse(200, json.dumps({"status": "success", "data": {"resultType": "matrix"}})),
            "expected a vector result, got 'matrix'",
        ),
        (
            FakeResponse(200, json.dumps({"status": "success", "data": {"resultType": "scalar"}})),
            "got 'scalar'",
        ),
        (FakeResponse(200, json.dumps({"status": "success"})), "expected a vector"),
        (
            FakeResponse(200, json.dumps({"status": "success", "data": {"resultType": "vector"}})),
            "data.result is not a list",
        ),
        (
            FakeResponse(
                200,
                json.dumps(
                    {
                        "status": "success",
                        "data": {"resultType": "vector", "result": [{"metric": {}, "value": 3}]},
                    }
                ),
            ),
            "malformed result item",
        ),
    ],
)
def test_bad_answers(response, fragment):
    collector = make_collector(FakeSession(response))
    with pytest.raises(base.BadSourceAnswer) as err:
        collector.collect("m", START, END, ["p1"])
    assert fragment in str(err.value)
    assert URL in str(err.value)


@pytest.mark.parametrize(
    ("exc", "fragment"),
    [
        (requests.ConnectionError("refused"), "unreachable: refused"),
        (requests.ReadTimeout("slow"), "no answer within 60s"),
        (requests.ConnectTimeout("slow"), "no answer within 60s"),
    ],
)
def test_network_failures(exc, fragment):
    collector = make_collector(FakeSession(exc))
    with pytest.raises(base.SourceUnreachable) as err:
        collector.collect("m", START, END, ["p1"])
    assert fragment in str(err.value)
    assert err.value.cause is exc
    assert isinstance(err.value, exceptions.BackendError)


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (FakeResponse(503, "Service Unavailable\n"), "unavailable: HTTP 503 Service Unavailable"),
        (FakeResponse(502, "<html>Bad Gateway</html>"), "unavailable: HTTP 502 <html>Bad Gateway"),
        (FakeResponse(504, ""), "unavailable: HTTP 504"),
    ],
)
def test_unavailable_statuses_are_an_outage_not_a_bad_answer(response, message):
    """A stopping Prometheus answers 503 before it refuses connections: one
    outage, one kind of error (so it is logged once per scope)."""
    collector = make_collector(FakeSession(response))
    with pytest.raises(base.SourceUnreachable) as err:
        collector.collect("m", START, END, ["p1"])
    assert not isinstance(err.value, base.BadSourceAnswer)
    assert str(err.value).startswith(f"Prometheus at {URL}: {message}")


def test_refused_connection_names_the_reason_not_the_query():
    """requests words a refused connection with the whole encoded query; the
    message (logged, and kept as the scope's last_error) keeps the reason."""
    from urllib3.connection import HTTPConnection
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    query_url = "/api/v1/query?query=sum%28x%7Bproject_id%3D~%22a%7Cb%22%7D%29"
    refused = NewConnectionError(
        HTTPConnection("prom.example", 9090),
        "Failed to establish a new connection: [Errno 111] Connection refused",
    )
    exc = requests.ConnectionError(MaxRetryError(None, query_url, refused))
    assert query_url in str(exc)  # what the message would otherwise carry
    collector = make_collector(FakeSession(exc))
    with pytest.raises(base.SourceUnreachable) as err:
        collector.collect("m", START, END, ["p1"])
    message = str(err.value)
    assert message == (
        f"Prometheus at {URL}: unreachable: "
        "Failed to establish a new connection: [Errno 111] Connection refused"
    )


@pytest.mark.parametrize("value", ["NaN", "+Inf", "-1"])
def test_unusable_sample_values(value):
    collector = make_collector(FakeSession(vector(({"project_id": "p1"}, value))))
    with pytest.raises(base.InvalidQuantity, match="metric 'http_requests_total', scope 'p1'"):
        collector.collect("m", START, END, ["p1"])


def test_format_time():
    assert prometheus_api.format_time(END) == "2024-01-01T01:00:00Z"
    naive = datetime.datetime(2024, 1, 1, 1, 0, 0, 500000)
    assert prometheus_api.format_time(naive) == "2024-01-01T01:00:00.500000Z"
