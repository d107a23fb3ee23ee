"""Reprocessing schedules (table ``storage_scope_reprocessing_schedule``).

A schedule re-rates the periods of one scope from ``start_reprocess_time``
to ``end_reprocess_time``, both INCLUSIVE (start 00:00, end 02:00, period
1 h re-rates 00:00, 01:00 and 02:00), so the purge window before re-rating is
``[start, end + period)`` (upstream purged ``[start, end)`` and stored the
last period twice). Validation messages are upstream's: clients match them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty import exceptions
from cloudkitty.db.engine import Database
from cloudkitty.db.tables import cloudkitty_storage_states as STATES
from cloudkitty.db.tables import storage_scope_reprocessing_schedule as SCHEDULES
from cloudkitty.utils import tz

ALL_SCOPES = "ALL"
ORDERS = ("asc", "desc")
_ANY = object()  # mark_progress without a compare-and-set


@dataclass(frozen=True)
class ReprocessingSchedule:
    id: int
    scope_id: str
    reason: str
    start_reprocess_time: datetime.datetime
    end_reprocess_time: datetime.datetime
    current_reprocess_time: datetime.datetime | None

    @classmethod
    def from_db(cls, row: Any) -> ReprocessingSchedule:
        return cls(
            id=row.id,
            scope_id=row.identifier,
            reason=row.reason,
            start_reprocess_time=row.start_reprocess_time,
            end_reprocess_time=row.end_reprocess_time,
            current_reprocess_time=row.current_reprocess_time,
        )

    def next_timestamp(self, period: int) -> datetime.datetime | None:
        """Start of the next period to re-rate, None once finished."""
        if self.current_reprocess_time is None:
            candidate = self.start_reprocess_time
        else:
            candidate = self.current_reprocess_time + datetime.timedelta(seconds=period)
        return candidate if candidate <= self.end_reprocess_time else None

    def purge_window(self, period: int) -> tuple[datetime.datetime, datetime.datetime]:
        """``[begin, end)`` of stored data to delete before re-rating."""
        return (
            self.start_reprocess_time,
            self.end_reprocess_time + datetime.timedelta(seconds=period),
        )


def validate_order(order: str | None) -> str:
    """``asc``/``desc`` (any case); anything else is refused, never
    interpolated into SQL."""
    value = "desc" if order is None else str(order)
    if value.lower() not in ORDERS:
        raise exceptions.InvalidInput(
            f"The order [{value}] is not valid. Accepted values are {list(ORDERS)}."
        )
    return value.lower()


def validate_scope_ids(scope_ids: str | Sequence[str]) -> list[str] | None:
    """The scope ids asked for; None means every active scope (``ALL``)."""
    ids = [scope_ids] if isinstance(scope_ids, str) else list(scope_ids)
    if ALL_SCOPES in ids:
        if len(ids) != 1:
            raise exceptions.InvalidInput(
                f"Cannot use 'ALL' with scope ID [{ids}]. Either schedule a reprocessing "
                "for all active scopes using 'ALL' option, or inform only the scopes you "
                "desire to schedule a reprocessing."
            )
        return None
    return ids


def _near_window(start: datetime.datetime, end: datetime.datetime, period: int) -> list[str]:
    valid_start, valid_end = tz.align(start, period), tz.align(end, period)
    if valid_start == valid_end:
        valid_end += datetime.timedelta(seconds=period)
    return [str(valid_start), str(valid_end)]


def validate_window(
    start: datetime.datetime, end: datetime.datetime, reason: str, period: int
) -> None:
    """The checks that need no database: reason, order, period alignment."""
    if not reason or not reason.strip():
        raise exceptions.InvalidInput(
            "Empty or blank reason text is not allowed. Please, do inform/register the "
            "reason for the reprocessing of a previously processed timestamp."
        )
    if end < start:
        raise exceptions.InvalidInput(
            f"End reprocessing timestamp [{end}] cannot be less than start reprocessing "
            f"timestamp [{start}]."
        )
    if not (tz.is_aligned(start, period) and tz.is_aligned(end, period)):
        raise exceptions.InvalidInput(
            "The provided reprocess time window does not comply with the configured "
            "collector period. A valid time window near the provided one is "
            f"{_near_window(start, end, period)}"
        )


def _range(start: datetime.datetime, end: datetime.datetime) -> str:
    return f"{start.isoformat()} - {end.isoformat()}"


class ReprocessingRepository:
    """Creates, lists and advances reprocessing schedules."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.db.begin() as own:
                yield own

    def create(
        self,
        scope_ids: str | Sequence[str],
        start: datetime.datetime,
        end: datetime.datetime,
        reason: str,
        period: int,
        *,
        conn: Connection | None = None,
    ) -> list[ReprocessingSchedule]:
        """POST /v2/task/reprocesses: validate everything, then store one
        schedule per scope. Raises InvalidInput with upstream's messages."""
        start, end = tz.as_utc(start), tz.as_utc(end)
        wanted = validate_scope_ids(scope_ids)
        validate_window(start, end, reason, period)
        with self._tx(conn) as tx:
            stmt = sa.select(STATES).where(STATES.c.active.is_(True)).order_by(STATES.c.id)
            if wanted is not None:
                stmt = stmt.where(STATES.c.identifier.in_(wanted))
            states = list(tx.execute(stmt))
            known = {row.identifier for row in states}
            unknown = [s for s in wanted or () if s not in known]
            if unknown:
                raise exceptions.InvalidInput(
                    f"Scopes {unknown} scheduled to reprocess [start={start}, end={end}] "
                    "do not exist."
                )
            for row in states:
                last = row.last_processed_timestamp
                for name, value in (("start", start), ("end", end)):
                    if value > last:
                        verb = "starting" if name == "start" else "ending"
                        raise exceptions.InvalidInput(
                            f"Cannot execute a reprocessing [{name}={value}] for scope "
                            f"[{row.identifier}] {verb} after the last possible timestamp "
                            f"[{last}]."
                        )
            scope_list = sorted(known)
            for scope_id in scope_list:
                self._check_overlap(tx, scope_id, start, end)
            created = []
            for scope_id in scope_list:
                result = tx.execute(
                    SCHEDULES.insert().values(
                        identifier=scope_id,
                        reason=reason,
                        start_reprocess_time=start,
                        end_reprocess_time=end,
                        current_reprocess_time=None,
                    )
                )
                created.append(self._get(tx, _new_id(result)))
            return created

    def _check_overlap(
        self, conn: Connection, scope_id: str, start: datetime.datetime, end: datetime.datetime
    ) -> None:
        # Both ends are inclusive, so touching windows share a period.
        stmt = sa.select(SCHEDULES).where(
            SCHEDULES.c.identifier == scope_id,
            _unfinished(),
            SCHEDULES.c.start_reprocess_time <= end,
            SCHEDULES.c.end_reprocess_time >= start,
        )
        other = conn.execute(stmt.limit(1)).first()
        if other is not None:
            raise exceptions.InvalidInput(
                f"Cannot schedule a reprocessing for scope [{scope_id}] for reprocessing "
                f"time [{_range(start, end)}], because it already has a schedule for a "
                f"similar time range "
                f"[{_range(other.start_reprocess_time, other.end_reprocess_time)}]."
            )

    @staticmethod
    def _get(conn: Connection, schedule_id: int) -> ReprocessingSchedule:
        row = conn.execute(sa.select(SCHEDULES).where(SCHEDULES.c.id == schedule_id)).one()
        return ReprocessingSchedule.from_db(row)

    def get(self, schedule_id: int, *, conn: Connection | None = None) -> ReprocessingSchedule:
        with self._tx(conn) as tx:
            row = tx.execute(sa.select(SCHEDULES).where(SCHEDULES.c.id == schedule_id)).first()
        if row is None:
            raise exceptions.NotFound(f"Reprocessing schedule {schedule_id} not found.")
        return ReprocessingSchedule.from_db(row)

    def list_schedules(
        self,
        *,
        scope_ids: str | Sequence[str] | None = None,
        order: str | None = "desc",
        offset: int = 0,
        limit: int | None = 100,
        conn: Connection | None = None,
    ) -> list[ReprocessingSchedule]:
        """GET /v2/task/reprocesses: finished ones included, by insertion."""
        direction = validate_order(order)
        stmt = sa.select(SCHEDULES)
        ids = [scope_ids] if isinstance(scope_ids, str) else scope_ids
        if ids:
            stmt = stmt.where(SCHEDULES.c.identifier.in_(list(ids)))
        key = SCHEDULES.c.id.asc() if direction == "asc" else SCHEDULES.c.id.desc()
        stmt = stmt.order_by(key)
        if offset:
            stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._tx(conn) as tx:
            return [ReprocessingSchedule.from_db(row) for row in tx.execute(stmt)]

    def unfinished(
        self, *, limit: int | None = 100, conn: Connection | None = None
    ) -> list[ReprocessingSchedule]:
        """Schedules a reprocessing worker still has to run, newest first."""
        stmt = sa.select(SCHEDULES).where(_unfinished()).order_by(SCHEDULES.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._tx(conn) as tx:
            return [ReprocessingSchedule.from_db(row) for row in tx.execute(stmt)]

    def mark_progress(
        self,
        schedule_id: int,
        timestamp: datetime.datetime,
        *,
        expected: datetime.datetime | None | object = _ANY,
        conn: Connection | None = None,
    ) -> ReprocessingSchedule:
        """Record that the period starting at ``timestamp`` was re-rated.

        With ``expected`` (a time, or None for "nothing redone yet") this is
        a compare-and-set: Conflict is raised, so the caller's transaction
        rolls back, when another worker moved the schedule meanwhile.
        """
        stmt = SCHEDULES.update().where(SCHEDULES.c.id == schedule_id)
        if expected is not _ANY:
            current = SCHEDULES.c.current_reprocess_time
            if expected is None:
                stmt = stmt.where(current.is_(None))
            else:
                assert isinstance(expected, datetime.datetime)
                stmt = stmt.where(current == tz.as_utc(expected))
        with self._tx(conn) as tx:
            result = tx.execute(stmt.values(current_reprocess_time=tz.as_utc(timestamp)))
            if not result.rowcount:
                exists = tx.execute(
                    sa.select(SCHEDULES.c.id).where(SCHEDULES.c.id == schedule_id)
                ).first()
                if exists is None:
                    raise exceptions.NotFound(f"Reprocessing schedule {schedule_id} not found.")
                raise exceptions.Conflict(
                    f"Reprocessing schedule {schedule_id} was advanced by another worker."
                )
            return self._get(tx, schedule_id)


def _unfinished() -> Any:
    current = SCHEDULES.c.current_reprocess_time
    return sa.or_(current.is_(None), current < SCHEDULES.c.end_reprocess_time)


def _new_id(result: Any) -> int:
    """The primary key of the row an INSERT just created."""
    key = result.inserted_primary_key
    assert key is not None  # single-row INSERT on a table with a primary key
    return int(key[0])
