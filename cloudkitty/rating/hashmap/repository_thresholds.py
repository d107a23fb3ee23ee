"""Hashmap thresholds: a flat or rate cost that applies from a level on.

A threshold is unique per (level, parent, tenant). Unlike upstream, an update
only touches the attributes the request carries: an omitted ``type`` or
``tenant_id`` keeps its stored value instead of being reset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping as MappingType
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from cloudkitty import exceptions
from cloudkitty.db import tables
from cloudkitty.db.engine import Database
from cloudkitty.rating.hashmap import repository as base

T = base.THRESHOLDS

_LEVEL_QUANTUM = Decimal(1).scaleb(-tables.LEVEL.scale)


@dataclasses.dataclass(frozen=True, slots=True)
class Threshold:
    threshold_id: str
    level: Decimal
    map_type: str
    cost: Decimal
    service_id: str | None
    field_id: str | None
    group_id: str | None
    tenant_id: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class ThresholdFilter(base.RuleFilter):
    """``GET /thresholds`` filters; one of service, field or group is required."""


def _query() -> sa.Select[Any]:
    return base.rule_query(T, T.c.threshold_id, T.c.level, T.c.map_type, T.c.cost, T.c.tenant_id)


def _to_threshold(row: Row[Any]) -> Threshold:
    return base.row_to(Threshold, row)


def _row(conn: Connection, threshold_id: str) -> Row[Any]:
    row = conn.execute(_query().where(T.c.threshold_id == threshold_id)).first()
    if row is None:
        raise exceptions.NotFound(f"No such threshold: {threshold_id}")
    return row


def list_thresholds(db: Database, flt: ThresholdFilter) -> list[Threshold]:
    """Thresholds matching ``flt``; listing everything at once is refused
    with a 400 (upstream crashed with a 500 here)."""
    if not (flt.service_id or flt.field_id or flt.group_id):
        raise exceptions.InvalidInput(
            "You must specify either service_uuid, field_uuid or group_uuid."
        )
    query = base.filter_rules(_query(), T, flt)
    with db.connect() as conn:
        return [_to_threshold(row) for row in conn.execute(query)]


def get_threshold(db: Database, threshold_id: str) -> Threshold:
    with db.connect() as conn:
        return _to_threshold(_row(conn, threshold_id))


def get_threshold_group(db: Database, threshold_id: str) -> base.Group:
    with db.connect() as conn:
        return base.rule_group(conn, _row(conn, threshold_id), "Threshold", threshold_id)


def list_group_thresholds(db: Database, group_id: str) -> list[Threshold]:
    with db.connect() as conn:
        pk = base.get_group_pk(conn, group_id)
        return [_to_threshold(row) for row in conn.execute(_query().where(T.c.group_id == pk))]


# --- checks and writes -----------------------------------------------------------------


def _check_level(level: Decimal | None) -> Decimal:
    """A level >= 0 at the column's scale (what the database will store)."""
    level = base.check_amount("level", level, negative=False)
    return level.quantize(_LEVEL_QUANTUM)


def _check_duplicate(
    conn: Connection,
    parents: base.Parents,
    level: Decimal,
    tenant_id: str | None,
    exclude_pk: int | None = None,
) -> None:
    parent = base.same_parent(T, parents)
    # Compared in Python: NULL tenants never collide in a unique index, and
    # MySQL would compare tenant ids without case.
    rows = conn.execute(sa.select(T.c.id, T.c.level, T.c.tenant_id).where(parent))
    if any(r.id != exclude_pk and r.level == level and r.tenant_id == tenant_id for r in rows):
        raise exceptions.Conflict(
            f"Threshold '{level}' already exists for {parents.kind} "
            f"'{parents.parent_id}', tenant: '{tenant_id}'"
        )


def create_threshold(
    db: Database,
    *,
    level: Decimal | None,
    cost: Decimal | None,
    map_type: str | None = None,
    service_id: str | None = None,
    field_id: str | None = None,
    group_id: str | None = None,
    tenant_id: str | None = None,
) -> Threshold:
    level = _check_level(level)
    cost = base.check_amount("cost", cost)
    map_type = base.check_map_type(map_type)
    # An empty tenant would match no scope: it means "global" like null.
    tenant_id = tenant_id or None
    base.check_length("tenant_id", tenant_id, T.c.tenant_id)
    with base.transaction(db) as conn:
        parents = base.resolve_parents(conn, service_id, field_id, group_id)
        _check_duplicate(conn, parents, level, tenant_id)
        threshold_id = base.new_uuid()
        conn.execute(
            T.insert().values(
                threshold_id=threshold_id,
                level=level,
                cost=cost,
                map_type=map_type,
                **parents.columns(),
                tenant_id=tenant_id,
            )
        )
        return _to_threshold(_row(conn, threshold_id))


def update_threshold(db: Database, threshold_id: str, changes: MappingType[str, Any]) -> Threshold:
    """Apply the attributes present in a PUT body (wire names, ``map_type``
    for ``type``); absent ones keep their value, the parent cannot change."""
    with base.transaction(db) as conn:
        row = _row(conn, threshold_id)
        current = _to_threshold(row)
        base.check_parent_kept("threshold", current, changes)
        level = _check_level(changes.get("level", current.level))
        cost = base.check_amount("cost", changes.get("cost", current.cost))
        map_type = base.check_map_type(changes.get("map_type") or current.map_type)
        tenant_id = changes.get("tenant_id", current.tenant_id) or None
        base.check_length("tenant_id", tenant_id, T.c.tenant_id)
        parents = base.updated_parents(conn, row, changes)
        _check_duplicate(conn, parents, level, tenant_id, exclude_pk=row.id)
        conn.execute(
            T.update()
            .where(T.c.id == row.id)
            .values(
                level=level,
                cost=cost,
                map_type=map_type,
                tenant_id=tenant_id,
                group_id=parents.group_pk,
            )
        )
        return _to_threshold(_row(conn, threshold_id))


def delete_threshold(db: Database, threshold_id: str) -> None:
    with base.transaction(db) as conn:
        row = _row(conn, threshold_id)
        conn.execute(T.delete().where(T.c.id == row.id))
