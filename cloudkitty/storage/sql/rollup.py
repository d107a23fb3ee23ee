"""Daily rollups: per series and UTC day, the sums of the points' qty/price.

Push adds to them (upsert), delete removes whole days and recomputes the
partial days at the window edges from the points that remain. A summary
then reads whole days from here and only the edges from the points.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty.db import tables
from cloudkitty.storage.sql import bulk, codec, dialect
from cloudkitty.storage.sql.filters import Filters, in_window
from cloudkitty.utils import tz

DAILY = tables.rated_points_daily
POINTS = tables.rated_points
DAY = datetime.timedelta(days=1)
_UNIQUE = ("series_id", "day", "time_key")


def floor_day(at: datetime.datetime) -> datetime.datetime:
    return tz.as_utc(at).replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_day(at: datetime.datetime) -> datetime.datetime:
    day = floor_day(at)
    return day if day == tz.as_utc(at) else day + DAY


def whole_days(
    begin: datetime.datetime | None, end: datetime.datetime | None
) -> tuple[datetime.datetime | None, datetime.datetime | None] | None:
    """The whole days inside ``[begin, end)`` as a day range, or None."""
    first = None if begin is None else ceil_day(begin)
    last = None if end is None else floor_day(end)
    if first is not None and last is not None and first >= last:
        return None
    return first, last


@functools.lru_cache(maxsize=4096)
def time_key(times: codec.TimeValues) -> str:
    """The four time values in one NOT NULL column for the unique key."""
    return codec.dump_json(list(times))


class Accumulator:
    """Sums of one push, keyed like the rollup table."""

    def __init__(self) -> None:
        self._sums: dict[tuple[int, datetime.datetime, str], list[Any]] = {}

    def add(
        self,
        series_id: int,
        begin: datetime.datetime,
        times: codec.TimeValues,
        qty: decimal.Decimal,
        price: decimal.Decimal,
    ) -> None:
        key = (series_id, floor_day(begin), time_key(times))
        entry = self._sums.get(key)
        if entry is None:
            self._sums[key] = [times, qty, price, 1]
        else:
            entry[1] = dialect.EXACT.add(entry[1], qty)
            entry[2] = dialect.EXACT.add(entry[2], price)
            entry[3] += 1

    def rows(self) -> list[dict[str, Any]]:
        # Sorted: concurrent upserts then lock rows in the same order.
        rows = []
        for (series_id, day, tkey), (times, qty, price, count) in sorted(self._sums.items()):
            row = {
                "series_id": series_id,
                "day": day,
                "time_key": tkey,
                "qty": qty,
                "price": price,
                "points": count,
            }
            row.update(zip(codec.TIME_KEYS, times, strict=True))
            rows.append(row)
        return rows


def add(conn: Connection, accumulator: Accumulator) -> None:
    """Add the sums of a push to the rollups."""
    rows = accumulator.rows()
    if not rows:
        return
    bulk.upsert_sums(conn, DAILY, _UNIQUE, ("qty", "price"), ("points",), rows)


def after_delete(
    conn: Connection,
    filters: Filters,
    begin: datetime.datetime | None,
    end: datetime.datetime | None,
) -> None:
    """Bring the rollups back in line once points of ``[begin, end)``
    matching ``filters`` are gone.

    A rollup row holds points of one series and one set of time values, so
    the filters select rollup rows exactly like points: whole days are
    dropped outright, edge days are recomputed from the remaining points.
    """
    days = whole_days(begin, end)
    if days is not None:
        conn.execute(
            DAILY.delete().where(*in_window(DAILY.c.day, *days), *filters.conditions(DAILY))
        )
    edges = set()
    if begin is not None and floor_day(begin) != tz.as_utc(begin):
        edges.add(floor_day(begin))
    if end is not None and floor_day(end) != tz.as_utc(end):
        edges.add(floor_day(end))
    for day in sorted(edges):
        _recompute_day(conn, filters, day)


def _recompute_day(conn: Connection, filters: Filters, day: datetime.datetime) -> None:
    series_conds = filters.series_conditions(DAILY.c.series_id)
    conn.execute(DAILY.delete().where(DAILY.c.day == day, *series_conds))
    remaining = conn.execute(
        sa.select(
            POINTS.c.series_id,
            POINTS.c.begin,
            POINTS.c.qty,
            POINTS.c.price,
            *(POINTS.c[k] for k in codec.TIME_KEYS),
        ).where(
            *in_window(POINTS.c.begin, day, day + DAY),
            *filters.series_conditions(POINTS.c.series_id),
        )
    )
    accumulator = Accumulator()
    for row in remaining:
        accumulator.add(row.series_id, row.begin, _times(row), row.qty, row.price)
    add(conn, accumulator)


def _times(row: Any) -> codec.TimeValues:
    return (row.year, row.month, row.week_of_the_year, row.day_of_the_year)


def rebuild(conn: Connection, series_ids: Iterable[int] | None = None) -> int:
    """Recompute the rollups of ``series_ids`` (all when None) from points.

    For repairs and for data loaded without the driver; returns the number
    of rollup rows written.
    """
    if series_ids is None:
        conn.execute(DAILY.delete())
        selection = sa.select(POINTS).order_by(POINTS.c.series_id)
    else:
        ids = list(series_ids)
        conn.execute(DAILY.delete().where(DAILY.c.series_id.in_(ids)))
        selection = sa.select(POINTS).where(POINTS.c.series_id.in_(ids))
    accumulator = Accumulator()
    for row in conn.execute(selection):
        accumulator.add(row.series_id, row.begin, _times(row), row.qty, row.price)
    add(conn, accumulator)
    return len(accumulator.rows())
