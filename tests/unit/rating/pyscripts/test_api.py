"""The pyscripts v1 API through the full WSGI pipeline (WebTest, SQLite).

Every refused request is also checked to leave the table exactly as it was:
validation (including the sandboxed compile check) happens before any write.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
from typing import Any

import pytest
import sqlalchemy as sa

from cloudkitty.db import engine as ck_engine
from cloudkitty.db import tables
from cloudkitty.utils import tz

BASE = "/v1/rating/module_config/pyscripts"
SCRIPTS = f"{BASE}/scripts"
URL_PREFIX = "http://localhost"
FUTURE_START = "2999-01-01T10:00:00"
PAST_START = "2000-01-01T00:00:00"
KEYS = {
    "script_id",
    "name",
    "data",
    "checksum",
    "created_at",
    "start",
    "end",
    "description",
    "deleted",
    "created_by",
    "updated_by",
    "deleted_by",
}
SCRIPT = (
    "from decimal import Decimal\n"
    "for point in data['usage'].get('compute', []):\n"
    "    if point['metadata'].get('flavor') == 'm1.nano':\n"
    "        point['rating']['price'] = point['vol']['qty'] * Decimal('0.1')\n"
)


# --- helpers ---------------------------------------------------------------


def _sha512(text: str) -> str:
    return hashlib.sha512(text.encode("utf-8")).hexdigest()


def _rows(url: str) -> list[dict[str, Any]]:
    """The raw table content, to prove a refused request wrote nothing."""
    with ck_engine.Database.from_url(url).connect() as conn:
        query = sa.select(tables.pyscripts_scripts).order_by(tables.pyscripts_scripts.c.id)
        return [dict(row) for row in conn.execute(query).mappings()]


def _create(api_app, status: int = 201, force: bool = False, **body: Any):
    url = f"{SCRIPTS}/?force=true" if force else f"{SCRIPTS}/"
    return api_app.post_json(url, body, status=status)


def _pending(api_app, name: str = "pending", data: str = "a = 0", **body: Any) -> dict:
    """A script that has not started yet (every attribute may change)."""
    return _create(api_app, name=name, data=data, start=FUTURE_START, **body).json


def _running(api_app, name: str = "running", data: str = "a = 0", **body: Any) -> dict:
    """A script already started (only ``end`` may change)."""
    return _create(api_app, force=True, name=name, data=data, start=PAST_START, **body).json


def _echo(script: dict) -> dict:
    """What ``cloudkitty pyscript update`` sends: the object read, minus checksum."""
    body = dict(script)
    body.pop("checksum")
    return body


def _refused(api_app, sqlite_url, method: str, url: str, body: Any, status: int) -> str:
    """Send a request that must fail; assert the table did not change."""
    before = _rows(sqlite_url)
    response = getattr(api_app, f"{method}_json")(url, body, status=status)
    assert _rows(sqlite_url) == before
    assert response.json["faultcode"] == "Client"
    assert response.json["debuginfo"] is None
    return str(response.json["faultstring"])


def _names(api_app, query: str = "") -> list[str]:
    return [s["name"] for s in api_app.get(f"{SCRIPTS}/{query}").json["scripts"]]


# --- routing ---------------------------------------------------------------


def test_typo_and_module_root_are_405(api_app):
    # A Pecan routing error, not a WSME fault (upstream answers the same way).
    assert "faultcode" not in api_app.get(f"{BASE}/script", status=405).text
    api_app.get(f"{BASE}/", status=405)


def test_empty_list(api_app):
    for url in (SCRIPTS, f"{SCRIPTS}/", f"{SCRIPTS}/?no_data=True"):
        assert api_app.get(url).json == {"scripts": []}


# --- POST ------------------------------------------------------------------


def test_post_answers_201_location_and_the_script(api_app, sqlite_url):
    before = tz.utcnow().replace(tzinfo=None)
    response = _create(api_app, name="policy1", data=SCRIPT, start=None, end=None)
    script = response.json
    assert response.headers["Location"] == f"{URL_PREFIX}{SCRIPTS}/{script['script_id']}"
    assert set(script) == KEYS
    assert script["name"] == "policy1"
    assert script["data"] == SCRIPT
    assert script["checksum"] == _sha512(SCRIPT)
    assert (script["end"], script["description"], script["deleted"]) == (None, None, None)
    assert (script["created_by"], script["updated_by"], script["deleted_by"]) == (
        "unknown",
        None,
        None,
    )
    # No start: the time of the request (upstream: the API process start time).
    created = datetime.datetime.fromisoformat(script["created_at"])
    assert created.tzinfo is None  # v1 renders naive UTC
    assert before <= created <= tz.utcnow().replace(tzinfo=None)
    assert script["start"] == script["created_at"]
    assert api_app.get(response.headers["Location"]).json == script
    assert len(_rows(sqlite_url)) == 1


def test_post_dates_description_and_audit_user(api_app):
    body = {
        "name": "dated",
        "data": "a = 1",
        "start": "2999-01-01 10:00:00+02:00",
        "end": "2999-02-01",
        "description": "Flavor prices",
    }
    script = api_app.post_json(f"{SCRIPTS}/", body, headers={"X-User-Id": "alice"}, status=201).json
    # Offsets are converted to UTC; a bare end date covers the whole day.
    assert (script["start"], script["end"]) == ("2999-01-01T08:00:00", "2999-02-01T23:59:59")
    assert script["description"] == "Flavor prices"
    assert script["created_by"] == "alice"


def test_post_ignores_read_only_attributes(api_app):
    script = _create(
        api_app,
        name="echo",
        data="a = 1",
        start=FUTURE_START,
        script_id="mine",
        checksum="forged",
        created_by="mallory",
        deleted="2000-01-01",
    ).json
    assert script["script_id"] != "mine"
    assert script["checksum"] == _sha512("a = 1")
    assert (script["created_by"], script["deleted"]) == ("unknown", None)


def test_post_without_data_stores_an_empty_script(api_app):
    # Upstream accepted a missing text as an empty (no-op) script.
    script = _create(api_app, name="empty", start=FUTURE_START).json
    assert (script["data"], script["checksum"]) == ("", _sha512(""))


def test_post_start_in_the_past_needs_force(api_app, sqlite_url):
    message = _refused(
        api_app,
        sqlite_url,
        "post",
        f"{SCRIPTS}/",
        {"name": "p", "data": "a", "start": PAST_START},
        400,
    )
    assert message.startswith(
        "Cannot create a rule with start in the past. start=[2000-01-01 00:00:00] current time=["
    )
    forced = _create(api_app, force=True, name="p", data="a", start=PAST_START).json
    assert forced["start"] == PAST_START


def test_post_end_before_start(api_app, sqlite_url):
    body = {"name": "p", "data": "a", "start": "2999-01-02", "end": "2999-01-01T00:00:00"}
    message = _refused(api_app, sqlite_url, "post", f"{SCRIPTS}/", body, 400)
    assert message == (
        "Cannot create a rule with start after end. "
        "start=[2999-01-02 00:00:00] end=[2999-01-01 00:00:00]."
    )
    # force does not lift that rule
    _refused(api_app, sqlite_url, "post", f"{SCRIPTS}/?force=true", body, 400)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"data": "a = 1"},
            "Invalid input for field/attribute name. Value: 'None'. Mandatory field missing.",
        ),
        (
            {"name": None, "data": "a = 1"},
            "Invalid input for field/attribute name. Value: 'None'. Mandatory field missing.",
        ),
        (
            {"name": "p", "data": "a", "colour": "red"},
            "Unknown attribute for argument script: colour",
        ),
        ({"name": "", "data": "a"}, "name must be a non-empty string"),
        ({"name": "n" * 256, "data": "a"}, "name is too long (256 > 255 characters)"),
        ({"name": "p", "data": "a", "description": "d" * 257}, "description is too long"),
        ({"name": "p", "data": 5}, "Invalid input for field/attribute data."),
        ({"name": "p", "data": "a", "start": "soon"}, "Invalid input for field/attribute start."),
    ],
)
def test_post_bad_bodies_are_400(api_app, sqlite_url, body, message):
    _pending(api_app, name="existing")
    assert _refused(api_app, sqlite_url, "post", f"{SCRIPTS}/", body, 400).startswith(message)


def test_post_malformed_or_missing_body(api_app, sqlite_url):
    bad = api_app.post(f"{SCRIPTS}/", "{nope", content_type="application/json", status=400)
    assert bad.json["faultstring"] == "Request is not in valid JSON format"
    empty = api_app.post(f"{SCRIPTS}/", "", content_type="application/json", status=400)
    assert empty.json["faultstring"] == 'Missing argument: "script"'
    assert _rows(sqlite_url) == []


def test_post_syntax_error_is_400_naming_the_line(api_app, sqlite_url):
    body = {"name": "broken", "data": "a = 1\nif a\n    b = 2\n"}
    message = _refused(api_app, sqlite_url, "post", f"{SCRIPTS}/", body, 400)
    assert message.startswith("Script broken cannot be compiled: SyntaxError: ")
    assert message.endswith("at line 2")


def test_post_duplicate_name_is_409_until_deleted(api_app, sqlite_url):
    first = _pending(api_app, name="policy1")
    message = _refused(
        api_app, sqlite_url, "post", f"{SCRIPTS}/", {"name": "policy1", "data": "b = 2"}, 409
    )
    assert message == f"Script policy1 already exists (UUID: {first['script_id']})"
    api_app.delete(f"{SCRIPTS}/{first['script_id']}", status=204)
    assert _create(api_app, name="policy1", data="b = 2").json["name"] == "policy1"


# --- GET -------------------------------------------------------------------


def test_get_one_and_404(api_app, sqlite_url):
    script = _pending(api_app, data=SCRIPT)
    assert api_app.get(f"{SCRIPTS}/{script['script_id']}").json == script
    assert api_app.get(f"{SCRIPTS}/{script['script_id']}/").json == script
    missing = api_app.get(f"{SCRIPTS}/not-a-uuid", status=404)
    assert missing.json == {
        "faultcode": "Client",
        "faultstring": "No such script: None (UUID: not-a-uuid)",
        "debuginfo": None,
    }


def test_list_no_data_leaves_data_out(api_app):
    _pending(api_app, data=SCRIPT)
    full = api_app.get(f"{SCRIPTS}/").json["scripts"][0]
    assert full["data"] == SCRIPT
    for flag in ("True", "true", "1"):
        light = api_app.get(f"{SCRIPTS}/?no_data={flag}").json["scripts"][0]
        assert "data" not in light
        assert light == {k: v for k, v in full.items() if k != "data"}
    # Empty and false values mean false (upstream: any non-empty value was true).
    for flag in ("", "False", "0"):
        assert api_app.get(f"{SCRIPTS}/?no_data={flag}").json["scripts"][0] == full


def test_list_bad_query_values_are_400(api_app):
    assert "no_data" in api_app.get(f"{SCRIPTS}/?no_data=maybe", status=400).json["faultstring"]
    assert "start" in api_app.get(f"{SCRIPTS}/?start=soon", status=400).json["faultstring"]


def test_list_filters(api_app):
    alice = {"X-User-Id": "alice"}
    api_app.post_json(
        f"{SCRIPTS}/?force=true",
        {"name": "a-active", "data": "a", "start": PAST_START, "description": "Compute PRICES"},
        headers=alice,
        status=201,
    )
    ended = _create(
        api_app, force=True, name="b-ended", data="a", start=PAST_START, end="2000-01-02"
    ).json
    future = _pending(api_app, name="c-future", description="storage", end="2999-06-01")
    gone = _pending(api_app, name="d-deleted")
    api_app.delete(f"{SCRIPTS}/{gone['script_id']}", headers=alice, status=204)
    api_app.put_json(
        f"{SCRIPTS}/{future['script_id']}",
        {"data": "b", "description": "storage", "end": "2999-06-01"},
        headers=alice,
    )

    # Execution order: by name.
    assert _names(api_app) == ["a-active", "b-ended", "c-future"]
    assert _names(api_app, "?deleted=true") == ["a-active", "b-ended", "c-future", "d-deleted"]
    assert _names(api_app, "?is_active=true") == ["a-active"]
    assert _names(api_app, "?start=2999-01-01") == ["c-future"]
    assert _names(api_app, "?start=2000-01-01 00:00:00") == ["a-active", "b-ended", "c-future"]
    assert _names(api_app, "?end=2999-01-01") == ["b-ended"]
    assert _names(api_app, "?created_by=alice") == ["a-active"]
    assert _names(api_app, "?created_by=Alice") == []
    assert _names(api_app, "?updated_by=alice") == ["c-future"]
    assert _names(api_app, "?deleted_by=alice&deleted=true") == ["d-deleted"]
    assert _names(api_app, "?description=prices") == ["a-active"]
    assert _names(api_app, "?description=STOR") == ["c-future"]
    assert _names(api_app, "?description=%25") == []  # wildcards are literal
    combined = api_app.get(f"{SCRIPTS}/?deleted=true&no_data=true&start=2000-01-01").json
    assert [s["name"] for s in combined["scripts"]] == [
        "a-active",
        "b-ended",
        "c-future",
        "d-deleted",
    ]
    assert all("data" not in s for s in combined["scripts"])
    assert ended["end"] == "2000-01-02T23:59:59"


# --- PUT -------------------------------------------------------------------


def test_put_echoed_object_answers_201_with_location_once(api_app, sqlite_url):
    script = _pending(api_app, data="a = 0", description="old")
    body = _echo(script)
    body.update(data=SCRIPT, end="2999-03-01", description="new", name="renamed")
    url = f"{SCRIPTS}/{script['script_id']}"
    response = api_app.put_json(url, body, headers={"X-User-Id": "bob"}, status=201)
    # Upstream bug 21: the id appeared twice in the Location.
    assert response.headers["Location"] == f"{URL_PREFIX}{url}"
    updated = response.json
    assert updated["data"] == SCRIPT
    assert updated["checksum"] == _sha512(SCRIPT)
    assert (updated["end"], updated["description"]) == ("2999-03-01T23:59:59", "new")
    assert updated["name"] == "pending"  # the name never changes
    assert (updated["start"], updated["created_at"]) == (script["start"], script["created_at"])
    assert (updated["created_by"], updated["updated_by"]) == ("unknown", "bob")
    assert api_app.get(url).json == updated
    assert len(_rows(sqlite_url)) == 1


def test_put_on_the_collection_with_the_id_in_the_body(api_app):
    script = _pending(api_app)
    response = api_app.put_json(
        f"{SCRIPTS}/", {"script_id": script["script_id"], "data": "b = 1"}, status=201
    )
    assert response.headers["Location"] == f"{URL_PREFIX}{SCRIPTS}/{script['script_id']}"
    assert response.json["data"] == "b = 1"


def test_put_of_a_pending_script_keeps_absent_data_and_start(api_app):
    script = _pending(api_app, data=SCRIPT, description="kept?", end="2999-02-01")
    url = f"{SCRIPTS}/{script['script_id']}"
    updated = api_app.put_json(url, {"start": None}).json
    assert (updated["data"], updated["checksum"], updated["start"]) == (
        SCRIPT,
        script["checksum"],
        script["start"],
    )
    # As upstream: end and description not sent are cleared.
    assert (updated["end"], updated["description"]) == (None, None)
    moved = api_app.put_json(url, {"start": "3000-01-01"}).json
    assert moved["start"] == "3000-01-01T00:00:00"


def test_put_of_a_running_script_only_sets_end(api_app, sqlite_url):
    script = _running(api_app, data=SCRIPT)
    url = f"{SCRIPTS}/{script['script_id']}"
    body = _echo(script)
    body["data"] = "a = 2"
    message = _refused(api_app, sqlite_url, "put", url, body, 400)
    assert message == (
        "You are allowed to update only the attribute [end] as this rule is already "
        "running as it started on [2000-01-01 00:00:00]"
    )
    past_end = {**_echo(script), "end": "2001-01-01"}
    assert _refused(api_app, sqlite_url, "put", url, past_end, 400).startswith(
        "End date must be in the future. end=[2001-01-01 23:59:59] current time=["
    )
    body = _echo(script)
    body["end"] = "2999-12-31T00:00:00"
    response = api_app.put_json(url, body, status=201)
    assert response.json["end"] == "2999-12-31T00:00:00"
    assert response.json["data"] == SCRIPT
    body = _echo(response.json)
    body["end"] = "2999-12-30T00:00:00"
    assert _refused(api_app, sqlite_url, "put", url, body, 400) == (
        "Cannot update a rule that was already processed and has a defined end date."
    )


def test_put_syntax_error_is_400_and_keeps_the_script(api_app, sqlite_url):
    script = _pending(api_app, name="policy1", data=SCRIPT)
    body = {**_echo(script), "data": "def f(:\n    pass\n"}
    message = _refused(api_app, sqlite_url, "put", f"{SCRIPTS}/{script['script_id']}", body, 400)
    assert message.startswith("Script policy1 cannot be compiled: SyntaxError: ")
    assert message.endswith("at line 1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"data": "a", "colour": "red"}, "Unknown attribute for argument script: colour"),
        (
            {"end": "2999-01-01", "start": "2999-06-01"},
            "Cannot create a rule with start after end.",
        ),
        ({"start": PAST_START}, "Cannot create a rule with start in the past."),
        ({"start": "soon"}, "Invalid input for field/attribute start."),
        ({"script_id": "other"}, "script_id in the body (other) does not match the URL ("),
    ],
)
def test_put_bad_bodies_are_400(api_app, sqlite_url, body, message):
    script = _pending(api_app)
    url = f"{SCRIPTS}/{script['script_id']}"
    assert _refused(api_app, sqlite_url, "put", url, body, 400).startswith(message)


def test_put_unknown_or_deleted_is_404_and_missing_body_400(api_app, sqlite_url):
    assert _refused(api_app, sqlite_url, "put", f"{SCRIPTS}/nope", {"data": "a"}, 404) == (
        "No such script: None (UUID: nope)"
    )
    script = _pending(api_app)
    url = f"{SCRIPTS}/{script['script_id']}"
    api_app.delete(url, status=204)
    assert _refused(api_app, sqlite_url, "put", url, {"data": "a"}, 404) == (
        f"No such script: None (UUID: {script['script_id']})"
    )
    missing = api_app.put(url, "", content_type="application/json", status=400)
    assert missing.json["faultstring"] == 'Missing argument: "script"'
    no_id = api_app.put_json(f"{SCRIPTS}/", {"data": "a"}, status=400)
    assert no_id.json["faultstring"] == 'Missing argument: "script_id"'


# --- DELETE ----------------------------------------------------------------


def test_delete_is_soft_and_204(api_app, sqlite_url):
    script = _pending(api_app)
    url = f"{SCRIPTS}/{script['script_id']}"
    response = api_app.delete(url, headers={"X-User-Id": "carol"}, status=204)
    assert response.body == b""
    assert _names(api_app) == []
    deleted = api_app.get(url).json  # still readable by id
    assert deleted["deleted_by"] == "carol"
    assert deleted["deleted"] is not None
    assert len(_rows(sqlite_url)) == 1
    before = _rows(sqlite_url)
    again = api_app.delete(url, status=404)
    assert again.json["faultstring"] == f"No such script: None (UUID: {script['script_id']})"
    assert _rows(sqlite_url) == before


def test_delete_with_the_id_in_a_json_body(api_app):
    script = _pending(api_app)
    api_app.delete(
        f"{SCRIPTS}/",
        json.dumps({"script_id": script["script_id"]}),
        content_type="application/json",
        status=204,
    )
    assert _names(api_app, "?deleted=true") == ["pending"]
    assert _names(api_app) == []


# --- rating ----------------------------------------------------------------


def test_quote_runs_the_active_scripts_exactly(api_app):
    module = api_app.get("/v1/rating/modules/pyscripts").json
    api_app.put_json("/v1/rating/modules/pyscripts", {**module, "enabled": True}, status=302)
    _running(api_app, name="prices", data=SCRIPT)
    _pending(api_app, name="later", data="raise RuntimeError('not active yet')")
    response = api_app.post(
        "/v1/rating/quote",
        json.dumps(
            {
                "resources": [
                    {"service": "compute", "desc": {"flavor": "m1.nano"}, "volume": "3"},
                    {"service": "compute", "desc": {"flavor": "m1.tiny"}, "volume": "5"},
                ]
            }
        ),
        content_type="application/json",
        status=200,
    )
    # 3 x 0.1 computed in Decimal: a float pipeline would give 0.30000000000000004.
    assert decimal.Decimal(response.body.decode()) == decimal.Decimal("0.3")
    assert "0000000000000004" not in response.body.decode()
