"""Splitting a time window into whole UTC months, whole UTC days and the rest.

A summary reads each part of its window from the coarsest table that holds
it exactly (monthly or daily rollups, points for what is left at the
edges); a delete splits its window the same way to know which rollup rows
it drops whole and which points it subtracts one by one.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Sequence

from cloudkitty.utils import tz

#: Units, coarsest first. PERIOD is the points themselves (no alignment).
MONTH, DAY, PERIOD = "month", "day", "period"
Bound = datetime.datetime | None
Part = tuple[str, Bound, Bound]

_DAY = datetime.timedelta(days=1)


@functools.lru_cache(maxsize=4096)
def floor_day(at: datetime.datetime) -> datetime.datetime:
    # Cached: a push floors the same few period starts once per point.
    return tz.as_utc(at).replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_day(at: datetime.datetime) -> datetime.datetime:
    day = floor_day(at)
    return day if day == tz.as_utc(at) else day + _DAY


def floor_month(at: datetime.datetime) -> datetime.datetime:
    return floor_day(at).replace(day=1)


def ceil_month(at: datetime.datetime) -> datetime.datetime:
    month = floor_month(at)
    if month == tz.as_utc(at):
        return month
    if month.month == 12:
        return month.replace(year=month.year + 1, month=1)
    return month.replace(month=month.month + 1)


_Align = Callable[[datetime.datetime], datetime.datetime]
_FLOOR: dict[str, _Align] = {MONTH: floor_month, DAY: floor_day}
_CEIL: dict[str, _Align] = {MONTH: ceil_month, DAY: ceil_day}


def _empty(begin: Bound, end: Bound) -> bool:
    return begin is not None and end is not None and begin >= end


def split(begin: Bound, end: Bound, units: Sequence[str]) -> list[Part]:
    """``[begin, end)`` as ``(unit, lo, hi)`` parts, each a range of whole
    ``unit``s (PERIOD: any range), using the coarsest unit possible.

    ``units`` lists the usable units coarsest first and ends with PERIOD.
    None bounds stay open: ``(None, end)`` is everything before ``end``.
    An empty window gives no part.
    """
    if _empty(begin, end):
        return []
    unit, finer = units[0], units[1:]
    if not finer:
        return [(unit, begin, end)]
    first = None if begin is None else _CEIL[unit](begin)
    last = None if end is None else _FLOOR[unit](end)
    if _empty(first, last):  # no whole unit inside the window
        return split(begin, end, finer)
    parts: list[Part] = [(unit, first, last)]
    if begin is not None and first is not None and begin < first:
        parts = split(begin, first, finer) + parts
    if end is not None and last is not None and last < end:
        parts += split(last, end, finer)
    return parts
