"""GET and POST /v2/dataframes."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from tests.unit.api.v2.conftest import WINDOW


def body(response):
    return json.loads(response.text, parse_float=D)


def test_get_regroups_points_into_frames_by_period(api_app, rated):
    result = body(api_app.get(f"/v2/dataframes?{WINDOW}&filters=project_id:p2"))
    assert result["total"] == 2
    [frame] = result["dataframes"]
    assert frame["period"] == {
        "begin": "2024-01-01T00:00:00+00:00",
        "end": "2024-01-01T01:00:00+00:00",
    }
    instance = frame["usage"]["instance"][0]
    assert instance["vol"] == {"unit": "instance", "qty": 4}
    assert instance["rating"] == {"price": D("1.5")}
    assert instance["groupby"]["project_id"] == "p2"
    assert instance["groupby"]["id"] == "vm-p2"
    assert instance["metadata"] == {"flavor": "m1.small"}


def test_get_paginates_points_and_counts_them_all(api_app, rated):
    everything = body(api_app.get(f"/v2/dataframes?{WINDOW}"))
    assert everything["total"] == 10
    page = body(api_app.get(f"/v2/dataframes?{WINDOW}&offset=8&limit=5"))
    assert page["total"] == 10
    assert sum(len(p) for f in page["dataframes"] for p in f["usage"].values()) == 2


def test_get_type_filter_is_the_metric(api_app, rated):
    result = body(api_app.get(f"/v2/dataframes?{WINDOW}&filters=type:volume.size"))
    assert result["total"] == 5
    assert {k for f in result["dataframes"] for k in f["usage"]} == {"volume.size"}


def test_get_empty_is_404(api_app, rated):
    response = api_app.get(f"/v2/dataframes?{WINDOW}&filters=project_id:zz", expect_errors=True)
    assert response.status_int == 404
    assert response.json == {"message": "No resource found for provided filters."}


def test_get_filter_keys_are_unique(api_app):
    response = api_app.get(
        "/v2/dataframes?filters=project_id:a&filters=project_id:b", expect_errors=True
    )
    assert response.status_int == 400
    assert "key project_id already provided" in response.json["message"]


FRAME = {
    "period": {"begin": "2024-03-01T00:00:00Z", "end": "2024-03-01T01:00:00Z"},
    "usage": {
        "image": [
            {
                "vol": {"unit": "MiB", "qty": 1.5},
                "rating": {"price": 0.1},
                "groupby": {"project_id": "p9"},
                "metadata": {"name": "img"},
            }
        ]
    },
}


def test_post_stores_frames_as_they_are_with_exact_numbers(api_app, storage):
    # No Content-Type, as the client sends it; digits beyond float precision.
    text = json.dumps({"dataframes": [FRAME]})
    text = text.replace('"price": 0.1', '"price": 0.1000000000000000055511151231')
    response = api_app.post("/v2/dataframes", text)
    assert response.status_int == 204
    assert response.body == b""
    [frame] = storage.retrieve(filters={"project_id": "p9"}, limit=None)["dataframes"]
    [point] = frame.points("image")
    assert point.qty == D("1.5")
    assert point.price == D("0.1000000000000000055511151231")
    got = api_app.get("/v2/dataframes?begin=2024-03-01&end=2024-03-02")
    assert '"price": 0.1000000000000000055511151231' in got.text


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"dataframes": []}, "Parameter dataframes must not be empty."),
        ({}, "required key not provided"),
        ({"dataframes": {}}, "expected a list"),
        ({"dataframes": [FRAME], "x": 1}, "extra keys not allowed"),
        ({"dataframes": [{"usage": {}}]}, "period needs 'begin' and 'end'"),
        (
            {"dataframes": [{**FRAME, "period": {"begin": "bad", "end": "2024-01-01"}}]},
            "dataframes[0]",
        ),
        ({"dataframes": [{**FRAME, "usage": {"x": [{"vol": {}}]}}]}, "dataframes[0]"),
    ],
)
def test_post_malformed_is_400(api_app, payload, message):
    response = api_app.post("/v2/dataframes", json.dumps(payload), expect_errors=True)
    assert response.status_int == 400
    assert message in response.json["message"]


def test_post_not_json_is_400(api_app):
    response = api_app.post("/v2/dataframes", "{not json", expect_errors=True)
    assert response.status_int == 400
