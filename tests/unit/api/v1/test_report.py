"""/v1/report: tenants (window honoured), total and summary (exact decimals)."""

from __future__ import annotations

import datetime

import pytest

from cloudkitty.db.engine import Database
from cloudkitty.storage.state import StateRepository
from cloudkitty.utils import tz
from tests.unit.api.v1.conftest import JUNE, PROJECT_A, PROJECT_B, at

# A: 1.337 + 0.1 + 0.2000000000000000000000000001 + 1.337; B: 2.25 (June), 5 (July)
A_JUNE = "2.9740000000000000000000000001"
A_CPU = "2.774"
ALL_JUNE = "5.2240000000000000000000000001"


def fault(response):
    return response.status_int, response.json["faultstring"]


# --- tenants --------------------------------------------------------------


@pytest.mark.usefixtures("rated")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (JUNE, sorted([PROJECT_A, PROJECT_B])),
        ("begin=2019-07-01 00:00:00&end=2019-08-01 00:00:00", [PROJECT_B]),
        ("begin=2019-06-01T01:00:00&end=2019-06-01T02:00:00", [PROJECT_A]),
        ("begin=2018-01-01&end=2019-01-01", []),
        ("begin=2019-06-15", [PROJECT_B]),  # open end
        ("end=2019-06-01T00:30:00Z", sorted([PROJECT_A, PROJECT_B])),  # open begin
    ],
)
def test_tenants_are_the_scopes_rated_in_the_window(api, query, expected):
    response = api.get("/v1/report/tenants?" + query)
    assert response.status_int == 200
    assert response.json == expected


@pytest.mark.usefixtures("rated")
def test_tenants_without_window_are_every_known_scope(api, v1_db_url):
    # a scope the processor knows but never rated is listed too
    StateRepository(Database.from_url(v1_db_url)).create("never-rated", at(2019, 1, 1))
    assert api.get("/v1/report/tenants").json == sorted([PROJECT_A, PROJECT_B, "never-rated"])
    # ... but only without a window
    assert "never-rated" not in api.get("/v1/report/tenants?" + JUNE).json


def test_tenants_reversed_window_is_400(api):
    response = api.get("/v1/report/tenants?begin=2019-07-01&end=2019-06-01", expect_errors=True)
    assert fault(response) == (
        400,
        "begin (2019-07-01T00:00:00) must not be after end (2019-06-01T00:00:00)",
    )


# --- total ----------------------------------------------------------------


@pytest.mark.usefixtures("rated")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"{JUNE}&all_tenants=True", ALL_JUNE),
        (f"{JUNE}&all_tenants=true", ALL_JUNE),
        (f"{JUNE}&all_tenants=1", ALL_JUNE),
        (f"{JUNE}&tenant_id={PROJECT_A}", A_JUNE),
        (f"{JUNE}&tenant_id={PROJECT_B}", "2.25"),
        (f"{JUNE}&tenant_id={PROJECT_A}&service=cpu", A_CPU),
        (f"{JUNE}&tenant_id={PROJECT_A}&service=image.size", "0.2000000000000000000000000001"),
        (f"{JUNE}&all_tenants=True&service=cpu", "5.024"),
        # noauth callers have no project: no tenant means every tenant
        (JUNE, ALL_JUNE),
        # all_tenants wins over tenant_id
        (f"{JUNE}&all_tenants=True&tenant_id={PROJECT_B}", ALL_JUNE),
        ("begin=2019-06-01&end=2019-08-01&all_tenants=True", "10.2240000000000000000000000001"),
    ],
)
def test_total_is_an_exact_json_string(api, query, expected):
    response = api.get("/v1/report/total?" + query)
    assert response.status_int == 200
    assert response.content_type == "application/json"
    assert response.json == expected


@pytest.mark.usefixtures("rated")
@pytest.mark.parametrize(
    "query",
    [
        "begin=2018-01-01&end=2018-02-01",
        f"{JUNE}&tenant_id=nobody",
        f"{JUNE}&service=network.bw",
    ],
)
def test_total_of_nothing_is_zero(api, query):
    assert api.get("/v1/report/total?" + query).json == "0"


def test_total_sums_what_float_would_round(api, push):
    # 0.1 + 0.2 is 0.30000000000000004 in binary floating point
    for price in ("0.1", "0.2"):
        push(PROJECT_A, at(2019, 6, 1), at(2019, 6, 1, 1), {"cpu": [("1", price)]})
    push(
        PROJECT_A, at(2019, 6, 1), at(2019, 6, 1, 1), {"cpu": [("1", "123456789012.0000000000001")]}
    )
    assert api.get(f"/v1/report/total?{JUNE}").json == "123456789012.3000000000001"


def test_total_defaults_to_the_current_month(api, push):
    start = tz.month_start()
    push(PROJECT_A, start, start + datetime.timedelta(hours=1), {"cpu": [("1", "0.5")]})
    before = start - datetime.timedelta(hours=1)
    push(PROJECT_A, before, start, {"cpu": [("1", "7")]})
    assert api.get("/v1/report/total").json == "0.5"
    assert api.get("/v1/report/total?all_tenants=True").json == "0.5"


