"""Hashmap mappings: time-versioned flat/rate costs on a service or a field value.

A mapping is in force on ``[start, end)``. Once started it is immutable
except for setting its ``end`` (history must keep pricing what was already
rated); deletion is soft (``deleted``/``deleted_by``) so the history stays
readable by id. Each mutation is one transaction, all checks before writes.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from cloudkitty import exceptions
from cloudkitty.db.engine import Database
from cloudkitty.rating.hashmap import repository as base
from cloudkitty.utils import tz

M = base.MAPPINGS


@dataclasses.dataclass(frozen=True, slots=True)
class Mapping:
    mapping_id: str
    value: str | None
    map_type: str
    cost: Decimal
    service_id: str | None
    field_id: str | None
    group_id: str | None
    tenant_id: str | None
    created_at: datetime.datetime
    start: datetime.datetime
    end: datetime.datetime | None
    name: str
    description: str | None
    deleted: datetime.datetime | None
    created_by: str
    updated_by: str | None
    deleted_by: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class MappingFilter(base.RuleFilter):
    """``GET /mappings`` filters; None means "not filtered on"."""

    deleted: bool = False
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None
    deleted_by: str | None = None
    description: str | None = None
    is_active: bool | None = None


def _query() -> sa.Select[Any]:
    return base.rule_query(
        M,
        M.c.mapping_id,
        M.c.value,
        M.c.map_type,
        M.c.cost,
        M.c.tenant_id,
        M.c.created_at,
        M.c.start,
        M.c.end,
        M.c.name,
        M.c.description,
        M.c.deleted,
        M.c.created_by,
        M.c.updated_by,
        M.c.deleted_by,
    )


def to_mapping(row: Row[Any]) -> Mapping:
    return base.row_to(Mapping, row)


def fetch_row(conn: Connection, mapping_id: str, *, alive: bool) -> Row[Any]:
    query = _query().where(M.c.mapping_id == mapping_id)
    if alive:
        query = query.where(M.c.deleted.is_(None))
    row = conn.execute(query).first()
    if row is None:
        raise exceptions.NotFound(f"No such mapping: {mapping_id}")
    return row


def _active_at(at: datetime.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(M.c.start <= at, sa.or_(M.c.end.is_(None), M.c.end > at), M.c.deleted.is_(None))


def list_mappings(
    db: Database, flt: MappingFilter, now: datetime.datetime | None = None
) -> list[Mapping]:
    """Mappings matching ``flt``; unknown parents or groups give an empty list."""
    query = base.filter_rules(_query(), M, flt)
    if not flt.deleted:
        query = query.where(M.c.deleted.is_(None))
    if flt.start is not None:
        query = query.where(M.c.start >= flt.start)
    if flt.end is not None:
        query = query.where(M.c.end < flt.end)
    for attribute in ("created_by", "updated_by", "deleted_by"):
        value = getattr(flt, attribute)
        if value is not None:
            query = query.where(M.c[attribute] == value)
    if flt.description is not None:
        query = query.where(M.c.description.ilike(f"%{_escape_like(flt.description)}%", escape="/"))
    if flt.is_active is not None:
        active = _active_at(now or tz.utcnow())
        query = query.where(active if flt.is_active else sa.not_(active))
    with db.connect() as conn:
        return [to_mapping(row) for row in conn.execute(query)]


def _escape_like(text: str) -> str:
    # "/" rather than a backslash: MySQL treats backslashes in literals itself.
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def get_mapping(db: Database, mapping_id: str) -> Mapping:
    """One mapping, soft-deleted ones included (history stays readable)."""
    with db.connect() as conn:
        return to_mapping(fetch_row(conn, mapping_id, alive=False))


def get_mapping_group(db: Database, mapping_id: str) -> base.Group:
    with db.connect() as conn:
        row = fetch_row(conn, mapping_id, alive=False)
        return base.rule_group(conn, row, "Mapping", mapping_id)


def list_group_mappings(db: Database, group_id: str) -> list[Mapping]:
    """The live mappings of a group; 404 for an unknown group."""
    with db.connect() as conn:
        pk = base.get_group_pk(conn, group_id)
        query = _query().where(M.c.group_id == pk, M.c.deleted.is_(None))
        return [to_mapping(row) for row in conn.execute(query)]


# --- checks ----------------------------------------------------------------------------


def check_dates(
    start: datetime.datetime, end: datetime.datetime | None, now: datetime.datetime, force: bool
) -> None:
    if not force and start < now:
        raise exceptions.InvalidInput(
            "Cannot create a rule with start in the past. "
            f"start=[{base.fmt_time(start)}] current time=[{base.fmt_time(now)}]."
        )
    if end is not None and end < start:
        raise exceptions.InvalidInput(
            "Cannot create a rule with start after end. "
            f"start=[{base.fmt_time(start)}] end=[{base.fmt_time(end)}]."
        )


def check_texts(
    value: str | None, name: str | None, tenant_id: str | None, description: str | None
) -> None:
    base.check_length("value", value, M.c.value)
    base.check_length("name", name, M.c.name)
    base.check_length("tenant_id", tenant_id, M.c.tenant_id)
    base.check_length("description", description, M.c.description)


def check_value(parents: base.Parents, value: str | None) -> str | None:
    if parents.service_pk is not None:
        if value:
            raise exceptions.InvalidInput("You can't specify a value and a service_id.")
        # A service mapping has no value; store NULL whether "" or null came in.
        return None
    if not value:
        raise exceptions.InvalidInput("You must specify a value for a field mapping.")
    return value


def check_duplicates(
    conn: Connection,
    parents: base.Parents,
    *,
    value: str | None,
    tenant_id: str | None,
    name: str,
    start: datetime.datetime,
    end: datetime.datetime | None,
    exclude_pk: int | None = None,
) -> None:
    """409 when a live mapping has this name, or the same key and an
    overlapping validity period.

    Periods are half-open ``[start, end)`` as the rating reads them, so a
    rule may start exactly when its predecessor ends. Values, names and
    tenants are compared in Python: MySQL compares text without case.
    """
    parent = base.same_parent(M, parents)
    overlap = sa.or_(M.c.end.is_(None), M.c.end > start)
    if end is not None:
        overlap = sa.and_(overlap, M.c.start < end)
    same_key = sa.and_(
        M.c.deleted.is_(None),
        parent,
        M.c.group_id.is_(None) if parents.group_pk is None else M.c.group_id == parents.group_pk,
        overlap,
    )
    keyed = conn.execute(sa.select(M.c.id, M.c.value, M.c.tenant_id).where(same_key))
    clash = any(r.id != exclude_pk and r.value == value and r.tenant_id == tenant_id for r in keyed)
    if not clash:
        named = conn.execute(
            sa.select(M.c.id, M.c.name).where(M.c.deleted.is_(None), M.c.name == name)
        )
        clash = any(r.id != exclude_pk and r.name == name for r in named)
    if clash:
        raise exceptions.Conflict(
            f"Mapping '{value}' already exists for {parents.kind} "
            f"'{parents.parent_id}', tenant: '{tenant_id}'"
        )


# --- writes ------------------------------------------------------------------------------


def create_mapping(
    db: Database,
    *,
    cost: Decimal | None,
    user: str,
    map_type: str | None = None,
    service_id: str | None = None,
    field_id: str | None = None,
    group_id: str | None = None,
    tenant_id: str | None = None,
    value: str | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    name: str | None = None,
    description: str | None = None,
    force: bool = False,
    now: datetime.datetime | None = None,
) -> Mapping:
    """Create a mapping after every check of the v1 contract (in its order)."""
    now = now or tz.utcnow()
    cost = base.check_amount("cost", cost)
    map_type = base.check_map_type(map_type)
    end = None if end is None else tz.as_utc(end)
    if start is None:
        check_dates(now, end, now, force)
        # The rule applies from the second it is created in: a quote or a
        # rating pass evaluated at that whole second already sees it.
        start = now.replace(microsecond=0)
    else:
        start = tz.as_utc(start)
        check_dates(start, end, now, force)
    name = name or uuid.uuid4().hex
    # An empty tenant would match no scope: it means "global" like null.
    tenant_id = tenant_id or None
    check_texts(value, name, tenant_id, description)
    with base.transaction(db) as conn:
        parents = base.resolve_parents(conn, service_id, field_id, group_id)
        value = check_value(parents, value)
        check_duplicates(
            conn, parents, value=value, tenant_id=tenant_id, name=name, start=start, end=end
        )
        mapping_id = base.new_uuid()
        conn.execute(
            M.insert().values(
                mapping_id=mapping_id,
                value=value,
                cost=cost,
                map_type=map_type,
                **parents.columns(),
                tenant_id=tenant_id,
                name=name,
                created_at=now,
                start=start,
                end=end,
                description=description,
                created_by=user,
            )
        )
        return to_mapping(fetch_row(conn, mapping_id, alive=True))


def delete_mapping(
    db: Database, mapping_id: str, user: str, now: datetime.datetime | None = None
) -> None:
    """Soft delete: the mapping stops applying but stays readable by id."""
    with base.transaction(db) as conn:
        row = fetch_row(conn, mapping_id, alive=True)
        conn.execute(
            M.update().where(M.c.id == row.id).values(deleted=now or tz.utcnow(), deleted_by=user)
        )
