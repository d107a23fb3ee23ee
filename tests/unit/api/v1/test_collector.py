"""/v1/collector: the routing stub, mappings and states in every URL form."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cloudkitty.db import engine, tables

MAPPINGS = "/v1/collector/mappings"
STATES = "/v1/collector/states"


def fault(response):
    return response.status_int, response.json["faultstring"]


def test_collector_root_is_an_empty_204(api):
    response = api.get("/v1/collector")
    assert response.status_int == 204
    assert response.body == b""


# --- mappings -------------------------------------------------------------


def test_mapping_list_starts_empty(api):
    assert api.get(MAPPINGS + "/").json == {"mappings": []}


def test_mapping_create_with_json_body_as_the_client_sends(api):
    response = api.post_json(MAPPINGS + "/", {"collector": "gnocchi", "service": "compute"})
    assert response.status_int == 200
    assert response.json == {"service": "compute", "collector": "gnocchi"}
    assert api.get(MAPPINGS + "/compute").json == {"service": "compute", "collector": "gnocchi"}


def test_mapping_create_with_path_and_with_query(api):
    assert api.post(MAPPINGS + "/prometheus/image").json == {
        "service": "image",
        "collector": "prometheus",
    }
    assert api.post(MAPPINGS + "?collector=gnocchi&service=volume").json == {
        "service": "volume",
        "collector": "gnocchi",
    }
    assert api.get(MAPPINGS).json == {
        "mappings": [
            {"service": "image", "collector": "prometheus"},
            {"service": "volume", "collector": "gnocchi"},
        ]
    }


def test_mapping_post_replaces_the_collector_of_a_service(api):
    api.post_json(MAPPINGS + "/", {"collector": "gnocchi", "service": "compute"})
    api.post_json(MAPPINGS + "/", {"collector": "prometheus", "service": "compute"})
    assert api.get(MAPPINGS).json == {
        "mappings": [{"service": "compute", "collector": "prometheus"}]
    }


def test_mapping_list_filtered_by_collector_sorted_by_service(api):
    for service, collector in (("z", "gnocchi"), ("a", "gnocchi"), ("m", "prometheus")):
        api.post_json(MAPPINGS + "/", {"collector": collector, "service": service})
    assert api.get(MAPPINGS + "/?collector=gnocchi").json == {
        "mappings": [
            {"service": "a", "collector": "gnocchi"},
            {"service": "z", "collector": "gnocchi"},
        ]
    }
    assert [m["service"] for m in api.get(MAPPINGS + "/?collector=").json["mappings"]] == [
        "a",
        "m",
        "z",
    ]


def test_mapping_get_unknown_is_404(api):
    response = api.get(MAPPINGS + "/nothing", expect_errors=True)
    assert fault(response) == (404, "No mapping for service: nothing")


@pytest.mark.parametrize(
    ("body", "missing"),
    [({"service": "compute"}, "collector"), ({"collector": "gnocchi"}, "service"), ({}, "service")],
)
def test_mapping_create_needs_both_names(api, body, missing):
    response = api.post_json(MAPPINGS + "/", body, expect_errors=True)
    assert fault(response) == (400, f'Missing argument: "{missing}"')


def test_mapping_create_rejects_unknown_body_keys_and_overlong_names(api):
    response = api.post_json(
        MAPPINGS + "/", {"collector": "c", "service": "s", "extra": 1}, expect_errors=True
    )
    assert response.status_int == 400
    response = api.post_json(
        MAPPINGS + "/", {"collector": "c", "service": "s" * 256}, expect_errors=True
    )
    assert fault(response) == (400, 'Invalid argument: "service" is longer than 255')


def test_mapping_delete_with_body_as_the_client_sends_and_with_path(api):
    api.post_json(MAPPINGS + "/", {"collector": "gnocchi", "service": "compute"})
    api.post_json(MAPPINGS + "/", {"collector": "gnocchi", "service": "image"})
    response = api.delete_json(MAPPINGS + "/", {"service": "compute"})
    assert response.status_int == 204
    assert api.delete(MAPPINGS + "/image").status_int == 204
    assert api.get(MAPPINGS).json == {"mappings": []}


def test_mapping_delete_unknown_is_404_and_without_name_400(api):
    response = api.delete(MAPPINGS + "/ghost", expect_errors=True)
    assert fault(response) == (404, "No mapping for service: ghost")
    response = api.delete(MAPPINGS + "/", expect_errors=True)
    assert fault(response) == (400, 'Missing argument: "service"')


# --- states ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        STATES + "/gnocchi",
        STATES + "/gnocchi/",
        STATES + "?name=gnocchi",
        STATES + "/?name=gnocchi",
        "/v1/collector/gnocchi/states",
        "/v1/collector/gnocchi/states/",
    ],
)
def test_state_of_an_unknown_collector_reads_disabled(api, url):
    assert api.get(url).json == {"name": "gnocchi", "enabled": False}


def test_state_get_without_a_name_is_400(api):
    response = api.get(STATES + "/", expect_errors=True)
    assert fault(response) == (400, 'Missing argument: "name"')


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (STATES + "/", {"name": "gnocchi", "enabled": True}),  # the client's form
        (STATES + "/gnocchi", {"enabled": True}),
        (STATES + "/gnocchi", {"name": "gnocchi", "enabled": True}),
        ("/v1/collector/gnocchi/states", {"enabled": True}),
    ],
)
def test_state_put_forms(api, v1_db_url, url, body):
    response = api.put_json(url, body)
    assert response.status_int == 200
    assert response.json == {"name": "gnocchi", "enabled": True}
    for read in (STATES + "?name=gnocchi", STATES + "/gnocchi", "/v1/collector/gnocchi/states"):
        assert api.get(read).json == {"name": "gnocchi", "enabled": True}
    # stored where upstream stored it: a modules_state row collector_<name>
    with engine.get_engine(v1_db_url).connect() as conn:
        rows = conn.execute(sa.select(tables.modules_state.c.name, tables.modules_state.c.state))
        assert ("collector_gnocchi", True) in [tuple(row) for row in rows]


def test_state_put_toggles_back(api):
    api.put_json(STATES + "/", {"name": "gnocchi", "enabled": True})
    assert api.put_json(STATES + "/", {"name": "gnocchi", "enabled": False}).json == {
        "name": "gnocchi",
        "enabled": False,
    }
    assert api.get(STATES + "/gnocchi").json["enabled"] is False


@pytest.mark.parametrize("body", [{"name": "gnocchi"}, {"name": "gnocchi", "enabled": None}])
def test_state_put_requires_enabled(api, body):
    response = api.put_json(STATES + "/", body, expect_errors=True)
    assert fault(response) == (
        400,
        "Invalid input for field/attribute enabled. Value: 'None'. Mandatory field missing.",
    )


def test_state_put_errors(api):
    response = api.put_json(STATES + "/", {"enabled": True}, expect_errors=True)
    assert fault(response) == (400, 'Missing argument: "name"')
    response = api.put_json(STATES + "/a", {"name": "b", "enabled": True}, expect_errors=True)
    assert fault(response) == (400, "name in the body (b) does not match the URL (a).")
    response = api.put_json(STATES + "/a", {"enabled": True, "x": 1}, expect_errors=True)
    assert response.status_int == 400
    assert "Unknown attribute" in response.json["faultstring"]
    response = api.put_json(STATES + "/a", {"enabled": "maybe"}, expect_errors=True)
    assert response.status_int == 400


def test_unknown_sub_paths_of_a_collector_are_routing_errors(api):
    # Pecan's own answer for a path nothing serves (upstream: HTML 404/405).
    assert api.get("/v1/collector/gnocchi/other", expect_errors=True).status_int == 405