def test_all_tenants_false_is_false(api, push):
    # upstream read any non-empty value as true (bug 34); here False is false.
    # In noauth there is no caller project, so both mean every tenant: the
    # difference shows in keystone mode (test_policies); here it must parse.
    assert api.get(f"/v1/report/total?{JUNE}&all_tenants=False").json == "0"
    response = api.get(f"/v1/report/total?{JUNE}&all_tenants=maybe", expect_errors=True)
    assert response.status_int == 400
    assert response.json["faultstring"].endswith("Invalid boolean value: 'maybe'")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("begin=yesterday-ish", 400),
        ("begin=2019-07-01&end=2019-06-01", 400),
        ("groupby=tenant_id", 400),  # not a total parameter
    ],
)
def test_total_bad_parameters(api, query, status):
    assert api.get("/v1/report/total?" + query, expect_errors=True).status_int == status


# --- summary --------------------------------------------------------------


def row(tenant, res_type, rate, begin="2019-06-01T00:00:00", end="2019-07-01T00:00:00"):
    return {"begin": begin, "end": end, "tenant_id": tenant, "res_type": res_type, "rate": rate}


@pytest.mark.usefixtures("rated")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [row("ALL", "ALL", ALL_JUNE)]),
        (
            "&groupby=tenant_id",
            sorted(
                [row(PROJECT_A, "ALL", A_JUNE), row(PROJECT_B, "ALL", "2.25")],
                key=lambda r: r["tenant_id"],
            ),
        ),
        (
            "&groupby=res_type",
            [
                row("ALL", "cpu", "5.024"),
                row("ALL", "image.size", "0.2000000000000000000000000001"),
            ],
        ),
        (
            "&groupby=tenant_id,res_type",
            sorted(
                [
                    row(PROJECT_A, "cpu", A_CPU),
                    row(PROJECT_A, "image.size", "0.2000000000000000000000000001"),
                    row(PROJECT_B, "cpu", "2.25"),
                ],
                key=lambda r: (r["tenant_id"], r["res_type"]),
            ),
        ),
        # the order of the keys does not change the grouping
        (
            "&groupby=res_type,tenant_id&service=cpu",
            sorted(
                [row(PROJECT_A, "cpu", A_CPU), row(PROJECT_B, "cpu", "2.25")],
                key=lambda r: r["tenant_id"],
            ),
        ),
        (
            f"&tenant_id={PROJECT_A}&groupby=res_type",
            [
                row("ALL", "cpu", A_CPU),
                row("ALL", "image.size", "0.2000000000000000000000000001"),
            ],
        ),
    ],
)
def test_summary_groupings(api, query, expected):
    # noauth: no caller project, so no tenant_id means every tenant
    response = api.get(f"/v1/report/summary?{JUNE}{query}")
    assert response.status_int == 200
    assert response.json == {"summary": expected}


@pytest.mark.usefixtures("rated")
def test_summary_bounds_are_the_query_bounds_rendered_naive_utc(api):
    # 02:00+02:00 is midnight UTC; the window holds the 00:00 periods only
    summary = api.get(
        "/v1/report/summary?begin=2019-06-01T02:00:00%2B02:00&end=2019-06-01T00:30:00Z"
    ).json["summary"]
    assert summary == [
        row(
            "ALL",
            "ALL",
            "3.8870000000000000000000000001",
            begin="2019-06-01T00:00:00",
            end="2019-06-01T00:30:00",
        )
    ]


def test_summary_of_nothing(api):
    # ungrouped there is always one group, worth "0"; grouped, there are none
    assert api.get(f"/v1/report/summary?{JUNE}").json == {"summary": [row("ALL", "ALL", "0")]}
    assert api.get(f"/v1/report/summary?{JUNE}&groupby=tenant_id").json == {"summary": []}


def test_summary_of_points_without_scope_attribute(api, push):
    push(None, at(2019, 6, 1), at(2019, 6, 1, 1), {"cpu": [("1", "1")]}, scoped=False)
    assert api.get(f"/v1/report/summary?{JUNE}&groupby=tenant_id").json == {
        "summary": [row("__UNDEF__", "ALL", "1")]
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("groupby=project", "Invalid groupby: project (allowed: tenant_id, res_type)"),
        ("begin=2019-07-01&end=2019-06-01", None),
        (
            "all_tenants=perhaps",
            "Invalid input for field/attribute all_tenants. Value: 'perhaps'. "
            "unable to convert to bool. Error: Invalid boolean value: 'perhaps'",
        ),
    ],
)
def test_summary_bad_parameters(api, query, message):
    response = api.get("/v1/report/summary?" + query, expect_errors=True)
    assert response.status_int == 400
    if message:
        assert response.json["faultstring"] == message


def test_summary_defaults_to_the_current_month(api, push):
    start = tz.month_start()
    push(PROJECT_A, start, start + datetime.timedelta(hours=1), {"cpu": [("2", "0.25")]})
    summary = api.get("/v1/report/summary").json["summary"]
    assert summary == [
        row(
            "ALL",
            "ALL",
            "0.25",
            begin=tz.v1_format(start),
            end=tz.v1_format(tz.next_month(start)),
        )
    ]
