"""Hashmap v1 API: thresholds (creation, filters, partial updates, delete)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.rating.hashmap.test_api_support import BASE, HashmapClient, cost, level


@pytest.fixture(scope="module")
def _client(tmp_path_factory: pytest.TempPathFactory) -> HashmapClient:
    return HashmapClient(str(tmp_path_factory.mktemp("hashmap_thresholds")))


@pytest.fixture
def hm(_client: HashmapClient) -> Iterator[HashmapClient]:
    _client.reset()
    yield _client


def test_create_and_get(hm: HashmapClient) -> None:
    sid = hm.service()
    created = hm.post("/thresholds/", {"level": "4", "cost": 0.5, "service_id": sid})
    tid = created["threshold_id"]
    assert created == {
        "threshold_id": tid,
        "level": "4.00000000",
        "type": "flat",
        "cost": "0.5000000000000000000000000000",
        "service_id": sid,
        "field_id": None,
        "group_id": None,
        "tenant_id": None,
    }
    assert hm.get(f"/thresholds/{tid}") == created
    fid = hm.field(sid)
    gid = hm.group()
    # The client's body: every key, nulls explicit.
    full = hm.post(
        "/thresholds/",
        {
            "level": 64,
            "cost": "-0.1",
            "type": "rate",
            "service_id": None,
            "field_id": fid,
            "group_id": gid,
            "tenant_id": "t1",
        },
    )
    assert (full["level"], full["cost"], full["type"]) == (level("64"), cost("-0.1"), "rate")
    assert (full["field_id"], full["group_id"], full["tenant_id"]) == (fid, gid, "t1")
    hm.rejected("GET", "/thresholds/nope", None, 404, "No such threshold: nope")


def test_create_errors(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid)
    hm.threshold(service_id=sid, level="4")
    cases = [
        (
            {"cost": 1, "service_id": sid},
            400,
            "Invalid input for field/attribute level. Value: 'None'. Mandatory field missing.",
        ),
        ({"level": 1, "service_id": sid}, 400, "field/attribute cost. Value: 'None'. Mandatory"),
        ({"level": "-1", "cost": 1, "service_id": sid}, 400, "Value must not be negative."),
        ({"level": "x", "cost": 1, "service_id": sid}, 400, "field/attribute level"),
        ({"level": "NaN", "cost": 1, "service_id": sid}, 400, "field/attribute level"),
        ({"level": "1e13", "cost": 1, "service_id": sid}, 400, "at most 12 integer digits"),
        ({"level": 1, "cost": 1}, 400, "You must specify one parent."),
        ({"level": 1, "cost": 1, "service_id": sid, "field_id": fid}, 400, "only specify one"),
        ({"level": 1, "cost": 1, "service_id": "nope"}, 400, "No such service: None (UUID: nope)"),
        ({"level": 1, "cost": 1, "field_id": "nope"}, 400, "No such field: nope"),
        ({"level": 1, "cost": 1, "service_id": sid, "group_id": "x"}, 400, "No such group"),
        ({"level": 1, "cost": 1, "service_id": sid, "type": "fail"}, 400, "one of"),
        ({"level": 1, "cost": 1, "service_id": sid, "value": "v"}, 400, "Unknown attribute"),
        (
            {"level": "4.000000001", "cost": 1, "service_id": sid},
            409,
            f"Threshold '4.00000000' already exists for service '{sid}', tenant: 'None'",
        ),
    ]
    for body, status, message in cases:
        hm.rejected("POST", "/thresholds/", body, status, message)
    # Unique per (level, parent, tenant): these are all fine.
    hm.threshold(service_id=sid, level="4", tenant_id="t1")
    hm.threshold(field_id=fid, level="4")
    hm.rejected(
        "POST",
        "/thresholds/",
        {"level": 4, "cost": 1, "field_id": fid},
        409,
        f"Threshold '4.00000000' already exists for field '{fid}', tenant: 'None'",
    )


def test_list_filters(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid)
    gid = hm.group()
    a = hm.threshold(service_id=sid, level="1", group_id=gid)
    b = hm.threshold(service_id=sid, level="2", tenant_id="t1")
    c = hm.threshold(field_id=fid, level="3", group_id=gid)

    def ids(query: str) -> list[str]:
        return [t["threshold_id"] for t in hm.get(f"/thresholds/{query}")["thresholds"]]

    assert ids(f"?service_id={sid}") == [a["threshold_id"], b["threshold_id"]]
    assert ids(f"?field_id={fid}") == [c["threshold_id"]]
    assert ids(f"?service_id={sid}&field_id={fid}") == [a["threshold_id"], b["threshold_id"]]
    assert ids(f"?group_id={gid}") == [a["threshold_id"], c["threshold_id"]]
    assert ids(f"?service_id={sid}&no_group=true") == [b["threshold_id"]]
    assert ids(f"?service_id={sid}&filter_tenant=true") == [a["threshold_id"]]
    assert ids(f"?service_id={sid}&filter_tenant=true&tenant_id=t1") == [b["threshold_id"]]
    assert ids("?service_id=unknown") == []
    # Upstream crashed with a 500 here; a filter is required, so this is a 400.
    for query in ("", "?no_group=true", "?tenant_id=t1&filter_tenant=true"):
        hm.rejected(
            "GET",
            f"/thresholds/{query}",
            None,
            400,
            "You must specify either service_uuid, field_uuid or group_uuid.",
        )


def test_group_of_threshold(hm: HashmapClient) -> None:
    sid = hm.service()
    gid = hm.group("g1")
    grouped = hm.threshold(service_id=sid, level="1", group_id=gid)
    plain = hm.threshold(service_id=sid, level="2")
    assert hm.get(f"/thresholds/group?threshold_id={grouped['threshold_id']}") == {
        "group_id": gid,
        "name": "g1",
    }
    hm.rejected(
        "GET",
        f"/thresholds/group?threshold_id={plain['threshold_id']}",
        None,
        404,
        f"Threshold has no group (UUID: {plain['threshold_id']})",
    )
    hm.rejected("GET", "/thresholds/group?threshold_id=x", None, 404, "No such threshold: x")


def test_update_keeps_what_the_body_omits(hm: HashmapClient) -> None:
    sid = hm.service()
    gid = hm.group()
    created = hm.threshold(service_id=sid, level="4", type="rate", tenant_id="t1", group_id=gid)
    tid = created["threshold_id"]
    # The client's form: full object, collection URL.
    response = hm.put("/thresholds/", {**created, "cost": "0.7"})
    assert response.headers["Location"] == f"http://localhost{BASE}/thresholds/{tid}"
    assert hm.get(f"/thresholds/{tid}") == {**created, "cost": cost("0.7")}
    # Upstream reset an omitted type to flat and tenant to null: not any more.
    hm.put(f"/thresholds/{tid}", {"level": "5"})
    assert hm.get(f"/thresholds/{tid}") == {**created, "cost": cost("0.7"), "level": level("5")}
    # Explicit nulls: tenant and group cleared, type kept.
    hm.put(f"/thresholds/{tid}", {"tenant_id": None, "group_id": None, "type": None})
    after = hm.get(f"/thresholds/{tid}")
    assert (after["tenant_id"], after["group_id"], after["type"]) == (None, None, "rate")
    hm.put(f"/thresholds/{tid}", {"group_id": gid, "type": "flat"})
    after = hm.get(f"/thresholds/{tid}")
    assert (after["group_id"], after["type"]) == (gid, "flat")
    # A repeated identical PUT (the client follows the 302 with it) is harmless.
    hm.put(f"/thresholds/{tid}", after)
    assert hm.get(f"/thresholds/{tid}") == after


def test_update_errors(hm: HashmapClient) -> None:
    sid = hm.service()
    fid = hm.field(sid)
    hm.threshold(service_id=sid, level="1")
    target = hm.threshold(service_id=sid, level="2")
    path = f"/thresholds/{target['threshold_id']}"
    cases = [
        ({"level": "-2"}, 400, "Value must not be negative."),
        ({"level": None}, 400, "field/attribute level. Value: 'None'. Mandatory"),
        ({"cost": "abc"}, 400, "field/attribute cost"),
        ({"type": "fail"}, 400, "one of"),
        ({"group_id": "nope"}, 400, "No such group"),
        ({"field_id": fid}, 400, "The field_id of a threshold cannot be changed"),
        ({"foo": 1}, 400, "Unknown attribute for argument threshold: foo"),
        ({"tenant_id": "t" * 256}, 400, "tenant_id"),
        ({"level": "1"}, 409, f"Threshold '1.00000000' already exists for service '{sid}'"),
    ]
    for body, status, message in cases:
        hm.rejected("PUT", path, body, status, message)
    hm.rejected("PUT", "/thresholds/", {"cost": 1}, 400, 'Missing argument: "threshold_id"')
    hm.rejected("PUT", "/thresholds/nope", {"cost": 1}, 404, "No such threshold: nope")


def test_delete(hm: HashmapClient) -> None:
    sid = hm.service()
    first = hm.threshold(service_id=sid, level="1")
    second = hm.threshold(service_id=sid, level="2")
    hm.delete(f"/thresholds/{first['threshold_id']}")
    hm.delete("/thresholds/", {"threshold_id": second["threshold_id"]})
    assert hm.get(f"/thresholds/?service_id={sid}") == {"thresholds": []}
    hm.rejected("DELETE", f"/thresholds/{first['threshold_id']}", None, 404, "No such threshold")
    hm.rejected("DELETE", "/thresholds/", {"threshold_id": "x"}, 404, "No such threshold: x")
