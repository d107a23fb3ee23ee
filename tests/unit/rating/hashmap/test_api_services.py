"""Hashmap v1 API: types, services, fields and groups (routes, codes, messages)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloudkitty.db import tables
from tests.unit.rating.hashmap.test_api_support import BASE, HashmapClient


@pytest.fixture(scope="module")
def _client(tmp_path_factory: pytest.TempPathFactory) -> HashmapClient:
    return HashmapClient(str(tmp_path_factory.mktemp("hashmap_services")))


@pytest.fixture
def hm(_client: HashmapClient) -> Iterator[HashmapClient]:
    _client.reset()
    yield _client


def test_types(hm: HashmapClient) -> None:
    assert hm.get("/types") == ["flat", "rate"]
    assert hm.get("/types/") == ["flat", "rate"]


def test_services_crud(hm: HashmapClient) -> None:
    assert hm.get("/services/") == {"services": []}
    created = hm.post("/services/", {"name": "compute"})
    sid = created["service_id"]
    assert created == {"service_id": sid, "name": "compute"}
    assert hm.get(f"/services/{sid}") == created
    assert hm.get("/services") == {"services": [created]}
    # The client echoes the id in POST bodies of other resources; the server
    # ignores a service_id given on creation and makes its own.
    other = hm.post("/services", {"name": "volume", "service_id": sid})
    assert other["service_id"] != sid
    hm.delete(f"/services/{sid}")
    assert hm.get("/services/") == {"services": [other]}
    # The client's form: DELETE on the collection with the id in the body.
    hm.delete("/services/", {"service_id": other["service_id"]})
    assert hm.get("/services/") == {"services": []}


def test_service_errors(hm: HashmapClient) -> None:
    sid = hm.service("compute")
    hm.rejected(
        "POST",
        "/services/",
        {"name": "compute"},
        409,
        f"Service compute already exists (UUID: {sid})",
    )
    hm.rejected("GET", "/services/nope", None, 404, "No such service: None (UUID: nope)")
    hm.rejected("DELETE", "/services/nope", None, 404, "No such service: None (UUID: nope)")
    hm.rejected("DELETE", "/services/", {"service_id": "nope"}, 404, "(UUID: nope)")
    hm.rejected("DELETE", "/services/", None, 400, 'Missing argument: "service_id"')
    hm.rejected(
        "POST", "/services/", {}, 400, "Invalid input for field/attribute name. Value: 'None'. "
    )
    hm.rejected(
        "POST",
        "/services/",
        {"name": "x", "foo": 1},
        400,
        "Unknown attribute for argument service: foo",
    )
    hm.rejected("POST", "/services/", {"name": ""}, 400, "Value must not be empty")
    hm.rejected("POST", "/services/", {"name": "x" * 256}, 400, "at most 255 characters")
    hm.rejected("POST", "/services/", {"name": 12}, 400, "Wrong type")
    hm.rejected("POST", "/services/", b"{not json", 400, "Request is not in valid JSON format")
    hm.rejected("DELETE", "/services/", {"service_id": sid, "bar": 1}, 400, "Unknown argument")


def test_fields_crud_and_aliases(hm: HashmapClient) -> None:
    sid = hm.service()
    created = hm.post("/fields/", {"service_id": sid, "name": "flavor"})
    fid = created["field_id"]
    assert created == {"field_id": fid, "name": "flavor", "service_id": sid}
    assert hm.get(f"/fields/{fid}") == created
    assert hm.get(f"/fields/?service_id={sid}") == {"fields": [created]}
    assert hm.get(f"/fields?service_id={sid}") == {"fields": [created]}
    assert hm.get(f"/services/{sid}/fields") == {"fields": [created]}
    assert hm.get("/fields/?service_id=unknown") == {"fields": []}
    # Same name under another service is fine.
    other_sid = hm.service("volume")
    hm.post("/fields/", {"service_id": other_sid, "name": "flavor"})
    hm.delete("/fields/", {"field_id": fid})
    assert hm.get(f"/fields/?service_id={sid}") == {"fields": []}


def test_field_errors(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid, "flavor")
    hm.rejected("GET", "/fields/", None, 400, 'Missing argument: "service_id"')
    hm.rejected("GET", "/fields/nope", None, 404, "No such field: nope")
    hm.rejected(
        "POST",
        "/fields/",
        {"service_id": sid, "name": "flavor"},
        409,
        f"Field flavor already exists (UUID: {fid})",
    )
    hm.rejected(
        "POST",
        "/fields/",
        {"service_id": "nope", "name": "x"},
        400,
        "No such service: None (UUID: nope)",
    )
    hm.rejected("POST", "/fields/", {"name": "x"}, 400, "field/attribute service_id")
    hm.rejected("POST", "/fields/", {"service_id": sid}, 400, "field/attribute name")
    hm.rejected("POST", "/fields/", {"service_id": sid, "name": "n" * 256}, 400, "at most 255")
    hm.rejected("DELETE", "/fields/nope", None, 404, "No such field: nope")
    hm.rejected("DELETE", "/fields/", {"field_id": "nope"}, 404, "No such field: nope")


def test_service_delete_cascades_to_everything_under_it(hm: HashmapClient) -> None:
    sid = hm.service("compute")
    keep = hm.service("volume")
    fid = hm.field(sid)
    gid = hm.group()
    hm.mapping(service_id=sid, group_id=gid)
    deleted = hm.mapping(field_id=fid, value="m1.tiny")
    hm.delete(f"/mappings/{deleted['mapping_id']}")  # soft-deleted history goes too
    hm.mapping(field_id=fid, value="m1.small")
    hm.threshold(service_id=sid, level="1")
    hm.threshold(field_id=fid, level="2")
    kept = hm.mapping(service_id=keep)
    hm.delete("/services/", {"service_id": sid})
    assert hm.count(tables.hashmap_fields) == 0
    assert hm.count(tables.hashmap_thresholds) == 0
    assert hm.count(tables.hashmap_mappings) == 1
    assert hm.get(f"/mappings/{kept['mapping_id']}")["service_id"] == keep
    hm.rejected("GET", f"/mappings/{deleted['mapping_id']}", None, 404, "No such mapping")
    assert hm.get("/groups/") == {"groups": [{"group_id": gid, "name": "g1"}]}


def test_field_delete_cascades_to_its_rules(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid, "flavor")
    other = hm.field(sid, "image")
    hm.mapping(field_id=fid, value="a")
    hm.threshold(field_id=fid, level="1")
    survivor = hm.mapping(field_id=other, value="a")
    hm.delete(f"/fields/{fid}")
    assert hm.get(f"/services/{sid}/mappings") == {"mappings": []}
    assert hm.get(f"/mappings/?field_id={other}")["mappings"] == [survivor]
    assert hm.count(tables.hashmap_thresholds) == 0


def test_groups_crud_and_listings(hm: HashmapClient) -> None:
    assert hm.get("/groups") == {"groups": []}
    created = hm.post("/groups/", {"name": "g1"})
    gid = created["group_id"]
    assert created == {"group_id": gid, "name": "g1"}
    assert hm.get(f"/groups/{gid}") == created
    assert hm.get("/groups/") == {"groups": [created]}
    sid = hm.service()
    live = hm.mapping(service_id=sid, group_id=gid)
    gone = hm.mapping(service_id=sid, group_id=gid, value="", tenant_id="t1")
    hm.delete(f"/mappings/{gone['mapping_id']}")
    hm.mapping(service_id=sid, tenant_id="t2")  # no group
    threshold = hm.threshold(service_id=sid, group_id=gid, level="3")
    hm.threshold(service_id=sid, level="4")
    # Both spellings of the group listings; soft-deleted mappings are left out.
    for path in (f"/groups/mappings?group_id={gid}", f"/groups/{gid}/mappings"):
        assert hm.get(path) == {"mappings": [live]}
    for path in (f"/groups/thresholds?group_id={gid}", f"/groups/{gid}/thresholds"):
        assert hm.get(path) == {"thresholds": [threshold]}


def test_group_errors(hm: HashmapClient) -> None:
    gid = hm.group("g1")
    hm.rejected("POST", "/groups/", {"name": "g1"}, 409, f"Group g1 already exists (UUID: {gid})")
    hm.rejected("POST", "/groups/", {}, 400, "field/attribute name")
    hm.rejected("POST", "/groups/", {"name": "g" * 256}, 400, "at most 255")
    hm.rejected("GET", "/groups/nope", None, 404, "No such group: None (UUID: nope)")
    hm.rejected("GET", "/groups/mappings", None, 400, 'Missing argument: "group_id"')
    hm.rejected("GET", "/groups/mappings?group_id=nope", None, 404, "No such group")
    hm.rejected("GET", "/groups/thresholds?group_id=nope", None, 404, "No such group")
    hm.rejected("DELETE", "/groups/nope", None, 404, "No such group: None (UUID: nope)")
    hm.rejected("DELETE", "/groups/", {"group_id": gid, "recursive": "maybe"}, 400, "recursive")


@pytest.mark.parametrize("recursive", [False, True])
def test_group_delete(hm: HashmapClient, recursive: bool) -> None:
    sid = hm.service()
    gid = hm.group()
    mapping = hm.mapping(service_id=sid, group_id=gid)
    threshold = hm.threshold(service_id=sid, group_id=gid, level="1")
    hm.delete("/groups/", {"group_id": gid, "recursive": recursive})
    assert hm.get("/groups/") == {"groups": []}
    if recursive:
        assert hm.count(tables.hashmap_mappings) == hm.count(tables.hashmap_thresholds) == 0
    else:
        # The rules stay, without a group.
        assert hm.get(f"/mappings/{mapping['mapping_id']}") == {**mapping, "group_id": None}
        assert hm.get(f"/thresholds/{threshold['threshold_id']}")["group_id"] is None


def test_group_delete_by_url_without_body_is_not_recursive(hm: HashmapClient) -> None:
    sid = hm.service()
    gid = hm.group()
    hm.mapping(service_id=sid, group_id=gid)
    hm.delete(f"/groups/{gid}")
    assert hm.count(tables.hashmap_mappings) == 1
    gid = hm.group()
    hm.mapping(service_id=sid, group_id=gid, tenant_id="t")
    hm.app.delete(f"{BASE}/groups/{gid}?recursive=true", status=204)
    assert hm.count(tables.hashmap_mappings) == 1


def test_unknown_routes_and_methods(hm: HashmapClient) -> None:
    hm.app.get(BASE + "/nothing", status=[404, 405])
    hm.app.put_json(BASE + "/services/", {"name": "x"}, status=405)
    hm.app.post_json(BASE + "/types/", {}, status=405)
