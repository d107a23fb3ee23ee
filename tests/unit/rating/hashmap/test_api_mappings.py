"""Hashmap v1 API: mappings (creation rules, listing filters, updates, soft delete)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

import pytest

from cloudkitty.db import tables
from tests.unit.rating.hashmap.test_api_support import BASE, COST_ZERO, HashmapClient, cost

FUTURE = "2999-01-01T00:00:00"
MAPPING_KEYS = {
    "mapping_id",
    "value",
    "type",
    "cost",
    "service_id",
    "field_id",
    "group_id",
    "tenant_id",
    "created_at",
    "start",
    "end",
    "name",
    "description",
    "deleted",
    "created_by",
    "updated_by",
    "deleted_by",
}


@pytest.fixture(scope="module")
def _client(tmp_path_factory: pytest.TempPathFactory) -> HashmapClient:
    return HashmapClient(str(tmp_path_factory.mktemp("hashmap_mappings")))


@pytest.fixture
def hm(_client: HashmapClient) -> Iterator[HashmapClient]:
    _client.reset()
    yield _client


def _naive(text: str) -> datetime.datetime:
    value = datetime.datetime.fromisoformat(text)
    assert value.tzinfo is None  # v1 renders naive UTC
    return value


def test_create_service_mapping_shape(hm: HashmapClient) -> None:
    sid = hm.service()
    before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    created = hm.post("/mappings/", {"cost": 0.1, "service_id": sid})
    assert set(created) == MAPPING_KEYS
    assert created["cost"] == "0.1000000000000000000000000000"  # no float noise
    assert created["type"] == "flat"
    assert created["value"] is None
    assert created["service_id"] == sid and created["field_id"] is None
    assert created["group_id"] is None and created["tenant_id"] is None
    assert created["created_by"] == "unknown"
    assert created["updated_by"] is created["deleted_by"] is created["deleted"] is None
    assert created["end"] is None and created["description"] is None
    assert re.fullmatch(r"[0-9a-f]{32}", created["name"])
    # No start: the rule starts at the second it is created in.
    start, created_at = _naive(created["start"]), _naive(created["created_at"])
    assert start == created_at.replace(microsecond=0)
    assert before.replace(microsecond=0) <= start <= before + datetime.timedelta(seconds=5)
    assert hm.get(f"/mappings/{created['mapping_id']}") == created


def test_create_field_mapping_with_everything(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid)
    gid = hm.group()
    body = {
        "cost": "-1.25",  # negative costs stay allowed (discounts)
        "type": "rate",
        "field_id": fid,
        "service_id": None,
        "value": "m1.tiny",
        "group_id": gid,
        "tenant_id": "project-a",
        "start": "2999-01-01 10:00:00+02:00",
        "end": "3000-01-01",
        "name": "my-rule",
        "description": "Tiny flavour",
    }
    created = hm.post("/mappings/", body)
    assert created["cost"] == cost("-1.25")
    assert created["type"] == "rate"
    assert (created["field_id"], created["value"], created["group_id"]) == (fid, "m1.tiny", gid)
    assert created["tenant_id"] == "project-a"
    assert created["start"] == "2999-01-01T08:00:00"  # rendered naive UTC
    assert created["end"] == "3000-01-01T23:59:59"  # a bare end date covers the day
    assert (created["name"], created["description"]) == ("my-rule", "Tiny flavour")
    timed = hm.post(
        "/mappings/", {"cost": 0, "field_id": fid, "value": "x", "end": "3000-01-01T12:30:00"}
    )
    assert timed["end"] == "3000-01-01T12:30:00"
    assert timed["cost"] == COST_ZERO


def test_create_in_the_past_needs_force(hm: HashmapClient) -> None:
    sid = hm.service()
    message = hm.rejected(
        "POST", "/mappings/", {"cost": 1, "service_id": sid, "start": "2000-01-01"}, 400
    )
    assert message.startswith(
        "Cannot create a rule with start in the past. start=[2000-01-01 00:00:00] current time=["
    )
    forced = hm.post(
        "/mappings/?force=true",
        {"cost": 1, "service_id": sid, "start": "2000-01-01", "end": "2001-01-01"},
    )
    assert forced["start"] == "2000-01-01T00:00:00"
    # end before start is refused even with force.
    hm.rejected(
        "POST",
        "/mappings/?force=true",
        {"cost": 1, "service_id": sid, "start": "2000-01-02", "end": "2000-01-01T00:00:00"},
        400,
        "Cannot create a rule with start after end. start=[2000-01-02 00:00:00] "
        "end=[2000-01-01 00:00:00].",
    )
    hm.rejected("POST", "/mappings/?force=maybe", {"cost": 1, "service_id": sid}, 400)


def test_create_parent_rules(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid)
    post = {"cost": 1}
    cases = [
        ({"service_id": sid, "field_id": fid}, "You can only specify one parent."),
        ({}, "You must specify one parent."),
        ({"service_id": None, "field_id": None}, "You must specify one parent."),
        ({"service_id": sid, "value": "x"}, "You can't specify a value and a service_id."),
        ({"field_id": fid}, "You must specify a value for a field mapping."),
        ({"field_id": fid, "value": ""}, "You must specify a value for a field mapping."),
        ({"service_id": "nope"}, "No such service: None (UUID: nope)"),
        ({"field_id": "nope", "value": "x"}, "No such field: nope"),
        ({"service_id": sid, "group_id": "nope"}, "No such group: None (UUID: nope)"),
    ]
    for extra, message in cases:
        assert hm.rejected("POST", "/mappings/", {**post, **extra}, 400) == message


def test_create_bad_input(hm: HashmapClient) -> None:
    sid = hm.service()
    base = {"cost": 1, "service_id": sid}
    hm.rejected(
        "POST",
        "/mappings/",
        {**base, "type": "fail"},
        400,
        "Invalid input for field/attribute type. Value: 'fail'. Value should be one of:",
    )
    hm.rejected(
        "POST",
        "/mappings/",
        {"service_id": sid},
        400,
        "Invalid input for field/attribute cost. Value: 'None'. Mandatory field missing.",
    )
    for bad in ("abc", "NaN", "Infinity", True, [1], {"a": 1}):
        hm.rejected("POST", "/mappings/", {**base, "cost": bad}, 400, "field/attribute cost")
    # A bare NaN token (Python's json accepts it) is no better.
    hm.rejected("POST", "/mappings/", f'{{"cost": NaN, "service_id": "{sid}"}}', 400, "cost")
    hm.rejected("POST", "/mappings/", {**base, "cost": "1e12"}, 400, "at most 12 integer digits")
    hm.rejected(
        "POST", "/mappings/", {**base, "foo": 1}, 400, "Unknown attribute for argument mapping: foo"
    )
    hm.rejected("POST", "/mappings/", {**base, "name": "n" * 256}, 400, "field/attribute name")
    hm.rejected("POST", "/mappings/", {**base, "description": "d" * 257}, 400, "description")
    hm.rejected("POST", "/mappings/", {**base, "tenant_id": "t" * 256}, 400, "tenant_id")
    hm.rejected("POST", "/mappings/", {**base, "start": "not a date"}, 400, "field/attribute start")
    hm.rejected("POST", "/mappings/", {**base, "end": 12}, 400, "field/attribute end")
    hm.rejected("POST", "/mappings/", None, 400, 'Missing argument: "mapping"')
    hm.rejected("POST", "/mappings/", b"[1,", 400, "Request is not in valid JSON format")


def test_create_duplicates(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid)
    gid = hm.group()
    first = hm.mapping(field_id=fid, value="m1.tiny", name="n1")
    conflict = "Mapping 'm1.tiny' already exists for field '{}', tenant: '{}'"
    hm.rejected(
        "POST",
        "/mappings/",
        {"cost": 2, "field_id": fid, "value": "m1.tiny", "start": FUTURE},
        409,
        conflict.format(fid, None),
    )
    # Same name anywhere is a conflict too.
    hm.rejected(
        "POST", "/mappings/", {"cost": 2, "service_id": sid, "name": "n1"}, 409, "already exists"
    )
    # Another tenant, another group, another value, another case: no conflict.
    hm.mapping(field_id=fid, value="m1.tiny", tenant_id="t1")
    hm.mapping(field_id=fid, value="m1.tiny", group_id=gid)
    hm.mapping(field_id=fid, value="M1.TINY")
    hm.rejected(
        "POST",
        "/mappings/",
        {"cost": 2, "field_id": fid, "value": "m1.tiny", "tenant_id": "t1"},
        409,
        conflict.format(fid, "t1"),
    )
    # Service mappings conflict per service.
    hm.mapping(service_id=sid)
    hm.rejected(
        "POST",
        "/mappings/",
        {"cost": 2, "service_id": sid},
        409,
        f"Mapping 'None' already exists for service '{sid}', tenant: 'None'",
    )
    # A deleted rule does not conflict any more.
    hm.delete(f"/mappings/{first['mapping_id']}")
    hm.mapping(field_id=fid, value="m1.tiny", name="n1")


def test_create_successive_periods(hm: HashmapClient) -> None:
    sid = hm.service()
    hm.mapping(service_id=sid, start="2999-01-01T00:00:00", end="2999-02-01T00:00:00")
    # Starts exactly when the first one ends: [start, end) do not overlap.
    hm.mapping(service_id=sid, start="2999-02-01T00:00:00", end="2999-03-01T00:00:00")
    hm.mapping(service_id=sid, start="2998-01-01T00:00:00", end="2999-01-01T00:00:00")
    overlapping = [
        {"start": "2999-01-15T00:00:00", "end": "2999-01-20T00:00:00"},
        {"start": "2998-06-01T00:00:00", "end": "2999-06-01T00:00:00"},
        {"start": "2999-02-15T00:00:00"},  # open-ended over the second one
        {"start": "2997-01-01T00:00:00"},  # open-ended over all of them
    ]
    for period in overlapping:
        hm.rejected("POST", "/mappings/", {"cost": 1, "service_id": sid, **period}, 409)
    hm.mapping(service_id=sid, start="2999-03-01T00:00:00")
    hm.rejected("POST", "/mappings/", {"cost": 1, "service_id": sid, "start": "3100-01-01"}, 409)


def test_list_filters(hm: HashmapClient) -> None:
    sid = hm.service("compute")
    other = hm.service("volume")
    fid = hm.field(sid)
    gid = hm.group()
    svc = hm.mapping(service_id=sid, group_id=gid, description="Base PRICE_1")
    fld = hm.mapping(field_id=fid, value="a", tenant_id="t1")
    fld2 = hm.mapping(field_id=fid, value="b", start=FUTURE, description="later")
    oth = hm.mapping(service_id=other, tenant_id="t2")
    gone = hm.mapping(field_id=fid, value="c")
    hm.delete(f"/mappings/{gone['mapping_id']}")
    gone = hm.get(f"/mappings/{gone['mapping_id']}")

    def ids(query: str) -> list[str]:
        return [m["mapping_id"] for m in hm.get(f"/mappings/{query}")["mappings"]]

    every = [svc["mapping_id"], fld["mapping_id"], fld2["mapping_id"], oth["mapping_id"]]
    assert ids("") == every
    assert ids("?all=true") == every
    assert ids(f"?service_id={sid}") == [svc["mapping_id"]]
    assert ids(f"?service_id={sid}&field_id={fid}") == [svc["mapping_id"]]  # service wins
    assert ids(f"?field_id={fid}") == [fld["mapping_id"], fld2["mapping_id"]]
    assert ids(f"?group_id={gid}") == [svc["mapping_id"]]
    assert ids(f"?group_id={gid}&no_group=true") == [svc["mapping_id"]]
    assert ids(f"?field_id={fid}&no_group=true") == [fld["mapping_id"], fld2["mapping_id"]]
    assert ids("?no_group=true") == every[1:]
    assert ids("?tenant_id=t1") == every  # tenant_id only counts with filter_tenant
    assert ids("?tenant_id=t1&filter_tenant=true") == [fld["mapping_id"]]
    assert ids("?filter_tenant=True") == [svc["mapping_id"], fld2["mapping_id"]]
    assert ids("?deleted=true") == [*every, gone["mapping_id"]]
    assert ids("?deleted=false") == every  # strict booleans: false means false
    assert ids("?deleted_by=unknown&deleted=true") == [gone["mapping_id"]]
    assert ids("?created_by=unknown") == every
    assert ids("?created_by=someone") == []
    assert ids("?description=price_") == [svc["mapping_id"]]  # case-insensitive, literal _
    assert ids("?description=%25") == []
    assert ids("?start=2998-01-01") == [fld2["mapping_id"]]
    assert ids("?is_active=true") == [svc["mapping_id"], fld["mapping_id"], oth["mapping_id"]]
    assert ids("?is_active=false") == [fld2["mapping_id"]]
    assert ids("?service_id=unknown") == []
    assert hm.get(f"/services/{sid}/mappings")["mappings"] == [svc]
    hm.put("/mappings/", {**fld2, "end": "3000-01-01T00:00:00"})
    assert ids("?end=3001-01-01") == [fld2["mapping_id"]]


def test_list_bad_queries(hm: HashmapClient) -> None:
    hm.rejected(
        "GET", "/mappings/?all=false", None, 400, "You must specify either service_id, field_id"
    )
    hm.rejected("GET", "/mappings/?deleted=perhaps", None, 400, "Invalid boolean value")
    hm.rejected("GET", "/mappings/?start=yesterday-ish", None, 400, "start")
    hm.rejected("GET", "/mappings/?colour=red", None, 400, "Unknown argument")


def test_get_one_and_group(hm: HashmapClient) -> None:
    sid = hm.service()
    gid = hm.group("g1")
    grouped = hm.mapping(service_id=sid, group_id=gid)
    plain = hm.mapping(service_id=sid, tenant_id="t")
    assert hm.get(f"/mappings/group?mapping_id={grouped['mapping_id']}") == {
        "group_id": gid,
        "name": "g1",
    }
    assert hm.get(f"/mappings/{grouped['mapping_id']}/group")["group_id"] == gid
    hm.rejected(
        "GET",
        f"/mappings/group?mapping_id={plain['mapping_id']}",
        None,
        404,
        f"Mapping has no group (UUID: {plain['mapping_id']})",
    )
    hm.rejected("GET", "/mappings/group?mapping_id=nope", None, 404, "No such mapping: nope")
    hm.rejected("GET", "/mappings/group", None, 400, 'Missing argument: "mapping_id"')
    hm.rejected("GET", "/mappings/nope", None, 404, "No such mapping: nope")


def test_delete_is_soft(hm: HashmapClient) -> None:
    sid = hm.service()
    first = hm.mapping(service_id=sid)
    second = hm.mapping(service_id=sid, tenant_id="t")
    hm.delete(f"/mappings/{first['mapping_id']}")
    hm.delete("/mappings/", {"mapping_id": second["mapping_id"]})
    assert hm.get("/mappings/") == {"mappings": []}
    assert hm.count(tables.hashmap_mappings) == 2
    shown = hm.get(f"/mappings/{first['mapping_id']}")
    assert shown["deleted_by"] == "unknown" and shown["deleted"] is not None
    assert {k: v for k, v in shown.items() if k not in ("deleted", "deleted_by")} == {
        k: v for k, v in first.items() if k not in ("deleted", "deleted_by")
    }
    hm.rejected("DELETE", f"/mappings/{first['mapping_id']}", None, 404, "No such mapping")
    hm.rejected("DELETE", "/mappings/", {"mapping_id": "nope"}, 404, "No such mapping: nope")
    # A deleted rule cannot be updated either.
    hm.rejected("PUT", "/mappings/", {**shown, "end": FUTURE}, 404, "No such mapping")


def test_update_running_rule_only_takes_an_end(hm: HashmapClient) -> None:
    sid = hm.service()
    running = hm.mapping(service_id=sid, cost="0.5")
    started = running["start"].replace("T", " ")
    message = hm.rejected("PUT", "/mappings/", {**running, "cost": "0.6"}, 400)
    assert message == (
        "You are allowed to update only the attribute [end] as this rule is already "
        f"running as it started on [{started}]"
    )
    for change in ({"type": "rate"}, {"description": "x"}, {"start": FUTURE}, {"name": "n"}):
        hm.rejected("PUT", "/mappings/", {**running, **change}, 400, "update only the attribute")
    hm.rejected(
        "PUT",
        "/mappings/",
        {**running, "end": "2001-01-01T00:00:00"},
        400,
        "End date must be in the future. end=[2001-01-01 00:00:00] current time=[",
    )
    # Falsy values that differ do not count, as upstream (client echoes nulls).
    response = hm.put("/mappings/", {**running, "description": None, "end": "2999-06-01"})
    assert response.headers["Location"] == (
        f"http://localhost{BASE}/mappings/{running['mapping_id']}"
    )
    updated = hm.get(f"/mappings/{running['mapping_id']}")
    assert updated == {**running, "end": "2999-06-01T23:59:59", "updated_by": "unknown"}
    # The client repeats a PUT answered 302: the same body again is a no-op.
    hm.put("/mappings/", {**updated})
    hm.put(f"/mappings/{running['mapping_id']}", {**updated})
    assert hm.get(f"/mappings/{running['mapping_id']}") == updated
    hm.rejected(
        "PUT",
        "/mappings/",
        {**updated, "end": "2999-07-01T00:00:00"},
        400,
        "Cannot update a rule that was already processed and has a defined end date.",
    )
    hm.rejected(
        "PUT", "/mappings/", {**updated, "cost": "9"}, 400, "Cannot update a rule that was already"
    )


def test_update_pending_rule(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid)
    gid = hm.group()
    pending = hm.mapping(field_id=fid, value="a", start=FUTURE, description="keep me")
    changed = {
        "cost": "0.25",
        "type": "rate",
        "value": "b",
        "group_id": gid,
        "tenant_id": "t1",
        "start": "2999-02-01T00:00:00",
        "end": "2999-03-01",
        "name": "renamed",
    }
    # The client's form: the full object on the collection URL.
    hm.put("/mappings/", {**pending, **changed})
    updated = hm.get(f"/mappings/{pending['mapping_id']}")
    assert updated == {
        **pending,
        **changed,
        "cost": "0.2500000000000000000000000000",
        "end": "2999-03-01T23:59:59",
        "updated_by": "unknown",
    }
    # Only what the body carries changes: an absent description stays.
    hm.put(f"/mappings/{pending['mapping_id']}", {"cost": 3})
    again = hm.get(f"/mappings/{pending['mapping_id']}")
    assert again == {**updated, "cost": "3.0000000000000000000000000000"}
    # An explicit null clears the optional attributes.
    hm.put(f"/mappings/{pending['mapping_id']}", {"description": None, "end": None})
    cleared = hm.get(f"/mappings/{pending['mapping_id']}")
    assert cleared["description"] is None and cleared["end"] is None


def test_update_pending_rule_errors(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid)
    other_fid = hm.field(sid, "image")
    pending = hm.mapping(field_id=fid, value="a", start=FUTURE)
    blocker = hm.mapping(field_id=fid, value="b", start=FUTURE, name="taken")
    path = f"/mappings/{pending['mapping_id']}"
    cases = [
        ({"start": "2001-01-01"}, 400, "Cannot create a rule with start in the past."),
        ({"end": "2998-01-01"}, 400, "Cannot create a rule with start after end."),
        ({"field_id": other_fid}, 400, "The field_id of a mapping cannot be changed"),
        ({"service_id": sid}, 400, "The service_id of a mapping cannot be changed"),
        ({"value": ""}, 400, "You must specify a value for a field mapping."),
        ({"group_id": "nope"}, 400, "No such group: None (UUID: nope)"),
        ({"type": "fail"}, 400, "Value should be one of"),
        ({"cost": "x"}, 400, "field/attribute cost"),
        ({"cost": None}, None, None),
        ({"bogus": 1}, 400, "Unknown attribute for argument mapping: bogus"),
        ({"value": "b"}, 409, f"Mapping 'b' already exists for field '{fid}', tenant: 'None'"),
        ({"name": "taken"}, 409, "already exists"),
        ({"mapping_id": blocker["mapping_id"]}, 400, "does not match the URL"),
    ]
    for body, status, message in cases:
        if status is None:
            hm.put(path, body)  # a null cost keeps the stored one
            continue
        hm.rejected("PUT", path, body, status, message)
    hm.rejected("PUT", "/mappings/", {"cost": 1}, 400, 'Missing argument: "mapping_id"')
    hm.rejected("PUT", "/mappings/nope", {"cost": 1}, 404, "No such mapping: nope")
    hm.rejected("PUT", "/mappings/", None, 400, 'Missing argument: "mapping"')
    assert hm.get(path)["cost"] == "1.0000000000000000000000000000"
