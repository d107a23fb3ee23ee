"""The hashmap rules as loaded from the database: frozen values, read in bulk.

``load_ruleset`` issues one SELECT per table (the rule tables joined to their
group for its name) instead of walking services, fields and groups row by row
as upstream did for every scope and every period. Nothing here prices
anything: ``engine.py`` turns a ``RuleSet`` into effective rules.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty.db import tables

#: group name of mappings and thresholds that belong to no group
DEFAULT_GROUP = "_DEFAULT_"

FLAT = "flat"
RATE = "rate"


@dataclasses.dataclass(frozen=True, slots=True)
class Service:
    """A service: matched by name against the metric type of a frame."""

    id: int
    service_id: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    """A field of a service: matched by name against a point's attributes."""

    id: int
    field_id: str
    name: str
    #: database id of the owning service (``Service.id``)
    service_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    id: int
    group_id: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class MappingRule:
    """A flat or rate cost on a service (``value`` None) or a field value."""

    id: int
    mapping_id: str
    value: str | None
    cost: Decimal
    map_type: str
    service_id: int | None
    field_id: int | None
    group_id: int | None
    #: the group's name, None when the mapping belongs to no group
    group_name: str | None
    tenant_id: str | None
    start: datetime.datetime
    end: datetime.datetime | None = None
    deleted: datetime.datetime | None = None

    @property
    def group(self) -> str:
        """The accumulator this mapping feeds (``_DEFAULT_`` without group)."""
        return DEFAULT_GROUP if self.group_name is None else self.group_name


@dataclasses.dataclass(frozen=True, slots=True)
class ThresholdRule:
    """A cost that applies from ``level`` on (quantity or attribute value)."""

    id: int
    threshold_id: str
    level: Decimal
    cost: Decimal
    map_type: str
    service_id: int | None
    field_id: int | None
    group_id: int | None
    group_name: str | None
    tenant_id: str | None

    @property
    def group(self) -> str:
        return DEFAULT_GROUP if self.group_name is None else self.group_name


@dataclasses.dataclass(frozen=True, slots=True)
class RuleSet:
    """Every hashmap rule, each tuple ordered by database id.

    The id order is the load order, and the load order decides which of two
    rules with the same key wins (the last one), so it is part of the meaning.
    """

    services: tuple[Service, ...] = ()
    fields: tuple[Field, ...] = ()
    groups: tuple[Group, ...] = ()
    mappings: tuple[MappingRule, ...] = ()
    thresholds: tuple[ThresholdRule, ...] = ()


def load_ruleset(conn: Connection, *, include_deleted: bool = False) -> RuleSet:
    """Read all hashmap rules with five SELECTs, whatever their number.

    Soft-deleted mappings can never be effective, so they are left in the
    database unless ``include_deleted`` asks for an exact snapshot.
    """
    svc = tables.hashmap_services
    fld = tables.hashmap_fields
    grp = tables.hashmap_groups
    mpg = tables.hashmap_mappings
    thr = tables.hashmap_thresholds

    services = tuple(
        Service(id=r.id, service_id=r.service_id, name=r.name)
        for r in conn.execute(sa.select(svc.c.id, svc.c.service_id, svc.c.name).order_by(svc.c.id))
    )
    fields = tuple(
        Field(id=r.id, field_id=r.field_id, name=r.name, service_id=r.service_id)
        for r in conn.execute(
            sa.select(fld.c.id, fld.c.field_id, fld.c.name, fld.c.service_id).order_by(fld.c.id)
        )
    )
    groups = tuple(
        Group(id=r.id, group_id=r.group_id, name=r.name)
        for r in conn.execute(sa.select(grp.c.id, grp.c.group_id, grp.c.name).order_by(grp.c.id))
    )

    mapping_query = (
        sa.select(
            mpg.c.id,
            mpg.c.mapping_id,
            mpg.c.value,
            mpg.c.cost,
            mpg.c.map_type,
            mpg.c.service_id,
            mpg.c.field_id,
            mpg.c.group_id,
            grp.c.name.label("group_name"),
            mpg.c.tenant_id,
            mpg.c.start,
            mpg.c.end,
            mpg.c.deleted,
        )
        .select_from(mpg.outerjoin(grp, mpg.c.group_id == grp.c.id))
        .order_by(mpg.c.id)
    )
    if not include_deleted:
        mapping_query = mapping_query.where(mpg.c.deleted.is_(None))
    mappings = tuple(MappingRule(**r._asdict()) for r in conn.execute(mapping_query))

    threshold_query = (
        sa.select(
            thr.c.id,
            thr.c.threshold_id,
            thr.c.level,
            thr.c.cost,
            thr.c.map_type,
            thr.c.service_id,
            thr.c.field_id,
            thr.c.group_id,
            grp.c.name.label("group_name"),
            thr.c.tenant_id,
        )
        .select_from(thr.outerjoin(grp, thr.c.group_id == grp.c.id))
        .order_by(thr.c.id)
    )
    thresholds = tuple(ThresholdRule(**r._asdict()) for r in conn.execute(threshold_query))

    return RuleSet(
        services=services,
        fields=fields,
        groups=groups,
        mappings=mappings,
        thresholds=thresholds,
    )
