"""/v2/scope: list, create, patch and reset (recorded for the processor)."""

from __future__ import annotations

import json

import pytest

from cloudkitty.db.engine import Database
from cloudkitty.db.scope_resets import ResetRequestRepository
from cloudkitty.db.tables import cloudkitty_storage_states as table
from cloudkitty.storage.state import StateRepository
from cloudkitty.utils import tz


def create(app, scope_id, **fields):
    payload = {"scope_id": scope_id, "last_processed_timestamp": "2024-01-01T00:00:00Z", **fields}
    return app.post("/v2/scope", json.dumps(payload), expect_errors=True)


def reset(app, payload):
    return app.put("/v2/scope", json.dumps(payload), expect_errors=True)


def requests(url):
    return ResetRequestRepository(Database.from_url(url)).list_requests()


def test_post_fills_defaults_and_shows_state_for_the_client(api_app):
    response = create(api_app, "aaaa")
    assert response.status_int == 200
    scope = response.json
    toggled = scope.pop("scope_activation_toggle_date")
    assert toggled.endswith("+00:00")
    assert scope == {
        "scope_id": "aaaa",
        "scope_key": "project_id",
        "fetcher": "keystone",
        "collector": "gnocchi",
        "state": "2024-01-01T00:00:00+00:00",
        "last_processed_timestamp": "2024-01-01T00:00:00+00:00",
        "active": True,
        "last_error": None,
        "last_error_at": None,
        "error_count": 0,
    }
    assert api_app.get("/v2/scope").json["results"][0]["scope_id"] == "aaaa"


def test_post_duplicate_is_404_with_upstream_message(api_app):
    create(api_app, "aaaa")
    response = create(api_app, "aaaa", collector="prometheus")
    assert response.status_int == 404
    assert response.json == {
        "message": "Cannot create a scope with an already existing scope_id: aaaa."
    }


def test_post_takes_given_names_and_the_state_alias(api_app):
    response = api_app.post(
        "/v2/scope",
        json.dumps(
            {
                "scope_id": "bbbb",
                "state": "2024-01-01T00:00:00Z",
                "scope_key": "domain_id",
                "fetcher": "source",
                "collector": "prometheus",
                "active": False,
            }
        ),
    )
    scope = response.json
    assert (scope["scope_key"], scope["fetcher"], scope["collector"]) == (
        "domain_id",
        "source",
        "prometheus",
    )
    assert scope["active"] is False


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"scope_id": "a"}, "required key not provided (path: 'last_processed_timestamp')"),
        ({"last_processed_timestamp": "2024-01-01"}, "path: 'scope_id'"),
        ({"scope_id": "a", "last_processed_timestamp": "2024-01-01", "x": 1}, "extra keys"),
        ({"scope_id": "a", "last_processed_timestamp": "2024-01-01", "fetcher": "f" * 41}, "40"),
        ({"scope_id": "a", "last_processed_timestamp": "2024-01-01", "active": "yes"}, "bool"),
        ({"scope_id": "a", "last_processed_timestamp": "never"}, "ISO 8601"),
    ],
)
def test_post_invalid_is_400(api_app, payload, message):
    response = api_app.post("/v2/scope", json.dumps(payload), expect_errors=True)
    assert response.status_int == 400
    assert message in response.json["message"]


def test_get_filters_and_pagination(api_app):
    create(api_app, "aaaa")
    create(api_app, "bbbb", collector="prometheus")
    create(api_app, "cccc", active=False)

    def ids(query):
        return [s["scope_id"] for s in api_app.get(f"/v2/scope?{query}").json["results"]]

    assert ids("") == ["aaaa", "bbbb", "cccc"]
    assert ids("scope_id=aaaa,cccc") == ["aaaa", "cccc"]
    assert ids("scope_id=aaaa&scope_id=bbbb") == ["aaaa", "bbbb"]
    assert ids("collector=prometheus") == ["bbbb"]
    assert ids("fetcher=keystone&scope_key=project_id&active=1") == ["aaaa", "bbbb"]
    assert ids("active=0") == ["cccc"]
    assert ids("active=0,1") == ["aaaa", "bbbb", "cccc"]
    assert ids("offset=1&limit=1") == ["bbbb"]
    past = api_app.get("/v2/scope?offset=3", expect_errors=True)
    assert past.status_int == 404
    assert past.json == {"message": "No resource found for provided filters."}
    for bad in ("active=2", "limit=0", "nope=1"):
        assert api_app.get(f"/v2/scope?{bad}", expect_errors=True).status_int == 400


def test_patch_updates_given_columns_and_stamps_activation_changes(api_app):
    before = create(api_app, "aaaa").json
    same = api_app.patch("/v2/scope", json.dumps({"scope_id": "aaaa", "active": True})).json
    assert same["scope_activation_toggle_date"] == before["scope_activation_toggle_date"]
    after = api_app.patch(
        "/v2/scope",
        json.dumps({"scope_id": "aaaa", "active": False, "collector": "prometheus"}),
    ).json
    assert after["active"] is False and after["collector"] == "prometheus"
    assert after["fetcher"] == "keystone"
    assert after["scope_activation_toggle_date"] >= before["scope_activation_toggle_date"]


