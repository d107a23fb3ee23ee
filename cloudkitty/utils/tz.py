"""Time helpers: everything internal is timezone-aware UTC.

The database stores naive UTC; the v1 API renders naive ISO strings, v2 aware
ones. Conversions live here so nothing else calls ``datetime.now()`` naively.
"""

from __future__ import annotations

import datetime
from typing import Any

from dateutil import parser as _dateparser

from cloudkitty import exceptions

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def as_utc(value: datetime.datetime) -> datetime.datetime:
    """Aware UTC from an aware or a naive (assumed UTC) datetime."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_naive_utc(value: datetime.datetime) -> datetime.datetime:
    return as_utc(value).replace(tzinfo=None)


def parse_datetime(value: Any, what: str = "date") -> datetime.datetime:
    """Lenient ISO 8601 parsing as clients expect: ``T`` or space, optional
    offset, date only (midnight), basic format (``20190723T122810Z``).
    Returns aware UTC; raises InvalidInput naming ``what``."""
    if isinstance(value, datetime.datetime):
        return as_utc(value)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        raise exceptions.InvalidInput(f"Invalid {what}: {value!r} is not a date")
    text = value.strip()
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = _dateparser.isoparse(text)
        except (ValueError, OverflowError):
            try:
                parsed = _dateparser.parse(text)
            except (ValueError, OverflowError):
                raise exceptions.InvalidInput(f"Invalid {what}: {value!r} is not a date") from None
    return as_utc(parsed)


def is_date_only(value: Any) -> bool:
    """True for ``2024-05-01``-style inputs (no time part given)."""
    return isinstance(value, str) and len(value.strip()) == 10 and "T" not in value


def month_start(at: datetime.datetime | None = None) -> datetime.datetime:
    at = as_utc(at or utcnow())
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(at: datetime.datetime) -> datetime.datetime:
    start = month_start(at)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def align(at: datetime.datetime, period: int) -> datetime.datetime:
    """Floor ``at`` to a multiple of ``period`` seconds since the epoch."""
    seconds = int((as_utc(at) - EPOCH).total_seconds())
    return EPOCH + datetime.timedelta(seconds=seconds - seconds % period)


def is_aligned(at: datetime.datetime, period: int) -> bool:
    delta = as_utc(at) - EPOCH
    return delta.microseconds == 0 and int(delta.total_seconds()) % period == 0


def v1_format(value: datetime.datetime | None) -> str | None:
    """Naive ISO string as the v1 API renders dates."""
    if value is None:
        return None
    return to_naive_utc(value).isoformat()


def v2_format(value: datetime.datetime | None) -> str | None:
    """Aware ISO string (``+00:00``) as the v2 API renders dates."""
    if value is None:
        return None
    return as_utc(value).isoformat()
