"""Load a price book (YAML) into the hashmap module and enable it.

Goes through the hashmap repository, so every rule gets the checks the API
applies. Loading is idempotent: services, fields and groups are found by
name, mappings by a name derived from their key, thresholds by level and
project; a rule already present is kept as it is (a changed cost is
reported, not overwritten: rated hours must keep their price)::

    python -m cloudkitty.samples.load_pricebook --config-file cloudkitty.conf
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import decimal
import os
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import yaml

from cloudkitty import exceptions
from cloudkitty.db.engine import Database
from cloudkitty.rating import state
from cloudkitty.rating.hashmap import repository as repo
from cloudkitty.rating.hashmap import repository_mappings as mappings_repo
from cloudkitty.rating.hashmap import repository_thresholds as thresholds_repo

PRICEBOOK = os.path.join(os.path.dirname(__file__), "pricebook.yml")
#: Rules apply from the first hour of the sample cloud, so past hours are priced.
RULES_START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
USER = "quickstart"
_TYPES = ("flat", "rate")


@dataclasses.dataclass(frozen=True)
class Rule:
    """One mapping (``level`` None) or threshold of the price book."""

    service: str
    field: str | None
    value: str | None
    map_type: str
    cost: Decimal
    group: str | None = None
    tenant: str | None = None
    level: Decimal | None = None

    @property
    def label(self) -> str:
        parts = [self.service, self.field or "*", self.value or "*"]
        if self.level is not None:
            parts.append(f"level={self.level}")
        if self.group:
            parts.append(f"group={self.group}")
        if self.tenant:
            parts.append(f"tenant={self.tenant}")
        return ":".join(parts)

    @property
    def mapping_name(self) -> str:
        """The mapping's name: found again by it when loading twice."""
        return f"quickstart:{self.label}"


@dataclasses.dataclass
class LoadReport:
    created: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    #: present with another cost or type: kept, the price book is not applied
    differing: list[str] = dataclasses.field(default_factory=list)
    #: refused by the repository (e.g. clashes with a rule created by hand)
    refused: list[str] = dataclasses.field(default_factory=list)

    def describe(self) -> str:
        text = f"{len(self.created)} rules created, {len(self.unchanged)} already present"
        for label in self.differing:
            text += f"\n  kept as it is (differs from the price book): {label}"
        for reason in self.refused:
            text += f"\n  not loaded: {reason}"
        return text


# --- parsing -----------------------------------------------------------------------