def test_patch_errors(api_app, sqlite_url):
    missing = api_app.patch("/v2/scope", json.dumps({"scope_id": "zz"}), expect_errors=True)
    assert missing.status_int == 404
    assert missing.json["message"] == "No resource found for provided filters."
    no_id = api_app.patch("/v2/scope", json.dumps({"active": True}), expect_errors=True)
    assert no_id.status_int == 400
    states = StateRepository(Database.from_url(sqlite_url))
    start = tz.parse_datetime("2024-01-01")
    states.create("dup", start, collector="a")
    # A second row of the same id (another collector): ambiguous for PATCH.
    with Database.from_url(sqlite_url).begin() as conn:
        conn.execute(
            table.insert().values(
                identifier="dup",
                scope_key="project_id",
                fetcher="keystone",
                collector="b",
                last_processed_timestamp=start,
                scope_activation_toggle_date=start,
            )
        )
    several = api_app.patch("/v2/scope", json.dumps({"scope_id": "dup"}), expect_errors=True)
    assert several.status_int == 404
    assert several.json["message"] == "Too many resources found with the same scope_id: dup."


def test_reset_records_one_request_per_matching_scope(api_app, sqlite_url):
    create(api_app, "aaaa")
    create(api_app, "bbbb")
    response = reset(api_app, {"scope_id": "aaaa", "last_processed_timestamp": "2024-01-01"})
    assert (response.status_int, response.json) == (202, {})
    [request] = requests(sqlite_url)
    assert request.scope_id == "aaaa"
    assert (request.scope_key, request.fetcher, request.collector) == (
        "project_id",
        "keystone",
        "gnocchi",
    )
    assert request.reset_timestamp == tz.parse_datetime("2024-01-01")
    assert request.done_at is None
    # The scope's state only changes when a processor applies the request.
    assert api_app.get("/v2/scope?scope_id=aaaa").json["results"][0]["state"] == (
        "2024-01-01T00:00:00+00:00"
    )


def test_reset_accepts_the_clients_state_key_and_comma_separated_ids(api_app, sqlite_url):
    for scope_id in ("aaaa", "bbbb", "cccc"):
        create(api_app, scope_id)
    response = reset(api_app, {"scope_id": "aaaa,bbbb", "state": "2023-12-01T00:00:00+00:00"})
    assert response.status_int == 202
    assert sorted(r.scope_id for r in requests(sqlite_url)) == ["aaaa", "bbbb"]


def test_reset_all_scopes_reaches_inactive_ones_and_more_than_100(api_app, sqlite_url):
    states = StateRepository(Database.from_url(sqlite_url))
    start = tz.parse_datetime("2024-01-01")
    for index in range(105):
        states.create(f"s{index:03d}", start, active=index % 2 == 0)
    assert reset(api_app, {"all_scopes": True, "state": "2023-12-01"}).status_int == 202
    assert len(requests(sqlite_url)) == 105


def test_reset_filters_narrow_the_selection(api_app, sqlite_url):
    create(api_app, "aaaa")
    create(api_app, "bbbb", collector="prometheus")
    payload = {"all_scopes": True, "collector": ["prometheus"], "state": "2023-12-01"}
    assert reset(api_app, payload).status_int == 202
    assert [r.scope_id for r in requests(sqlite_url)] == ["bbbb"]


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (
            {"all_scopes": True, "scope_id": "aaaa", "state": "2024-01-01"},
            400,
            "two or more values in the same group of exclusion 'scope_selector'",
        ),
        ({"state": "2024-01-01"}, 400, "Either all_scopes or a scope_id should be specified."),
        (
            {"all_scopes": False, "state": "2024-01-01"},
            400,
            "Either all_scopes or a scope_id should be specified.",
        ),
        (
            {"scope_id": "aaaa"},
            400,
            "Variable 'last_processed_timestamp' cannot be empty/None.",
        ),
        (
            {"scope_id": "aaaa", "state": "2024-01-01", "last_processed_timestamp": "2024-01-02"},
            400,
            "exclusion",
        ),
        (
            {"scope_id": "aaaa", "state": "2024-01-01T00:30:00Z"},
            400,
            "A valid timestamp near the provided one is [2024-01-01 00:00:00+00:00]",
        ),
        ({"scope_id": "aaaa", "state": "2024-01-01", "colour": "red"}, 400, "extra keys"),
        ({"scope_id": "zzzz", "state": "2024-01-01"}, 404, "No resource found"),
    ],
)
def test_reset_errors(api_app, sqlite_url, payload, status, message):
    create(api_app, "aaaa")
    response = reset(api_app, payload)
    assert response.status_int == status
    assert message in response.json["message"]
    assert requests(sqlite_url) == []
