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

__all__ = ["NOT_FOUND", "ScopeDefaults", "ScopeIdentity", "ScopeState", "StateRepository"]


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
        values: dict[str, Any] = {
            "last_processed_timestamp": tz.as_utc(timestamp),
            "scope_key": identity.scope_key,
            "fetcher": identity.fetcher,
            "collector": identity.collector,
            "last_error": None,
            "last_error_at": None,
            "error_count": 0,
        }
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
