"""Updates of hashmap mappings: what may change, and when.

A rule that has started is history in the making: only its ``end`` may be
set, once, and never in the past. A rule that has not started yet accepts any
change but its parent. Attributes absent from the request keep their value.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping as MappingType
from typing import Any

from sqlalchemy.engine import Connection, Row

from cloudkitty import exceptions
from cloudkitty.db.engine import Database
from cloudkitty.rating.hashmap import repository as base
from cloudkitty.rating.hashmap import repository_mappings as mappings
from cloudkitty.rating.hashmap.repository_mappings import M, Mapping
from cloudkitty.utils import tz

#: attributes compared when a running rule is updated (everything but ``end``)
_COMPARED = ("value", "map_type", "cost", "group_id", "tenant_id", "start", "name", "description")


def update_mapping(
    db: Database,
    mapping_id: str,
    changes: MappingType[str, Any],
    user: str,
    now: datetime.datetime | None = None,
) -> Mapping:
    """Apply the attributes present in a PUT body (``changes``, wire names
    with ``map_type`` for ``type``; read-only attributes already removed).

    A running rule only accepts a new ``end``; a rule that has not started
    yet accepts everything but its parent. Re-sending the stored state is a
    no-op that succeeds: the client's HTTP stack repeats a PUT answered 302.
    """
    now = now or tz.utcnow()
    with base.transaction(db) as conn:
        row = mappings.fetch_row(conn, mapping_id, alive=True)
        current = mappings.to_mapping(row)
        base.check_parent_kept("mapping", current, changes)
        if current.start < now:
            values = _running_update(current, changes, now)
        else:
            values = _pending_update(conn, row, current, changes, now)
        if values is not None:
            values["updated_by"] = user
            conn.execute(M.update().where(M.c.id == row.id).values(**values))
        return mappings.to_mapping(mappings.fetch_row(conn, mapping_id, alive=True))


def _differs(current: Mapping, changes: MappingType[str, Any], attribute: str) -> bool:
    wanted = changes.get(attribute)
    return bool(wanted) and not base.same(wanted, getattr(current, attribute))


def _running_update(
    current: Mapping, changes: MappingType[str, Any], now: datetime.datetime
) -> dict[str, Any] | None:
    """The values to write on a started rule (None: nothing changes)."""
    end_changes = "end" in changes and not base.same(changes["end"], current.end)
    others = [a for a in _COMPARED if _differs(current, changes, a)]
    if current.end is not None and (end_changes or others):
        raise exceptions.InvalidInput(
            "Cannot update a rule that was already processed and has a defined end date."
        )
    if others:
        raise exceptions.InvalidInput(
            "You are allowed to update only the attribute [end] as this rule is "
            f"already running as it started on [{base.fmt_time(current.start)}]"
        )
    if not end_changes:
        return None
    end = changes["end"]
    if end is not None and tz.as_utc(end) < now:
        raise exceptions.InvalidInput(
            "End date must be in the future. "
            f"end=[{base.fmt_time(end)}] current time=[{base.fmt_time(now)}]."
        )
    return {"end": end}


def _pending_update(
    conn: Connection,
    row: Row[Any],
    current: Mapping,
    changes: MappingType[str, Any],
    now: datetime.datetime,
) -> dict[str, Any]:
    """The values to write on a rule that has not started yet."""

    def pick(attribute: str, keep_on_none: bool) -> Any:
        if attribute not in changes or (keep_on_none and changes[attribute] is None):
            return getattr(current, attribute)
        return changes[attribute]

    cost = base.check_amount("cost", pick("cost", True))
    map_type = base.check_map_type(pick("map_type", True))
    start = tz.as_utc(pick("start", True))
    end = pick("end", False)
    end = None if end is None else tz.as_utc(end)
    name = pick("name", True) or current.name
    tenant_id = pick("tenant_id", False) or None
    description = pick("description", False)
    value = pick("value", True)
    mappings.check_dates(start, end, now, force=False)
    mappings.check_texts(value, name, tenant_id, description)
    parents = base.updated_parents(conn, row, changes)
    value = mappings.check_value(parents, value)
    mappings.check_duplicates(
        conn,
        parents,
        value=value,
        tenant_id=tenant_id,
        name=name,
        start=start,
        end=end,
        exclude_pk=row.id,
    )
    return {
        "cost": cost,
        "map_type": map_type,
        "start": start,
        "end": end,
        "name": name,
        "tenant_id": tenant_id,
        "description": description,
        "value": value,
        "group_id": parents.group_pk,
    }
