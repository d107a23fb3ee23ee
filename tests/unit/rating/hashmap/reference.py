"""A naive hashmap pricer written from CONTRACT 3.3's prose, to check the engine.

It shares nothing with ``cloudkitty.rating.hashmap.engine``: for every point it
walks the whole rule set again, loads the rules layer by layer exactly as the
contract describes, and fills one accumulator per group. Slow on purpose, so
it is easy to read against the text. ``RuleSetBuilder`` makes rule sets for
the tests without a database.
"""

from __future__ import annotations

import datetime
import decimal
from decimal import Decimal
from typing import Any

from cloudkitty.dataframe import DataPoint
from cloudkitty.rating.hashmap.ruleset import (
    Field,
    Group,
    MappingRule,
    RuleSet,
    Service,
    ThresholdRule,
)

UTC = datetime.timezone.utc
LONG_AGO = datetime.datetime(1970, 1, 1, tzinfo=UTC)


class RuleSetBuilder:
    """Builds a ``RuleSet`` in memory; ids increase in call order like the DB's."""

    def __init__(self) -> None:
        self._next = 0
        self.services: list[Service] = []
        self.fields: list[Field] = []
        self.groups: list[Group] = []
        self.mappings: list[MappingRule] = []
        self.thresholds: list[ThresholdRule] = []

    def _id(self) -> int:
        self._next += 1
        return self._next

    def service(self, name: str) -> int:
        sid = self._id()
        self.services.append(Service(id=sid, service_id=f"svc-{sid}", name=name))
        return sid

    def field(self, service: int, name: str) -> int:
        fid = self._id()
        self.fields.append(Field(id=fid, field_id=f"fld-{fid}", name=name, service_id=service))
        return fid

    def group(self, name: str) -> int:
        gid = self._id()
        self.groups.append(Group(id=gid, group_id=f"grp-{gid}", name=name))
        return gid

    def _group_name(self, group: int | None) -> str | None:
        if group is None:
            return None
        return next(g.name for g in self.groups if g.id == group)

    def mapping(
        self,
        cost: str | Decimal,
        map_type: str = "flat",
        *,
        service: int | None = None,
        field: int | None = None,
        value: str | None = None,
        group: int | None = None,
        tenant: str | None = None,
        start: datetime.datetime = LONG_AGO,
        end: datetime.datetime | None = None,
        deleted: datetime.datetime | None = None,
    ) -> int:
        mid = self._id()
        self.mappings.append(
            MappingRule(
                id=mid,
                mapping_id=f"map-{mid}",
                value=value,
                cost=Decimal(cost),
                map_type=map_type,
                service_id=service,
                field_id=field,
                group_id=group,
                group_name=self._group_name(group),
                tenant_id=tenant,
                start=start,
                end=end,
                deleted=deleted,
            )
        )
        return mid

    def threshold(
        self,
        level: str | int | Decimal,
        cost: str | Decimal,
        map_type: str = "flat",
        *,
        service: int | None = None,
        field: int | None = None,
        group: int | None = None,
        tenant: str | None = None,
    ) -> int:
        tid = self._id()
        self.thresholds.append(
            ThresholdRule(
                id=tid,
                threshold_id=f"thr-{tid}",
                level=Decimal(level),
                cost=Decimal(cost),
                map_type=map_type,
                service_id=service,
                field_id=field,
                group_id=group,
                group_name=self._group_name(group),
                tenant_id=tenant,
            )
        )
        return tid

    def build(self) -> RuleSet:
        return RuleSet(
            services=tuple(self.services),
            fields=tuple(self.fields),
            groups=tuple(self.groups),
            mappings=tuple(self.mappings),
            thresholds=tuple(self.thresholds),
        )


# ---------------------------------------------------------------------------
# The reference pricer


def _group(rule: Any) -> str:
    if rule.group_name is None:
        return "_DEFAULT_"
    return rule.group_name


def _mapping_is_active(mapping: MappingRule, at: datetime.datetime) -> bool:
    if mapping.deleted is not None:
        return False
    if mapping.start > at:
        return False
    if mapping.end is not None and mapping.end <= at:
        return False
    return True


def _load(rules: list, scope_id: str | None, key: Any) -> dict:
    """Global rules first, then the scope's; a later rule replaces the same key."""
    loaded = {}
    layers: list[str | None] = [None]
    if scope_id is not None:
        layers.append(scope_id)
    for layer in layers:
        for rule in sorted(rules, key=lambda r: r.id):
            if rule.tenant_id == layer:
                loaded[key(rule)] = rule
    return loaded


