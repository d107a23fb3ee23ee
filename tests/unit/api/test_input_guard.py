"""Inputs the fuzzer (tests/functional/test_api_fuzz.py) turned into 500s
or into HTML 400s, now refused with the version's error body."""

from __future__ import annotations

import json

import pytest

V1_FAULT = {"faultcode", "faultstring", "debuginfo"}
DATAFRAME = {
    "period": {"begin": "2024-01-02T00:00:00Z", "end": "2024-01-02T01:00:00Z"},
    "usage": {
        "cpu": [
            {"vol": {"unit": "u", "qty": 1}, "rating": {"price": 1}, "groupby": {}, "metadata": {}}
        ]
    },
}


def _v1_fault(response):
    assert response.status_int == 400, response.text
    assert set(response.json) == V1_FAULT
    assert response.json["faultcode"] == "Client"
    return response.json["faultstring"]


def _v2_message(response):
    assert response.status_int == 400, response.text
    assert set(response.json) == {"message"}
    return response.json["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/rating/module_config/hashmap/mappings?service_id=%00x",
        "/v1/rating/module_config/hashmap/services/a%00b",
        "/v1/report/summary?tenant_id=%00",
    ],
)
def test_v1_nul_in_path_or_query(api_app, path):
    assert "NUL" in _v1_fault(api_app.get(path, expect_errors=True))


@pytest.mark.parametrize("path", ["/v2/scope?collector=%00x", "/v2/task/reprocesses/a%00"])
def test_v2_nul_in_path_or_query(api_app, path):
    assert "NUL" in _v2_message(api_app.get(path, expect_errors=True))


def test_nul_or_lone_surrogate_in_json_bodies(api_app):
    for text in ('{"scope_id": "a\\u0000b"}', '{"scope_id": "a\\ud800"}'):
        response = api_app.patch(
            "/v2/scope", text, content_type="application/json", expect_errors=True
        )
        assert "NUL" in _v2_message(response)
    response = api_app.post(
        "/v1/rating/module_config/hashmap/services",
        '{"name": "\\udfff"}',
        content_type="application/json",
        expect_errors=True,
    )
    assert "surrogate" in _v1_fault(response)


def test_undecodable_body_or_query_answers_the_version_body(api_app):
    body = b"\x13\xffj"
    v1 = api_app.post(
        "/v1/rating/module_config/hashmap/groups",
        body,
        content_type="application/json",
        expect_errors=True,
    )
    _v1_fault(v1)
    v2 = api_app.post("/v2/scope", body, content_type="application/json", expect_errors=True)
    _v2_message(v2)
    _v2_message(api_app.get("/v2/summary?groupby=%ff", expect_errors=True))


def test_routing_errors_stay_pecan_answers(api_app):
    response = api_app.get("/v1/nothing", expect_errors=True)
    assert response.status_int == 404
    assert not response.content_type.startswith("application/json")


def test_v2_integers_fit_64_bits(api_app):
    message = _v2_message(api_app.get(f"/v2/task/reprocesses?limit={2**63}", expect_errors=True))
    assert "at most" in message
    assert api_app.get(f"/v2/task/reprocesses?limit={2**63 - 1}").status_int == 200


@pytest.mark.parametrize(
    ("key", "value"), [("qty", "1e22"), ("price", "-1e12"), ("qty", "1.7976931348623157e+308")]
)
def test_v2_dataframes_amounts_fit_their_columns(api_app, key, value):
    frame = json.loads(json.dumps(DATAFRAME))
    point = frame["usage"]["cpu"][0]
    point["vol" if key == "qty" else "rating"][key] = value
    text = json.dumps({"dataframes": [frame]}).replace(f'"{value}"', value)
    response = api_app.post(
        "/v2/dataframes", text, content_type="application/json", expect_errors=True
    )
    assert "smaller than" in _v2_message(response)


def test_v2_module_update_is_a_bodyless_204(api_app):
    response = api_app.put_json("/v2/rating/modules/noop", {"priority": 2})
    assert response.status_int == 204
    assert response.body == b""