def _amount(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise exceptions.ConfigError(f"{where}: {value!r} is not a number")
    try:
        # Floats go through their shortest text: 0.1 stays 0.1.
        amount = Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise exceptions.ConfigError(f"{where}: {value!r} is not a number") from None
    if not amount.is_finite():
        raise exceptions.ConfigError(f"{where}: {value!r} is not finite")
    return amount


def _rule(entry: Any, where: str, service: str, field: str | None, threshold: bool) -> Rule:
    if not isinstance(entry, Mapping):
        raise exceptions.ConfigError(f"{where}: a rule must be a mapping")
    allowed = {"cost", "type", "group", "tenant", "level" if threshold else "value"}
    unknown = sorted(set(map(str, entry)) - allowed)
    if unknown:
        raise exceptions.ConfigError(f"{where}: unknown key {unknown[0]!r}")
    map_type = entry.get("type", "flat")
    if map_type not in _TYPES:
        raise exceptions.ConfigError(f"{where}: type must be flat or rate, not {map_type!r}")
    value = entry.get("value")
    if not threshold and (value is None) != (field is None):
        need = "a value" if field else "no value"
        raise exceptions.ConfigError(
            f"{where}: a {'field' if field else 'service'} mapping has {need}"
        )
    if "cost" not in entry:
        raise exceptions.ConfigError(f"{where}: cost is required")
    level = None
    if threshold:
        if "level" not in entry:
            raise exceptions.ConfigError(f"{where}: level is required")
        level = _amount(entry["level"], f"{where} level")
    return Rule(
        service=service,
        field=field,
        value=None if value is None else str(value),
        map_type=map_type,
        cost=_amount(entry["cost"], f"{where} cost"),
        group=entry.get("group"),
        tenant=entry.get("tenant"),
        level=level,
    )


def _rules_of(node: Any, where: str, service: str, field: str | None) -> list[Rule]:
    if not isinstance(node, Mapping):
        raise exceptions.ConfigError(f"{where}: must be a mapping")
    unknown = sorted(set(map(str, node)) - {"mappings", "thresholds", "fields"})
    if unknown or (field is not None and "fields" in node):
        raise exceptions.ConfigError(f"{where}: unknown key {(unknown or ['fields'])[0]!r}")
    rules = []
    for kind in ("mappings", "thresholds"):
        entries = node.get(kind) or []
        if not isinstance(entries, list):
            raise exceptions.ConfigError(f"{where}.{kind}: must be a list")
        for index, entry in enumerate(entries):
            rules.append(
                _rule(entry, f"{where}.{kind}[{index}]", service, field, kind == "thresholds")
            )
    return rules


def parse_pricebook(data: Any, source: str = "pricebook") -> list[Rule]:
    """Validate a parsed price book; rules in file order."""
    if not isinstance(data, Mapping) or not isinstance(data.get("services"), Mapping):
        raise exceptions.ConfigError(f"{source}: expected a mapping with key 'services'")
    rules: list[Rule] = []
    for service, node in data["services"].items():
        where = f"{source}: services.{service}"
        rules.extend(_rules_of(node, where, str(service), None))
        fields = node.get("fields") or {}
        if not isinstance(fields, Mapping):
            raise exceptions.ConfigError(f"{where}.fields: must be a mapping")
        for field, field_node in fields.items():
            rules.extend(_rules_of(field_node, f"{where}.fields.{field}", str(service), str(field)))
    return rules


def read_pricebook(path: str = PRICEBOOK) -> list[Rule]:
    try:
        with open(path, encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
    except (OSError, yaml.YAMLError) as error:
        raise exceptions.ConfigError(f"{path}: cannot read: {error}") from error
    return parse_pricebook(data, path)


# --- loading -------------------------------------------------------------------------


class _Parents:
    """Services, fields and groups by name, created on first use."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.services = {s.name: s.service_id for s in repo.list_services(db)}
        self.groups = {g.name: g.group_id for g in repo.list_groups(db)}
        self.fields: dict[tuple[str, str], str] = {}

    def service(self, name: str) -> str:
        if name not in self.services:
            self.services[name] = repo.create_service(self.db, name).service_id
        return self.services[name]

    def field(self, service: str, name: str) -> str:
        service_id = self.service(service)
        if (service, name) not in self.fields:
            existing = {f.name: f.field_id for f in repo.list_fields(self.db, service_id)}
            field_id = existing.get(name) or repo.create_field(self.db, service_id, name).field_id
            self.fields[(service, name)] = field_id
        return self.fields[(service, name)]

    def group(self, name: str | None) -> str | None:
        if name is None:
            return None
        if name not in self.groups:
            self.groups[name] = repo.create_group(self.db, name).group_id
        return self.groups[name]


def _same(cost: Decimal, map_type: str, rule: Rule) -> bool:
    return cost == rule.cost and map_type == rule.map_type


def _load_mapping(db: Database, parents: _Parents, rule: Rule, report: LoadReport) -> None:
    service_id = None if rule.field else parents.service(rule.service)
    field_id = parents.field(rule.service, rule.field) if rule.field else None
    group_id = parents.group(rule.group)
    flt = mappings_repo.MappingFilter(service_id=service_id, field_id=field_id)
    for existing in mappings_repo.list_mappings(db, flt):
        if existing.name == rule.mapping_name:
            same = _same(existing.cost, existing.map_type, rule)
            (report.unchanged if same else report.differing).append(rule.label)
            return
    mappings_repo.create_mapping(
        db,
        cost=rule.cost,
        user=USER,
        map_type=rule.map_type,
        service_id=service_id,
        field_id=field_id,
        group_id=group_id,
        tenant_id=rule.tenant,
        value=rule.value,
        start=RULES_START,
        name=rule.mapping_name,
        description="quickstart price book",
        force=True,  # a start in the past: the sample month must be priced
    )
    report.created.append(rule.label)


def _load_threshold(db: Database, parents: _Parents, rule: Rule, report: LoadReport) -> None:
    assert rule.level is not None
    service_id = None if rule.field else parents.service(rule.service)
    field_id = parents.field(rule.service, rule.field) if rule.field else None
    group_id = parents.group(rule.group)
    flt = thresholds_repo.ThresholdFilter(service_id=service_id, field_id=field_id)
    for existing in thresholds_repo.list_thresholds(db, flt):
        # One threshold per level and project on a parent: that is its key.
        if existing.level == rule.level and existing.tenant_id == rule.tenant:
            same = _same(existing.cost, existing.map_type, rule)
            same = same and existing.group_id == group_id
            (report.unchanged if same else report.differing).append(rule.label)
            return
    thresholds_repo.create_threshold(
        db,
        level=rule.level,
        cost=rule.cost,
        map_type=rule.map_type,
        service_id=service_id,
        field_id=field_id,
        group_id=group_id,
        tenant_id=rule.tenant,
    )
    report.created.append(rule.label)


def load(db: Database, rules: list[Rule]) -> LoadReport:
    """Create the missing rules, then enable hashmap (keeping its priority)."""
    report = LoadReport()
    parents = _Parents(db)
    for rule in rules:
        loader = _load_mapping if rule.level is None else _load_threshold
        try:
            loader(db, parents, rule, report)
        except (exceptions.Conflict, exceptions.InvalidInput) as error:
            report.refused.append(f"{rule.label}: {error}")
    with db.begin() as conn:
        state.set_state(conn, "hashmap", enabled=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cloudkitty.samples.load_pricebook", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config-file", required=True, help="cloudkitty.conf ([database])")
    parser.add_argument("--pricebook", default=PRICEBOOK, help="YAML price book")
    parser.add_argument("--log-file", help="where logs go (default: the terminal)")
    args = parser.parse_args(argv)
    from cloudkitty import service  # the config machinery, only for the command line

    oslo_args = ["--config-file", args.config_file]
    if args.log_file:
        oslo_args += ["--log-file", args.log_file]
    conf = service.prepare_service(oslo_args)
    try:
        report = load(Database.from_conf(conf), read_pricebook(args.pricebook))
    except exceptions.CloudkittyError as error:
        print(f"load_pricebook: {error}", file=sys.stderr)
        return 1
    print(f"Price book {args.pricebook}: {report.describe()}; hashmap enabled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