def reference_price(
    rules: RuleSet,
    metric_type: str,
    point: DataPoint,
    scope_id: str | None,
    at: datetime.datetime,
) -> Decimal:
    """The point's new price per CONTRACT 3.3, steps 1 to 6."""
    with decimal.localcontext(decimal.Context(prec=100)):
        return point.price + _added_price(rules, metric_type, point, scope_id, at)


def _added_price(
    rules: RuleSet,
    metric_type: str,
    point: DataPoint,
    scope_id: str | None,
    at: datetime.datetime,
) -> Decimal:
    # Step 1: the metric type must be a hashmap service.
    service = None
    for candidate in rules.services:
        if candidate.name == metric_type:
            service = candidate
    if service is None:
        return Decimal(0)

    # Loading.
    active = [m for m in rules.mappings if _mapping_is_active(m, at)]
    service_mappings = _load(
        [m for m in active if m.service_id == service.id],
        scope_id,
        lambda m: _group(m),
    )
    service_thresholds = _load(
        [t for t in rules.thresholds if t.service_id == service.id],
        scope_id,
        lambda t: (_group(t), t.level),
    )
    fields = []
    for field in sorted(rules.fields, key=lambda f: f.id):
        if field.service_id != service.id:
            continue
        field_mappings = _load(
            [m for m in active if m.field_id == field.id and m.value is not None],
            scope_id,
            lambda m: (_group(m), m.value),
        )
        field_thresholds = _load(
            [t for t in rules.thresholds if t.field_id == field.id],
            scope_id,
            lambda t: (_group(t), t.level),
        )
        fields.append((field, field_mappings, field_thresholds))

    accumulators: dict[str, dict[str, Any]] = {}

    def accumulator(group: str) -> dict[str, Any]:
        if group not in accumulators:
            accumulators[group] = {
                "flat": Decimal(0),
                "rate": Decimal(1),
                "threshold": {
                    "level": Decimal(-1),
                    "cost": Decimal(0),
                    "type": "flat",
                    "scope": "field",
                },
            }
        return accumulators[group]

    def apply_mapping(mapping: MappingRule) -> None:
        acc = accumulator(_group(mapping))
        if mapping.map_type == "rate":
            acc["rate"] = acc["rate"] * mapping.cost
        else:
            acc["flat"] = max(acc["flat"], mapping.cost)

    def offer_threshold(threshold: ThresholdRule, scope: str) -> None:
        acc = accumulator(_group(threshold))
        if threshold.level > acc["threshold"]["level"]:
            acc["threshold"] = {
                "level": threshold.level,
                "cost": threshold.cost,
                "type": threshold.map_type,
                "scope": scope,
            }

    qty = point.qty
    desc = dict(point.metadata)
    desc.update(point.groupby)

    # Step 2: service mappings.
    for mapping in service_mappings.values():
        apply_mapping(mapping)
    # Step 3: service thresholds compared with the quantity.
    for threshold in service_thresholds.values():
        if threshold.level <= qty:
            offer_threshold(threshold, "service")
    # Step 4: fields present in the point's attributes.
    for field, field_mappings, field_thresholds in fields:
        if field.name not in desc:
            continue
        value = desc[field.name]
        for mapping in field_mappings.values():
            if mapping.value == str(value):
                apply_mapping(mapping)
        if field_thresholds:
            # Our documented choice: a non-numeric value makes this field's
            # thresholds not apply (upstream aborted the run).
            try:
                number = Decimal(str(value))
            except decimal.InvalidOperation:
                continue
            if not number.is_finite():
                continue
            for threshold in field_thresholds.values():
                if threshold.level <= number:
                    offer_threshold(threshold, "field")

    # Steps 5 and 6.
    total = Decimal(0)
    for acc in accumulators.values():
        flat = acc["flat"]
        rate = acc["rate"]
        threshold = acc["threshold"]
        if threshold["scope"] == "field":
            if threshold["type"] == "flat":
                flat = flat + threshold["cost"]
            else:
                rate = rate * threshold["cost"]
        group_price = rate * flat * qty
        if threshold["scope"] == "service":
            if threshold["type"] == "flat":
                group_price = group_price + threshold["cost"]
            else:
                group_price = group_price * threshold["cost"]
        total = total + group_price
    return total
