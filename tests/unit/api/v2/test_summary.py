"""GET /v2/summary: groupings, filters, formats, pagination, exact money."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from tests.unit.api.v2.conftest import BEGIN, END, WINDOW


def body(response):
    return json.loads(response.text, parse_float=D)


def test_total_without_groupby_is_one_row_of_exact_sums(api_app, rated):
    result = body(api_app.get(f"/v2/summary?{WINDOW}"))
    assert result == {
        "total": 1,
        "columns": ["begin", "end", "qty", "rate"],
        "results": [[BEGIN, END, 59, D("2.4")]],
        "format": "table",
    }


def test_prices_are_written_as_json_numbers_not_through_float(api_app, rated):
    text = api_app.get(f"/v2/summary?{WINDOW}&groupby=project_id").text
    assert '"p1"' in text and "0.8" in text and "0.8000" not in text


def test_groupby_project_and_type_in_request_order(api_app, rated):
    result = body(api_app.get(f"/v2/summary?{WINDOW}&groupby=type&groupby=project_id"))
    assert result["columns"] == ["begin", "end", "qty", "rate", "type", "project_id"]
    assert result["total"] == 4
    rows = {(r[4], r[5]): (r[2], r[3]) for r in result["results"]}
    assert rows == {
        ("instance", "p1"): (5, D("0.4")),
        ("instance", "p2"): (4, D("1.5")),
        ("volume.size", "p1"): (40, D("0.4")),
        ("volume.size", "p2"): (10, D("0.1")),
    }


def test_object_format(api_app, rated):
    result = body(api_app.get(f"/v2/summary?{WINDOW}&groupby=type&response_format=object"))
    assert result == {
        "total": 2,
        "results": [
            {"begin": BEGIN, "end": END, "qty": 9, "rate": D("1.9"), "type": "instance"},
            {"begin": BEGIN, "end": END, "qty": 50, "rate": D("0.5"), "type": "volume.size"},
        ],
        "format": "object",
    }


def test_groupby_time_d_answers_under_day_of_the_year(api_app, rated):
    result = body(api_app.get(f"/v2/summary?{WINDOW}&groupby=time-d"))
    assert result["columns"] == ["begin", "end", "qty", "rate", "day_of_the_year"]
    assert [r[2:] for r in result["results"]] == [[47, D("2.2"), "1"], [12, D("0.2"), "2"]]


@pytest.mark.parametrize(
    ("option", "key"),
    [("time-w", "week_of_the_year"), ("time-m", "month"), ("time-y", "year")],
)
def test_other_time_groupings(api_app, rated, option, key):
    result = body(api_app.get(f"/v2/summary?{WINDOW}&groupby={option}"))
    assert result["columns"][-1] == key
    assert sum(r[3] for r in result["results"]) == D("2.4")


def test_groupby_time_gives_one_row_per_period(api_app, rated):
    result = body(api_app.get(f"/v2/summary?{WINDOW}&groupby=time"))
    assert result["columns"] == ["begin", "end", "qty", "rate"]
    assert result["results"] == [
        ["2024-01-01T00:00:00+00:00", "2024-01-01T01:00:00+00:00", 25, D("1.8")],
        ["2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00", 11, D("0.2")],
        ["2024-01-01T02:00:00+00:00", "2024-01-01T03:00:00+00:00", 11, D("0.2")],
        ["2024-01-02T00:00:00+00:00", "2024-01-02T01:00:00+00:00", 12, D("0.2")],
    ]


def test_filters_repeated_keys_are_or_and_type_is_the_metric(api_app, rated):
    both = body(api_app.get(f"/v2/summary?{WINDOW}&filters=project_id:p1,project_id:p2"))
    assert both["results"][0][3] == D("2.4")
    p2 = body(api_app.get(f"/v2/summary?{WINDOW}&filters=project_id:p2&filters=type:instance"))
    assert p2["results"] == [[BEGIN, END, 4, D("1.5")]]
    none = body(api_app.get(f"/v2/summary?{WINDOW}&filters=project_id:nobody"))
    assert none == {"total": 0, "columns": [], "results": [], "format": "table"}


def test_pagination_counts_groups(api_app, rated):
    page = body(api_app.get(f"/v2/summary?{WINDOW}&groupby=type,project_id&offset=1&limit=2"))
    assert page["total"] == 4
    assert [(r[4], r[5]) for r in page["results"]] == [("instance", "p2"), ("volume.size", "p1")]


def test_default_window_is_the_current_month(api_app, rated):
    # The fixture's data is in January 2024: nothing this month.
    assert body(api_app.get("/v2/summary"))["total"] == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("response_format=csv", "Invalid response format [csv]"),
        ("unknown=1", "extra keys not allowed"),
        ("limit=0", "value must be at least 1"),
        ("offset=-2", "value must be at least 0"),
        ("filters=project_id", "invalid key:value association project_id"),
        ("begin=2024-01-01&begin=2024-01-02", "length of value must be 1"),
        ("begin=notadate", "path: 'begin'"),
        ("custom_fields=MAX(qty) AS qty", "only the default custom_fields"),
        ("begin=2024-02-01&end=2024-01-01", "begin must not be later than end"),
    ],
)
def test_invalid_queries_are_400(api_app, query, message):
    response = api_app.get(f"/v2/summary?{query}", expect_errors=True)
    assert response.status_int == 400
    assert message in response.json["message"]


def test_the_default_custom_fields_are_accepted(api_app, rated):
    fields = "SUM(qty)%20AS%20qty,%20SUM(price)%20AS%20rate"
    response = api_app.get(f"/v2/summary?{WINDOW}&custom_fields={fields}")
    assert body(response)["results"][0][3] == D("2.4")
