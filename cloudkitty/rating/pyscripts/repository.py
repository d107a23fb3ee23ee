"""The scripts of the pyscripts module: table ``pyscripts_scripts`` behind functions.

Every function takes a SQLAlchemy ``Connection``; call the mutations inside
``Database.begin()`` so each is one transaction. All validation happens
before the first write, so an error leaves the database untouched. Rows
never leave this module: callers get frozen ``Script`` dataclasses with aware
UTC times and the script text decompressed.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import uuid
import zlib
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty import exceptions
from cloudkitty.db import tables
from cloudkitty.rating.pyscripts import versioning as rules

TABLE = tables.pyscripts_scripts
# MySQL maps LargeBinary to BLOB (64 KiB). One limit on every backend keeps
# a script that works on SQLite from failing on MySQL.
MAX_COMPRESSED_BYTES = 65535
NAME_MAX = 255
DESCRIPTION_MAX = 256
USER_MAX = 255

#: Attributes ``update`` may change (``name`` is accepted and ignored).
UPDATABLE = frozenset({"name", "data", "start", "end", "description"})
#: Read-only attributes a client echoes back on PUT; checked, never written.
READ_ONLY = frozenset(
    {"script_id", "checksum", "created_at", "deleted", "created_by", "updated_by", "deleted_by"}
)


@dataclasses.dataclass(frozen=True)
class Script:
    """One version-tracked script. ``data`` is None when listed without data."""

    script_id: str
    name: str
    data: str | None
    checksum: str
    created_at: datetime.datetime
    start: datetime.datetime
    end: datetime.datetime | None
    description: str | None
    deleted: datetime.datetime | None
    created_by: str
    updated_by: str | None
    deleted_by: str | None

    def is_active(self, at: datetime.datetime) -> bool:
        """Not deleted, started at or before ``at`` and not yet ended."""
        return self.deleted is None and self.start <= at and (self.end is None or self.end > at)


def checksum_of(text: str) -> str:
    """SHA-512 hex digest of the script text (UTF-8), as upstream stores it."""
    return hashlib.sha512(text.encode("utf-8")).hexdigest()


def execution_order(script: Script) -> tuple[str, str]:
    """Scripts run by name, then script_id (code point order on every backend)."""
    return (script.name, script.script_id)


def create(
    conn: Connection,
    *,
    name: str,
    data: str,
    start: Any = None,
    end: Any = None,
    description: str | None = None,
    created_by: str = "unknown",
    force: bool = False,
    now: datetime.datetime | None = None,
) -> Script:
    """Store a new script and return it.

    ``start`` defaults to now (the time of this call, not of process start);
    ``end`` given as a bare date means 23:59:59 that day. Raises
    ``InvalidInput`` (start in the past without ``force``, end before start,
    bad values) or ``Conflict`` (``Script <name> already exists (UUID: <id>)``
    when a non-deleted script has that name).
    """
    now = rules.now(now)
    _check_text("name", name, NAME_MAX, required=True)
    _check_text("description", description, DESCRIPTION_MAX)
    _check_text("created_by", created_by, USER_MAX, required=True)
    blob = _compress(data)
    start_at = now if start is None else rules.parse_start(start)
    end_at = rules.parse_end(end)
    rules.check_new_period(start_at, end_at, now, force=force)
    existing = _active_with_name(conn, name)
    if existing is not None:
        raise exceptions.Conflict(f"Script {name} already exists (UUID: {existing})")
    values = {
        "script_id": str(uuid.uuid4()),
        "name": name,
        "data": blob,
        "checksum": checksum_of(data),
        "created_at": now,
        "start": start_at,
        "end": end_at,
        "description": description,
        "deleted": None,
        "created_by": created_by,
        "updated_by": None,
        "deleted_by": None,
    }
    conn.execute(TABLE.insert().values(**values))
    return _to_script({**values, "data": data}, decompress=False)


def get(conn: Connection, script_id: str) -> Script:
    """The script ``script_id``, soft-deleted ones included.

    Raises ``NotFound`` (``No such script: None (UUID: <id>)``).
    """
    row = _select_one(conn, script_id, lock=False)
    if row is None:
        raise _not_found(script_id)
    return _to_script(row)


def list_scripts(
    conn: Connection,
    *,
    no_data: bool = False,
    deleted: bool = False,
    start: Any = None,
    end: Any = None,
    created_by: str | None = None,
    updated_by: str | None = None,
    deleted_by: str | None = None,
    description: str | None = None,
    is_active: bool = False,
    now: datetime.datetime | None = None,
) -> list[Script]:
    """Scripts matching every given filter, in execution order.

    ``deleted`` includes soft-deleted scripts; ``start``/``end`` keep scripts
    with ``start >= start`` / ``end < end``; the ``*_by`` filters are exact;
    ``description`` is a case-insensitive substring; ``is_active`` keeps the
    scripts active now. ``no_data`` leaves ``data`` as None (not even read).
    """
    columns = [c for c in TABLE.c if not (no_data and c.name == "data")]
    query = sa.select(*columns)
    if not deleted:
        query = query.where(TABLE.c.deleted.is_(None))
    if start is not None:
        query = query.where(TABLE.c.start >= rules.parse_start(start))
    if end is not None:
        query = query.where(TABLE.c.end < rules.parse_time(end, "end"))
    exact = {"created_by": created_by, "updated_by": updated_by, "deleted_by": deleted_by}
    for column, value in exact.items():
        if value is not None:
            query = query.where(TABLE.c[column] == value)
    if description is not None:
        pattern = description.lower()
        query = query.where(sa.func.lower(TABLE.c.description).contains(pattern, autoescape=True))
    if is_active:
        at = rules.now(now)
        query = query.where(TABLE.c.deleted.is_(None), *_active_at(at))
    scripts = []
    for row in conn.execute(query).mappings():
        # MySQL compares with a case- and pad-insensitive collation; the exact
        # filters must mean the same thing on every backend.
        if any(value is not None and row[col] != value for col, value in exact.items()):
            continue
        scripts.append(_to_script(row, decompress=not no_data))
    return sorted(scripts, key=execution_order)


def update(
    conn: Connection,
    script_id: str,
    changes: Mapping[str, Any],
    *,
    updated_by: str = "unknown",
    now: datetime.datetime | None = None,
) -> Script:
    """Apply a PUT body to a non-deleted script and return the new version.

    ``changes`` holds the attributes present in the body (read-only ones
    echoed back are allowed). A script that already started may only get an
    ``end`` (and only if it has none yet); one that has not started gets
    ``data`` (absent: kept), ``start`` (absent/None: kept), ``end`` and
    ``description`` (absent: cleared) after the checks of ``create``
    (without ``force``); ``name`` is ignored. Raises ``NotFound`` or
    ``InvalidInput`` with the contract's messages.
    """
    unknown = sorted(set(changes) - UPDATABLE - READ_ONLY)
    if unknown:
        raise exceptions.InvalidInput(f"Unknown attribute: {unknown[0]}")
    now = rules.now(now)
    _check_text("updated_by", updated_by, USER_MAX, required=True)
    row = _select_one(conn, script_id, lock=True)
    if row is None or row["deleted"] is not None:
        raise _not_found(script_id)
    current = _to_script(row)
    values: dict[str, Any] = {"updated_by": updated_by}
    if current.start < now:
        values.update(_running_changes(current, changes, now))
    else:
        values.update(_pending_changes(current, changes, now))
    conn.execute(TABLE.update().where(TABLE.c.script_id == script_id).values(**values))
    merged = {**row, **values}
    if "data" in values:
        merged["data"] = changes["data"]
        return _to_script(merged, decompress=False)
    return _to_script(merged)


def delete(
    conn: Connection,
    script_id: str,
    *,
    deleted_by: str = "unknown",
    now: datetime.datetime | None = None,
) -> Script:
    """Soft-delete a script (sets ``deleted``/``deleted_by``); return it.

    Raises ``NotFound`` when unknown or already deleted.
    """
    now = rules.now(now)
    _check_text("deleted_by", deleted_by, USER_MAX, required=True)
    row = _select_one(conn, script_id, lock=True)
    if row is None or row["deleted"] is not None:
        raise _not_found(script_id)
    values = {"deleted": now, "deleted_by": deleted_by}
    conn.execute(TABLE.update().where(TABLE.c.script_id == script_id).values(**values))
    return _to_script({**row, **values})


def load_active(conn: Connection, at: datetime.datetime | None = None) -> list[Script]:
    """Non-deleted scripts with their text, in execution order.

    With ``at``, only those active at that time; without, all of them (the
    rating module loads once and selects per frame with ``Script.is_active``).
    """
    query = sa.select(TABLE).where(TABLE.c.deleted.is_(None))
    if at is not None:
        query = query.where(*_active_at(rules.as_utc(at)))
    scripts = [_to_script(row) for row in conn.execute(query).mappings()]
    return sorted(scripts, key=execution_order)


# --- helpers ---------------------------------------------------------------


def _running_changes(current: Script, changes: Mapping[str, Any], now: datetime.datetime) -> dict:
    if current.end is not None:
        raise exceptions.InvalidInput(
            "Cannot update a rule that was already processed and has a defined end date."
        )
    for key, value in changes.items():
        if key != "end" and value and _differs(current, key, value):
            raise exceptions.InvalidInput(
                "You are allowed to update only the attribute [end] as this rule is "
                f"already running as it started on [{rules.fmt(current.start)}]"
            )
    end_at = rules.parse_end(changes.get("end"))
    if end_at is None:
        return {}
    rules.check_end_in_future(end_at, now)
    return {"end": end_at}


def _pending_changes(current: Script, changes: Mapping[str, Any], now: datetime.datetime) -> dict:
    start = changes.get("start")
    start_at = current.start if start is None else rules.parse_start(start)
    end_at = rules.parse_end(changes.get("end"))
    rules.check_new_period(start_at, end_at, now, force=False)
    description = changes.get("description")
    _check_text("description", description, DESCRIPTION_MAX)
    values: dict[str, Any] = {"start": start_at, "end": end_at, "description": description}
    data = changes.get("data")
    if data is not None:
        values["data"] = _compress(data)
        values["checksum"] = checksum_of(data)
    return values


def _differs(current: Script, key: str, value: Any) -> bool:
    stored = getattr(current, key)
    if isinstance(stored, datetime.datetime) or key in ("start", "created_at", "deleted"):
        try:
            return stored is None or rules.parse_time(value, key) != stored
        except exceptions.InvalidInput:
            return True
    return bool(value != stored)


def _active_at(at: datetime.datetime) -> list[Any]:
    return [TABLE.c.start <= at, sa.or_(TABLE.c.end.is_(None), TABLE.c.end > at)]


def _active_with_name(conn: Connection, name: str) -> str | None:
    query = sa.select(TABLE.c.script_id, TABLE.c.name).where(
        TABLE.c.name == name, TABLE.c.deleted.is_(None)
    )
    for row in conn.execute(query):
        if row.name == name:  # exact, whatever the backend's collation
            return str(row.script_id)
    return None


def _select_one(conn: Connection, script_id: str, *, lock: bool) -> Mapping[str, Any] | None:
    if not isinstance(script_id, str):
        return None
    query = sa.select(TABLE).where(TABLE.c.script_id == script_id)
    if lock:
        # Serialise concurrent PUT/DELETE on the same script (no-op on SQLite,
        # whose writers are serialised anyway).
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def _not_found(script_id: str) -> exceptions.NotFound:
    return exceptions.NotFound(f"No such script: None (UUID: {script_id})")


def _check_text(what: str, value: Any, limit: int, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise exceptions.InvalidInput(f"{what} must be a non-empty string")
    if len(value) > limit:
        raise exceptions.InvalidInput(f"{what} is too long ({len(value)} > {limit} characters)")


def _compress(data: Any) -> bytes:
    if not isinstance(data, str):
        raise exceptions.InvalidInput("data must be a string")
    blob = zlib.compress(data.encode("utf-8"))
    if len(blob) > MAX_COMPRESSED_BYTES:
        raise exceptions.InvalidInput(
            f"Script data is too large ({len(blob)} bytes compressed, "
            f"the limit is {MAX_COMPRESSED_BYTES})"
        )
    return blob


def _to_script(row: Mapping[str, Any] | sa.RowMapping, *, decompress: bool = True) -> Script:
    data = row.get("data")
    if decompress and data is not None:
        try:
            data = zlib.decompress(data).decode("utf-8")
        except (zlib.error, UnicodeDecodeError) as exc:
            raise exceptions.BackendError(
                f"Script {row['name']} (UUID: {row['script_id']}) has unreadable data: {exc}"
            ) from None
    return Script(
        script_id=row["script_id"],
        name=row["name"],
        data=data,
        checksum=row["checksum"],
        created_at=rules.as_utc(row["created_at"]),
        start=rules.as_utc(row["start"]),
        end=rules.as_utc_or_none(row["end"]),
        description=row["description"],
        deleted=rules.as_utc_or_none(row["deleted"]),
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        deleted_by=row["deleted_by"],
    )
