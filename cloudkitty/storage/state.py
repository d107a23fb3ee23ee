"""Per-scope processing state (table ``cloudkitty_storage_states``).

``last_processed_timestamp`` is the START of the last rated period. Every
method takes an optional ``conn``: given, it works inside the caller's
transaction (the processor commits rated data and the state advance
together); otherwise it commits on its own. Returns frozen dataclasses.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from cloudkitty import exceptions
from cloudkitty.db.engine import Database
from cloudkitty.db.tables import cloudkitty_storage_states as STATES
from cloudkitty.storage.scope import (
    ScopeDefaults,
    ScopeIdentity,
    ScopeState,
    as_list,
    resolve_row,
)
from cloudkitty.utils import tz

NOT_FOUND = "No resource found for provided filters."
_ERROR_MAX = 4000  # characters of an error message kept in the state
_IN_CHUNK = 500  # scope ids per IN (...) list: within every driver's limits

__all__ = [
    "NOT_FOUND",
    "ScopeDefaults",
    "ScopeIdentity",
    "ScopeState",
    "StateConflict",
    "StateRepository",
]


class StateConflict(exceptions.BackendError):
    """A state changed while locked for a compare-and-set: roll back."""


class StateRepository:
    """Reads and writes scope states; see the module docstring."""

    def __init__(self, db: Database, defaults: ScopeDefaults | None = None) -> None:
        self.db = db
        self.defaults = defaults or ScopeDefaults()

    @contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.db.begin() as own:
                yield own

    @staticmethod
    def _rows_of(conn: Connection, scope_id: str) -> list[Any]:
        stmt = sa.select(STATES).where(STATES.c.identifier == scope_id).order_by(STATES.c.id)
        return list(conn.execute(stmt))

    @staticmethod
    def _get_by_id(conn: Connection, row_id: int) -> ScopeState:
        row = conn.execute(sa.select(STATES).where(STATES.c.id == row_id)).one()
        return ScopeState.from_db(row)

    # -- processor ---------------------------------------------------------

    def get_state(
        self, identity: ScopeIdentity, *, conn: Connection | None = None
    ) -> ScopeState | None:
        """The state ``identity`` continues from (read only), or None."""
        with self._tx(conn) as tx:
            row = resolve_row(self._rows_of(tx, identity.scope_id), identity)
        return None if row is None else ScopeState.from_db(row)

    def get_states(
        self, identities: Sequence[ScopeIdentity], *, conn: Connection | None = None
    ) -> list[ScopeState | None]:
        """``get_state`` of each identity, in order, in one query per
        ``_IN_CHUNK`` scopes instead of one per scope."""
        with self._tx(conn) as tx:
            rows = self._rows_of_many(tx, [i.scope_id for i in identities])
            if rows is None:  # ids compared by collation: scope by scope
                return [self.get_state(identity, conn=tx) for identity in identities]
        found = [resolve_row(rows.get(i.scope_id, ()), i) for i in identities]
        return [None if row is None else ScopeState.from_db(row) for row in found]

    @staticmethod
    def _rows_of_many(
        conn: Connection, scope_ids: Sequence[str], *, lock: bool = False
    ) -> dict[str, list[Any]] | None:
        """``_rows_of`` for many scopes, by identifier; None on MySQL and
        MariaDB, whose default collations match ids case- and
        accent-insensitively (the rows of an id are what the database
        says, which splitting one answer by exact id would not reproduce).

        ``lock``: the rows are locked (FOR UPDATE) in id order, the order
        every writer of several states uses, so two writers cannot
        deadlock on them.
        """
        if conn.dialect.name not in ("postgresql", "sqlite"):
            return None
        rows: dict[str, list[Any]] = {}
        wanted = list(dict.fromkeys(scope_ids))
        for start in range(0, len(wanted), _IN_CHUNK):
            stmt = (
                sa.select(STATES)
                .where(STATES.c.identifier.in_(wanted[start : start + _IN_CHUNK]))
                .order_by(STATES.c.id)
            )
            if lock:
                stmt = stmt.with_for_update()
            for row in conn.execute(stmt):
                rows.setdefault(row.identifier, []).append(row)
        return rows

    def get_last_processed_timestamp(
        self, identity: ScopeIdentity, *, conn: Connection | None = None
    ) -> datetime.datetime | None:
        """Start of the last rated period, or None for a new scope."""
        state = self.get_state(identity, conn=conn)
        return None if state is None else state.last_processed_timestamp

    def set_last_processed_timestamp(
        self,
        identity: ScopeIdentity,
        timestamp: datetime.datetime,
        *,
        clear_error: bool = True,
        conn: Connection | None = None,
    ) -> ScopeState:
        """Record that the period starting at ``timestamp`` is rated.

        Creates the row (active) when missing; adopts a legacy or
        renamed row by writing ``identity``'s columns into it. A success
        clears the recorded error unless ``clear_error`` is False.
        """
        values: dict[str, Any] = {
            "last_processed_timestamp": tz.as_utc(timestamp),
            "scope_key": identity.scope_key,
            "fetcher": identity.fetcher,
            "collector": identity.collector,
        }
        if clear_error:
            values.update(last_error=None, last_error_at=None, error_count=0)
        with self._tx(conn) as tx:
            return self._upsert(tx, identity, values)

    def advance(
        self,
        identity: ScopeIdentity,
        previous: datetime.datetime | None,
        timestamp: datetime.datetime,
        *,
        conn: Connection | None = None,
    ) -> bool:
        """Compare-and-set of ``last_processed_timestamp``: move it from
        ``previous`` (None: the scope has no state yet) to ``timestamp``.

        Returns False, changing nothing, when the state is no longer
        ``previous`` (another processor or a reset moved it): the caller
        rolls back the rated data it wrote in the same transaction. Like
        ``set_last_processed_timestamp`` it adopts legacy/renamed rows and
        clears the recorded error.
        """
        previous = None if previous is None else tz.as_utc(previous)
        values = self._advanced_values(identity, tz.as_utc(timestamp))
        with self._tx(conn) as tx:
            row = resolve_row(self._rows_of(tx, identity.scope_id), identity)
            if row is None:
                if previous is not None:
                    return False  # the state was removed meanwhile
                return self._insert_once(tx, identity, values)
            if row.last_processed_timestamp != previous:
                return False
            result = tx.execute(
                STATES.update()
                .where(
                    STATES.c.id == row.id,
                    STATES.c.last_processed_timestamp == previous,
                )
                .values(**values)
            )
            return bool(result.rowcount)

    def advance_many(
        self,
        moves: Sequence[tuple[ScopeIdentity, datetime.datetime | None]],
        timestamp: datetime.datetime,
        *,
        conn: Connection,
    ) -> list[bool]:
        """``advance`` of each ``(identity, previous)`` to ``timestamp``, in
        the caller's transaction; one result per move, in order.

        The same compare-and-set as ``advance``, in a few statements: the
        state rows are read locked (FOR UPDATE, in id order), compared, and
        those still at their ``previous`` are updated with the comparison
        repeated in the UPDATE's WHERE. Should fewer rows change than were
        checked (a database that could not lock them), ``StateConflict``
        rolls the caller back rather than let a scope advance twice.
        """
        scope_ids = [identity.scope_id for identity, _ in moves]
        rows = self._rows_of_many(conn, scope_ids, lock=True)
        if rows is None:
            return [self.advance(i, previous, timestamp, conn=conn) for i, previous in moves]
        timestamp = tz.as_utc(timestamp)
        results = [False] * len(moves)
        # (previous, values) -> [(position, row id)]: one UPDATE per group;
        # a worker's batch is a single group (same period, same names).
        updates: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
        claimed: set[int] = set()
        for position, (identity, previous) in enumerate(moves):
            previous = None if previous is None else tz.as_utc(previous)
            values = self._advanced_values(identity, timestamp)
            row = resolve_row(rows.get(identity.scope_id, ()), identity)
            if row is None:
                if previous is None:
                    results[position] = self._insert_once(conn, identity, values)
            elif row.id not in claimed and row.last_processed_timestamp == previous:
                claimed.add(row.id)  # one move per row, as sequential advances
                key = (previous, *sorted(values.items()))
                updates.setdefault(key, []).append((position, row.id))
        for (previous, *items), targets in updates.items():
            ids = sorted(row_id for _, row_id in targets)
            result = conn.execute(
                STATES.update()
                .where(STATES.c.id.in_(ids), STATES.c.last_processed_timestamp == previous)
                .values(**dict(items))
            )
            if result.rowcount != len(ids):
                raise StateConflict(f"{len(ids) - result.rowcount} scope state(s) moved")
            for position, _ in targets:
                results[position] = True
        return results

    @staticmethod
    def _advanced_values(identity: ScopeIdentity, timestamp: datetime.datetime) -> dict[str, Any]:
        return {
            "last_processed_timestamp": timestamp,
            "scope_key": identity.scope_key,
            "fetcher": identity.fetcher,
            "collector": identity.collector,
            "last_error": None,
            "last_error_at": None,
            "error_count": 0,
        }

    def _insert_once(self, conn: Connection, identity: ScopeIdentity, values: dict) -> bool:
        """Create the row; False when a concurrent writer created it first.

        PostgreSQL aborts the whole transaction on a failed statement, hence
        the savepoint there; SQLite only undoes the failed statement.
        """
        insert = STATES.insert().values(
            identifier=identity.scope_id,
            active=True,
            scope_activation_toggle_date=tz.utcnow(),
            **values,
        )
        try:
            if conn.dialect.name == "sqlite":
                conn.execute(insert)
            else:
                with conn.begin_nested():
                    conn.execute(insert)
        except sa_exc.IntegrityError:
            return False
        return True

    def _upsert(self, conn: Connection, identity: ScopeIdentity, values: dict) -> ScopeState:
        row = resolve_row(self._rows_of(conn, identity.scope_id), identity)
        if row is None:
            result = conn.execute(
                STATES.insert().values(
                    identifier=identity.scope_id,
                    active=True,
                    scope_activation_toggle_date=tz.utcnow(),
                    **values,
                )
            )
            return self._get_by_id(conn, _new_id(result))
        conn.execute(STATES.update().where(STATES.c.id == row.id).values(**values))
        return self._get_by_id(conn, row.id)

    def record_error(
        self,
        identity: ScopeIdentity,
        message: str,
        *,
        initial_timestamp: datetime.datetime | None = None,
        at: datetime.datetime | None = None,
        conn: Connection | None = None,
    ) -> ScopeState | None:
        """Show ``message`` in the scope's state and count the failure.

        A scope that never succeeded has no row; it is created only when
        ``initial_timestamp`` is given (the start of the period BEFORE the
        first one to rate, so processing resumes where it failed). ``at``
        is when it failed (default: now; workers pass their own clock, which
        their backoff is computed from).
        """
        with self._tx(conn) as tx:
            row = resolve_row(self._rows_of(tx, identity.scope_id), identity)
            values: dict[str, Any] = {
                "last_error": message[:_ERROR_MAX],
                "last_error_at": tz.as_utc(at) if at is not None else tz.utcnow(),
            }
            if row is None:
                if initial_timestamp is None:
                    return None
                values.update(error_count=1, last_processed_timestamp=initial_timestamp)
                values.update(
                    scope_key=identity.scope_key,
                    fetcher=identity.fetcher,
                    collector=identity.collector,
                )
                return self._upsert(tx, identity, values)
            values["error_count"] = STATES.c.error_count + 1
            tx.execute(STATES.update().where(STATES.c.id == row.id).values(**values))
            return self._get_by_id(tx, row.id)

    def clear_error(self, identity: ScopeIdentity, *, conn: Connection | None = None) -> None:
        with self._tx(conn) as tx:
            row = resolve_row(self._rows_of(tx, identity.scope_id), identity)
            if row is not None:
                tx.execute(
                    STATES.update()
                    .where(STATES.c.id == row.id)
                    .values(last_error=None, last_error_at=None, error_count=0)
                )

    # -- API ---------------------------------------------------------------

    def list_states(
        self,
        *,
        scope_ids: str | Sequence[str] | None = None,
        scope_keys: str | Sequence[str] | None = None,
        fetchers: str | Sequence[str] | None = None,
        collectors: str | Sequence[str] | None = None,
        active: bool | int | Sequence[bool | int] | None = None,
        offset: int = 0,
        limit: int | None = 100,
        conn: Connection | None = None,
    ) -> list[ScopeState]:
        """Scope states in creation order; ``limit=None`` means all of them
        (a reset must reach every scope, not the first 100)."""
        stmt = sa.select(STATES).order_by(STATES.c.id)
        for column, wanted in (
            (STATES.c.identifier, scope_ids),
            (STATES.c.scope_key, scope_keys),
            (STATES.c.fetcher, fetchers),
            (STATES.c.collector, collectors),
        ):
            values = as_list(wanted)
            if values is not None:
                stmt = stmt.where(column.in_(values))
        flags = as_list(active)
        if flags is not None:
            stmt = stmt.where(STATES.c.active.in_([bool(int(f)) for f in flags]))
        if offset:
            stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._tx(conn) as tx:
            return [ScopeState.from_db(row) for row in tx.execute(stmt)]

    def identifiers(self, *, conn: Connection | None = None) -> list[str]:
        """Every scope id that has a state (v1 report tenants)."""
        stmt = sa.select(STATES.c.identifier).distinct()
        with self._tx(conn) as tx:
            return sorted(tx.execute(stmt).scalars())

    def create(
        self,
        scope_id: str,
        last_processed_timestamp: datetime.datetime,
        *,
        scope_key: str | None = None,
        fetcher: str | None = None,
        collector: str | None = None,
        active: bool = True,
        conn: Connection | None = None,
    ) -> ScopeState:
        """POST /v2/scope. Raises Conflict when the scope id exists (the
        v2 API answers 404 there, as upstream)."""
        with self._tx(conn) as tx:
            if self._rows_of(tx, scope_id):
                raise exceptions.Conflict(
                    f"Cannot create a scope with an already existing scope_id: {scope_id}."
                )
            result = tx.execute(
                STATES.insert().values(
                    identifier=scope_id,
                    scope_key=scope_key or self.defaults.scope_key,
                    fetcher=fetcher or self.defaults.fetcher,
                    collector=collector or self.defaults.collector,
                    last_processed_timestamp=tz.as_utc(last_processed_timestamp),
                    active=bool(active),
                    scope_activation_toggle_date=tz.utcnow(),
                )
            )
            return self._get_by_id(tx, _new_id(result))

    def patch(
        self,
        scope_id: str,
        *,
        scope_key: str | None = None,
        fetcher: str | None = None,
        collector: str | None = None,
        active: bool | None = None,
        conn: Connection | None = None,
    ) -> ScopeState:
        """PATCH /v2/scope: update the given columns of the one row of
        ``scope_id``; a change of ``active`` stamps the toggle date.
        Raises NotFound when there is no row, or several."""
        with self._tx(conn) as tx:
            rows = self._rows_of(tx, scope_id)
            if not rows:
                raise exceptions.NotFound(NOT_FOUND)
            if len(rows) > 1:
                raise exceptions.NotFound(
                    f"Too many resources found with the same scope_id: {scope_id}."
                )
            row = rows[0]
            values: dict[str, Any] = {
                k: v
                for k, v in (
                    ("scope_key", scope_key),
                    ("fetcher", fetcher),
                    ("collector", collector),
                )
                if v is not None
            }
            if active is not None and bool(active) != bool(row.active):
                values.update(active=bool(active), scope_activation_toggle_date=tz.utcnow())
            if values:
                tx.execute(STATES.update().where(STATES.c.id == row.id).values(**values))
            return self._get_by_id(tx, row.id)


def _new_id(result: Any) -> int:
    """The primary key of the row an INSERT just created."""
    key = result.inserted_primary_key
    assert key is not None  # single-row INSERT on a table with a primary key
    return int(key[0])
