"""Acceptance: the real ``cloudkitty`` and ``openstack rating`` CLIs drive the
whole hashmap API of a live ``cloudkitty-api`` on SQLite, PostgreSQL and MariaDB.

One API process per backend (module-scoped). Every hashmap command runs once
per backend; which of the two CLIs runs it swaps between backends, so each
command goes through both CLIs over the run while a backend costs ~30 CLI
calls. Values are read back exactly as written (``0.1`` is
``"0.1000000000000000000000000000"``, never float noise). Operations the CLIs
lack (group of a mapping/threshold, quote) use the official Python client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from cloudkittyclient import client as ck_client
from cloudkittyclient.auth import CloudKittyNoAuthPlugin

from cloudkitty.db import engine as ck_engine
from cloudkitty.db import tables
from tests.conftest import BACKENDS, truncate_all
from tests.functional.services.api_server import Cli, running_api

# ~35 CLI processes per backend: about a minute each.
pytestmark = pytest.mark.slow


def cost(text: str) -> str:
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(28, '0')}"


@dataclasses.dataclass
class Live:
    """A running API, its database, both CLIs and the Python client."""

    backend: str
    db_url: str
    endpoint: str
    cli: Cli
    client: Any
    #: the CLI running "A" commands on this backend; "B" commands use the other
    a: str
    b: str

    def run(self, tool: str, *args: str) -> Any:
        """Run a command; tables come back as parsed ``-f json`` output."""
        if "delete" in args[:3]:  # the delete commands print nothing
            return self.cli.run(*args, tool=tool)
        return self.cli.run(*args, "-f", "json", tool=tool)

    def fail(self, tool: str, *args: str) -> str:
        """Run a command that must fail; return what it printed."""
        result = self.cli.run(*args, tool=tool, check=False)
        assert result.returncode != 0, result.stdout
        return str(result.stdout + result.stderr)

    @property
    def hashmap(self) -> Any:
        return self.client.rating.hashmap


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, migrated_db_urls: dict[str, str]) -> Iterator[Live]:
    backend = request.param
    url = migrated_db_urls[backend]
    truncate_all(url)
    with running_api(url, migrate_db=False) as endpoint:
        client = ck_client.Client("1", auth=CloudKittyNoAuthPlugin(endpoint=endpoint))
        a, b = (
            ("openstack", "cloudkitty") if backend == "postgresql" else ("cloudkitty", "openstack")
        )
        yield Live(backend, url, endpoint, Cli(endpoint), client, a, b)


@pytest.fixture
def hm(live: Live) -> Live:
    """The live API with empty hashmap tables and the hashmap module disabled."""
    with ck_engine.get_engine(live.db_url).begin() as conn:
        for table in (
            tables.hashmap_thresholds,
            tables.hashmap_mappings,
            tables.hashmap_fields,
            tables.hashmap_services,
            tables.hashmap_groups,
        ):
            conn.execute(table.delete())
        conn.execute(tables.modules_state.delete().where(tables.modules_state.c.name == "hashmap"))
    return live


def _one(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def test_services_fields_groups(hm: Live) -> None:
    a, b = hm.a, hm.b
    assert hm.run(a, "hashmap", "mapping-types", "list") == [
        {"Mapping types": "flat"},
        {"Mapping types": "rate"},
    ]
    compute = _one(hm.run(a, "hashmap", "service", "create", "compute"))
    sid = compute["Service ID"]
    assert compute == {"Name": "compute", "Service ID": sid}
    volume = _one(hm.run(b, "hashmap", "service", "create", "volume"))
    assert hm.run(b, "hashmap", "service", "list") == [compute, volume]
    assert hm.run(a, "hashmap", "service", "get", sid) == [compute]

    field = _one(hm.run(b, "hashmap", "field", "create", sid, "flavor"))
    fid = field["Field ID"]
    assert field == {"Name": "flavor", "Field ID": fid, "Service ID": sid}
    assert hm.run(a, "hashmap", "field", "list", sid) == [field]
    assert hm.run(b, "hashmap", "field", "get", fid) == [field]

    group = _one(hm.run(a, "hashmap", "group", "create", "g1"))
    assert group == {"Name": "g1", "Group ID": group["Group ID"]}
    assert hm.run(b, "hashmap", "group", "list") == [group]

    hm.run(a, "hashmap", "field", "delete", fid)
    assert hm.hashmap.get_field(service_id=sid) == {"fields": []}
    hm.run(b, "hashmap", "service", "delete", volume["Service ID"])
    assert hm.hashmap.get_service() == {"services": [{"service_id": sid, "name": "compute"}]}
    hm.run(a, "hashmap", "group", "delete", group["Group ID"])
    assert hm.hashmap.get_group() == {"groups": []}
    assert "No such service: None (UUID: nope)" in hm.fail(b, "hashmap", "service", "get", "nope")


def test_mappings(hm: Live) -> None:
    a, b = hm.a, hm.b
    sid = hm.hashmap.create_service(name="compute")["service_id"]
    fid = hm.hashmap.create_field(service_id=sid, name="flavor")["field_id"]
    gid = hm.hashmap.create_group(name="g1")["group_id"]

    running = _one(
        hm.run(a, "hashmap", "mapping", "create", "--field-id", fid, "--value", "m1.tiny",
               "-g", gid, "0.1")
    )  # fmt: skip
    mid = running["Mapping ID"]
    assert running["Cost"] == "0.1000000000000000000000000000"
    assert (running["Value"], running["Type"], running["Group ID"]) == ("m1.tiny", "flat", gid)
    assert (running["Field ID"], running["Service ID"], running["Project ID"]) == (fid, None, None)
    # Stored digit for digit on this backend too (SQLite included).
    with ck_engine.get_engine(hm.db_url).connect() as conn:
        stored = conn.execute(
            sa.select(tables.hashmap_mappings.c.cost).where(
                tables.hashmap_mappings.c.mapping_id == mid
            )
        ).scalar_one()
    assert str(stored) == "0.1" + "0" * 27

    pending = _one(
        hm.run(b, "hashmap", "mapping", "create", "-s", sid, "-t", "rate", "-p", "tenant-x",
               "--start", "2999-01-01", "--end", "2999-12-31", "--name", "pending-rule",
               "--description", "later", "1.5")
    )  # fmt: skip
    pid = pending["Mapping ID"]
    assert pending["Cost"] == cost("1.5")
    assert pending["Mapping Start Date"] == "2999-01-01T00:00:00"
    assert pending["Mapping End Date"] == "2999-12-31T23:59:59"
    assert (pending["Mapping Name"], pending["Type"], pending["Project ID"]) == (
        "pending-rule",
        "rate",
        "tenant-x",
    )

    listed = hm.run(a, "hashmap", "mapping", "list", "-s", sid)
    assert [m["Mapping ID"] for m in listed] == [pid]
    listed = hm.run(b, "hashmap", "mapping", "list", "--field-id", fid, "-g", gid)
    assert [m["Mapping ID"] for m in listed] == [mid]
    listed = hm.run(a, "hashmap", "mapping", "list", "-s", sid, "-p", "other", "--filter-tenant")
    assert listed == []
    got = _one(hm.run(b, "hashmap", "mapping", "get", mid))
    assert got == {k: running[k] for k in got}

    # A rule that has not started takes any change; a running one only an end.
    updated = _one(hm.run(a, "hashmap", "mapping", "update", pid, "--cost", "0.25"))
    assert updated["Cost"] == "0.2500000000000000000000000000"
    refused = hm.fail(b, "hashmap", "mapping", "update", mid, "--cost", "9")
    assert "You are allowed to update only the attribute [end] as this rule is already " in refused
    hm.run(a, "hashmap", "mapping", "update", mid, "--end", "2999-01-01")
    stored = hm.hashmap.get_mapping(mapping_id=mid)
    assert stored["end"] == "2999-01-01T23:59:59"
    assert stored["cost"] == "0.1000000000000000000000000000"
    assert stored["updated_by"] == "unknown"
    assert hm.hashmap.get_mapping(mapping_id=pid)["description"] == "later"

    in_group = hm.run(b, "hashmap", "group", "mappings", "get", gid)
    assert [m["Mapping ID"] for m in in_group] == [mid]
    assert hm.hashmap.get_mapping_group(mapping_id=mid) == {"group_id": gid, "name": "g1"}

    hm.run(a, "hashmap", "mapping", "delete", mid)
    deleted = hm.hashmap.get_mapping(mapping_id=mid)
    assert deleted["deleted"] is not None and deleted["deleted_by"] == "unknown"
    assert hm.hashmap.get_group_mappings(group_id=gid) == {"mappings": []}


def test_thresholds(hm: Live) -> None:
    a, b = hm.a, hm.b
    sid = hm.hashmap.create_service(name="volume.size")["service_id"]
    fid = hm.hashmap.create_field(service_id=sid, name="size")["field_id"]
    gid = hm.hashmap.create_group(name="volume_thresholds")["group_id"]

    first = _one(hm.run(a, "hashmap", "threshold", "create", "-s", sid, "-g", gid, "50", "0.98"))
    tid = first["Threshold ID"]
    assert first == {
        "Threshold ID": tid,
        "Level": "50.00000000",
        "Cost": cost("0.98"),
        "Type": "flat",
        "Field ID": None,
        "Service ID": sid,
        "Group ID": gid,
        "Project ID": None,
    }
    second = _one(
        hm.run(b, "hashmap", "threshold", "create", "--field-id", fid, "-t", "rate", "-p", "T2",
               "64", "0.1")
    )  # fmt: skip
    assert (second["Type"], second["Project ID"], second["Cost"]) == ("rate", "T2", cost("0.1"))
    assert hm.run(b, "hashmap", "threshold", "list", "-s", sid) == [first]
    assert hm.run(a, "hashmap", "threshold", "get", tid) == [first]

    # Only what is given changes (upstream reset the type and the tenant).
    updated = _one(
        hm.run(b, "hashmap", "threshold", "update", tid, "--cost", "0.97", "--level", "40")
    )
    assert updated == {**first, "Cost": cost("0.97"), "Level": "40.00000000"}
    other = _one(hm.run(a, "hashmap", "threshold", "update", second["Threshold ID"], "-l", "128"))
    assert other == {**second, "Level": "128.00000000"}
    assert hm.run(a, "hashmap", "group", "thresholds", "get", gid) == [updated]
    assert hm.hashmap.get_threshold_group(threshold_id=tid)["name"] == "volume_thresholds"

    hm.run(b, "hashmap", "threshold", "delete", second["Threshold ID"])
    assert hm.hashmap.get_threshold(field_id=fid) == {"thresholds": []}
    # Deleting the group recursively takes its rules along.
    hm.hashmap.create_mapping(service_id=sid, group_id=gid, cost="0.001")
    hm.run(a, "hashmap", "group", "delete", "--recursive", gid)
    assert hm.hashmap.get_threshold(service_id=sid) == {"thresholds": []}
    assert hm.hashmap.get_mapping(service_id=sid) == {"mappings": []}


def _quote(hm: Live, **desc: Any) -> Any:
    return hm.client.rating.get_quotation(
        res_data=[{"service": "instance", "desc": desc, "volume": "2"}]
    )


def _set_module(hm: Live, tool: str | None, *args: str) -> list[dict[str, Any]]:
    if tool is not None:
        return list(hm.run(tool, "module", *args))
    command, module, *rest = args
    if command == "set":
        hm.client.rating.update_module(module_id=rest[0], priority=int(rest[1]))
    else:
        hm.client.rating.update_module(module_id=module, enabled=command == "enable")
    module_state = hm.client.rating.get_module(module_id=args[-1] if command != "set" else rest[0])
    return [
        {
            "Module": module_state["module_id"],
            "Enabled": module_state["enabled"],
            "Priority": module_state["priority"],
        }
    ]


def test_quote_prices_with_the_rules_of_the_cli(hm: Live) -> None:
    a, b = hm.a, hm.b
    sid = _one(hm.run(a, "hashmap", "service", "create", "instance"))["Service ID"]
    flavor = _one(hm.run(b, "hashmap", "field", "create", sid, "flavor_name"))["Field ID"]
    image = hm.hashmap.create_field(service_id=sid, name="image_id")["field_id"]
    hm.run(a, "hashmap", "mapping", "create", "--field-id", flavor, "--value", "m1.small", "0.5")
    hm.hashmap.create_mapping(field_id=image, value="win", cost="1.2", type="rate")

    # Module switches through the CLI once (SQLite run); the client elsewhere.
    tool = a if hm.backend == "sqlite" else None
    assert _quote(hm, flavor_name="m1.small", image_id="win") == 0  # disabled
    assert _set_module(hm, tool, "enable", "hashmap") == [
        {"Module": "hashmap", "Enabled": True, "Priority": 1}
    ]
    assert _set_module(hm, tool, "set", "priority", "hashmap", "5")[0]["Priority"] == 5
    if tool is not None:
        listed = {m["Module"]: m for m in hm.run(b, "module", "list")}
        assert listed["hashmap"] == {"Module": "hashmap", "Enabled": True, "Priority": 5}
    try:
        # 0.5 (flat) x 1.2 (rate) x 2 units, exactly.
        assert _quote(hm, flavor_name="m1.small", image_id="win") == 1.2
        assert _quote(hm, metadata={"flavor_name": "m1.small"}) == 1
        assert _quote(hm, flavor_name="m1.large") == 0
    finally:
        disabled = _set_module(hm, tool, "disable", "hashmap")
    assert disabled[0]["Enabled"] is False
    assert _quote(hm, flavor_name="m1.small", image_id="win") == 0
