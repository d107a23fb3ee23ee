"""Time-versioning rules of scripts: parsing start/end and the contract's checks.

Times are aware UTC. Messages render times as naive UTC (``2024-05-01
23:59:59``), the way upstream printed its naive datetimes.
"""

from __future__ import annotations

import datetime
from typing import Any

from cloudkitty import exceptions
from cloudkitty.utils import tz

END_OF_DAY = datetime.time(23, 59, 59)


def now(value: datetime.datetime | None = None) -> datetime.datetime:
    """``value`` as aware UTC, or the current time (tests pass a fixed one)."""
    return tz.utcnow() if value is None else tz.as_utc(value)


def as_utc(value: datetime.datetime) -> datetime.datetime:
    return tz.as_utc(value)


def as_utc_or_none(value: datetime.datetime | None) -> datetime.datetime | None:
    return None if value is None else tz.as_utc(value)


def parse_time(value: Any, what: str) -> datetime.datetime:
    """A datetime, a date (midnight) or an ISO 8601 string, as aware UTC."""
    return tz.parse_datetime(value, what)


def parse_start(value: Any) -> datetime.datetime:
    return parse_time(value, "start")


def parse_end(value: Any) -> datetime.datetime | None:
    """None stays None; a bare date (``2024-05-01``) means 23:59:59 that day."""
    if value is None:
        return None
    is_date = tz.is_date_only(value) or (
        isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)
    )
    parsed = parse_time(value, "end")
    if is_date:
        return datetime.datetime.combine(parsed.date(), END_OF_DAY, tzinfo=tz.UTC)
    return parsed


def fmt(value: datetime.datetime) -> str:
    return str(tz.to_naive_utc(value))


def check_new_period(
    start: datetime.datetime,
    end: datetime.datetime | None,
    now: datetime.datetime,
    *,
    force: bool,
) -> None:
    """The creation checks: no start in the past (unless forced), no end before start."""
    if not force and start < now:
        raise exceptions.InvalidInput(
            "Cannot create a rule with start in the past. "
            f"start=[{fmt(start)}] current time=[{fmt(now)}]."
        )
    if end is not None and end < start:
        raise exceptions.InvalidInput(
            f"Cannot create a rule with start after end. start=[{fmt(start)}] end=[{fmt(end)}]."
        )


def check_end_in_future(end: datetime.datetime, now: datetime.datetime) -> None:
    if end < now:
        raise exceptions.InvalidInput(
            f"End date must be in the future. end=[{fmt(end)}] current time=[{fmt(now)}]."
        )
