"""Scope reset requests (table ``scope_reset_requests``).

``PUT /v2/scope`` records one request per matching scope state; a processor
claims and applies it (``cloudkitty/orchestrator/resets.py``). Claiming is a
conditional UPDATE, so two processors never apply the same request twice.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty.db.engine import Database
from cloudkitty.db.tables import scope_reset_requests as REQUESTS
from cloudkitty.utils import tz


class ScopeLike(Protocol):
    """What a request is made for: a scope state's identifying columns."""

    @property
    def scope_id(self) -> str: ...
    @property
    def scope_key(self) -> str | None: ...
    @property
    def fetcher(self) -> str | None: ...
    @property
    def collector(self) -> str | None: ...


@dataclass(frozen=True)
class ResetRequest:
    id: int
    scope_id: str
    scope_key: str | None
    fetcher: str | None
    collector: str | None
    reset_timestamp: datetime.datetime
    created_at: datetime.datetime
    created_by: str | None
    done_at: datetime.datetime | None

    @classmethod
    def from_db(cls, row: Any) -> ResetRequest:
        return cls(
            id=row.id,
            scope_id=row.identifier,
            scope_key=row.scope_key,
            fetcher=row.fetcher,
            collector=row.collector,
            reset_timestamp=row.reset_timestamp,
            created_at=row.created_at,
            created_by=row.created_by,
            done_at=row.done_at,
        )


class ResetRequestRepository:
    """Records, lists and claims reset requests; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.db.begin() as own:
                yield own

    def record(
        self,
        scopes: Sequence[ScopeLike],
        timestamp: datetime.datetime,
        *,
        created_by: str | None = None,
        conn: Connection | None = None,
    ) -> int:
        """One pending request per scope, all in one transaction.
        Returns the number of requests recorded."""
        now = tz.utcnow()
        rows = [
            {
                "identifier": scope.scope_id,
                "scope_key": scope.scope_key,
                "fetcher": scope.fetcher,
                "collector": scope.collector,
                "reset_timestamp": tz.as_utc(timestamp),
                "created_at": now,
                "created_by": created_by,
                "done_at": None,
            }
            for scope in scopes
        ]
        if rows:
            with self._tx(conn) as tx:
                tx.execute(REQUESTS.insert(), rows)
        return len(rows)

    def pending(
        self, *, limit: int | None = None, conn: Connection | None = None
    ) -> list[ResetRequest]:
        """Requests not applied yet, oldest first (the order they were made)."""
        stmt = sa.select(REQUESTS).where(REQUESTS.c.done_at.is_(None)).order_by(REQUESTS.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._tx(conn) as tx:
            return [ResetRequest.from_db(row) for row in tx.execute(stmt)]

    def list_requests(self, *, conn: Connection | None = None) -> list[ResetRequest]:
        """Every request, applied or not, oldest first."""
        with self._tx(conn) as tx:
            rows = tx.execute(sa.select(REQUESTS).order_by(REQUESTS.c.id))
            return [ResetRequest.from_db(row) for row in rows]

    @staticmethod
    def claim(conn: Connection, request_id: int, at: datetime.datetime | None = None) -> bool:
        """Mark the request done inside the caller's transaction.

        False when it was already done (another processor applied it): the
        UPDATE's row lock makes a concurrent claimer wait for our commit and
        then match nothing.
        """
        result = conn.execute(
            REQUESTS.update()
            .where(REQUESTS.c.id == request_id, REQUESTS.c.done_at.is_(None))
            .values(done_at=tz.as_utc(at) if at is not None else tz.utcnow())
        )
        return bool(result.rowcount)
