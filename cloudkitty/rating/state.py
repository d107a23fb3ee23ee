"""Which rating modules are enabled, and in which order (table modules_state)."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty.db import tables

DEFAULT_PRIORITY = 1
#: noop cannot be disabled and always runs at priority 1
ALWAYS_ENABLED = "noop"


@dataclasses.dataclass(frozen=True)
class ModuleState:
    name: str
    enabled: bool
    priority: int


def get_states(conn: Connection, names: list[str]) -> dict[str, ModuleState]:
    """The state of each named module; unset modules are disabled, priority 1."""
    rows = conn.execute(sa.select(tables.modules_state)).mappings().all()
    stored = {row["name"]: row for row in rows}
    result = {}
    for name in names:
        if name == ALWAYS_ENABLED:
            result[name] = ModuleState(name, True, DEFAULT_PRIORITY)
            continue
        row = stored.get(name)
        if row is None:
            result[name] = ModuleState(name, False, DEFAULT_PRIORITY)
        else:
            priority = row["priority"] if row["priority"] is not None else DEFAULT_PRIORITY
            result[name] = ModuleState(name, bool(row["state"]), int(priority))
    return result


def set_state(
    conn: Connection, name: str, enabled: bool | None = None, priority: int | None = None
) -> ModuleState:
    """Change what is given; keep the rest. Returns the new state."""
    current = get_states(conn, [name])[name]
    new = ModuleState(
        name,
        current.enabled if enabled is None else bool(enabled),
        current.priority if priority is None else int(priority),
    )
    if name == ALWAYS_ENABLED:
        return current
    table = tables.modules_state
    updated = conn.execute(
        table.update().where(table.c.name == name).values(state=new.enabled, priority=new.priority)
    ).rowcount
    if not updated:
        conn.execute(table.insert().values(name=name, state=new.enabled, priority=new.priority))
    return new


def get_raw(conn: Connection, name: str) -> bool | None:
    """The stored boolean of a non-module row (e.g. ``collector_<name>``)."""
    row = conn.execute(
        sa.select(tables.modules_state.c.state).where(tables.modules_state.c.name == name)
    ).first()
    return None if row is None else bool(row[0])
