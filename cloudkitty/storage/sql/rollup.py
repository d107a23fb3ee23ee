"""Rollups: exact pre-aggregated sums of the points, kept by push and delete.

Three levels, each row holding SUM(qty), SUM(price) and the point count:

* ``rated_points_daily``: per series, UTC day and time keys;
* ``rated_points_monthly``: per series and UTC month (no time keys);
* ``rated_types_daily``: per UTC day, metric type and time keys, over every
  series.

Push adds its sums to all three (upserts). Delete subtracts what it
removes, the daily rows of the whole days it drops and the points of the
partial days, then drops the rows left without points. Subtracting keeps a
delete proportional to what it removes and leaves other scopes' rows alone,
which matters for ``rated_types_daily``: its rows are shared by every
series and could only be recomputed from the whole day.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty.db import tables
from cloudkitty.storage.sql import bulk, codec, dialect, windows
from cloudkitty.storage.sql.filters import SERIES, Filters, in_window

DAILY = tables.rated_points_daily
MONTHLY = tables.rated_points_monthly
TYPES = tables.rated_types_daily
POINTS = tables.rated_points
# Ids, days or months per IN (...) list.
_IN_CHUNK = 500

_Key = tuple[int, datetime.datetime, str]


@functools.lru_cache(maxsize=4096)
def time_key(times: codec.TimeValues) -> str:
    """The four time values in one NOT NULL column for the unique keys."""
    return codec.dump_json(list(times))


def _add_into(sums: dict[Any, list[Any]], key: Any, values: list[Any]) -> None:
    """``sums[key] += values`` for [qty, price, points, *constants]."""
    entry = sums.get(key)
    if entry is None:
        sums[key] = list(values)
    else:
        entry[0] = dialect.EXACT.add(entry[0], values[0])
        entry[1] = dialect.EXACT.add(entry[1], values[1])
        entry[2] += values[2]


class Accumulator:
    """Sums keyed like ``rated_points_daily``; the two other levels are
    derived from them, so a point costs one dictionary update."""

    def __init__(self) -> None:
        # key -> [qty, price, points, type, times, rolled]
        self._sums: dict[_Key, list[Any]] = {}
        #: ids of the daily rows counted ``rolled`` (a delete drops them)
        self.rolled_ids: list[int] = []

    def __bool__(self) -> bool:
        return bool(self._sums)

    def add(
        self,
        series_id: int,
        series_type: str,
        begin: datetime.datetime,
        times: codec.TimeValues,
        qty: decimal.Decimal,
        price: decimal.Decimal,
        points: int = 1,
        rolled: bool = False,
    ) -> None:
        """Count a point (or ``points`` already summed ones) of the period
        starting at ``begin``. ``rolled``: the daily row is handled by the
        caller (deleted whole), only the coarser levels take the sums."""
        key = (series_id, windows.floor_day(begin), time_key(times))
        _add_into(self._sums, key, [qty, price, points, series_type, times, rolled])

    def keys(self) -> tuple[set[tuple], set[tuple], set[tuple]]:
        """The rows the sums go to: (series, day) of the daily rows (not
        the rolled ones), (series, month), (type, day)."""
        daily = {(sid, day) for (sid, day, _), entry in self._sums.items() if not entry[5]}
        monthly = {(sid, windows.floor_month(day)) for sid, day, _ in self._sums}
        types = {(entry[3], day) for (_, day, _), entry in self._sums.items()}
        return daily, monthly, types

    def daily_rows(self) -> list[dict[str, Any]]:
        # Sorted everywhere: concurrent upserts lock rows in the same order.
        year, month, week, day_of_year = codec.TIME_KEYS
        return [
            {
                "series_id": series_id,
                "day": day,
                "time_key": tkey,
                year: times[0],
                month: times[1],
                week: times[2],
                day_of_year: times[3],
                "qty": qty,
                "price": price,
                "points": points,
            }
            for (series_id, day, tkey), (qty, price, points, _, times, rolled) in sorted(
                self._sums.items()
            )
            if not rolled
        ]

    def monthly_rows(self) -> list[dict[str, Any]]:
        sums: dict[Any, list[Any]] = {}
        months: dict[datetime.datetime, datetime.datetime] = {}  # a push spans few days
        for (series_id, day, _), (qty, price, points, *_rest) in self._sums.items():
            month = months.get(day)
            if month is None:
                month = months[day] = windows.floor_month(day)
            _add_into(sums, (series_id, month), [qty, price, points])
        return [
            {"series_id": series_id, "month": month, "qty": q, "price": p, "points": n}
            for (series_id, month), (q, p, n) in sorted(sums.items())
        ]

    def type_rows(self) -> list[dict[str, Any]]:
        sums: dict[Any, list[Any]] = {}
        for (_, day, tkey), (qty, price, points, type_, times, _) in self._sums.items():
            _add_into(sums, (day, type_, tkey), [qty, price, points, times])
        rows = []
        for (day, type_, tkey), (qty, price, points, times) in sorted(sums.items()):
            row = {"day": day, "type": type_, "time_key": tkey}
            row.update(zip(codec.TIME_KEYS, times, strict=True))
            row.update(qty=qty, price=price, points=points)
            rows.append(row)
        return rows


def add(conn: Connection, accumulator: Accumulator, *, types: bool = True) -> None:
    """Add the sums (negative ones too) to the rollups; ``types=False``
    leaves ``rated_types_daily`` out.

    ``rated_types_daily`` comes last: its rows are the ones concurrent
    writers of different scopes share, so their locks are held the least.
    """
    upserts = [
        (DAILY, ("series_id", "day", "time_key"), accumulator.daily_rows()),
        (MONTHLY, ("series_id", "month"), accumulator.monthly_rows()),
    ]
    if types:
        upserts.append((TYPES, ("day", "type", "time_key"), accumulator.type_rows()))
    for table, unique, rows in upserts:
        bulk.upsert_sums(conn, table, unique, ("qty", "price"), ("points",), rows)


def _signed(value: decimal.Decimal, sign: int) -> decimal.Decimal:
    # copy_negate is exact; unary minus rounds to the context's 28 digits.
    return value if sign > 0 else value.copy_negate()


def _times(row: Any) -> codec.TimeValues:
    return (row.year, row.month, row.week_of_the_year, row.day_of_the_year)


def _rolled_days(
    conn: Connection, accumulator: Accumulator, conditions: Sequence[Any], sign: int = -1
) -> None:
    """Count the daily rows matching ``conditions`` in the coarser levels,
    negated by default (``rolled``: the caller handles the daily rows)."""
    rows = conn.execute(
        sa.select(DAILY, SERIES.c.type.label("series_type"))
        .join(SERIES, SERIES.c.id == DAILY.c.series_id)
        .where(*conditions)
    )
    for row in rows:
        accumulator.rolled_ids.append(row.id)
        accumulator.add(
            row.series_id,
            row.series_type,
            row.day,
            _times(row),
            _signed(row.qty, sign),
            _signed(row.price, sign),
            sign * row.points,
            rolled=True,
        )


def _points_into(accumulator: Accumulator, rows: Iterable[Any], sign: int) -> None:
    for row in rows:
        accumulator.add(
            row.series_id,
            row.series_type,
            row.begin,
            _times(row),
            _signed(row.qty, sign),
            _signed(row.price, sign),
            sign,
        )


def _points(conditions: Sequence[Any]) -> sa.Select:
    return (
        sa.select(
            POINTS.c.series_id,
            SERIES.c.type.label("series_type"),
            POINTS.c.begin,
            POINTS.c.qty,
            POINTS.c.price,
            *(POINTS.c[k] for k in codec.TIME_KEYS),
        )
        .join(SERIES, SERIES.c.id == POINTS.c.series_id)
        .where(*conditions)
    )


def removed(
    conn: Connection,
    filters: Filters,
    begin: datetime.datetime | None,
    end: datetime.datetime | None,
) -> Accumulator:
    """The negated sums of what deleting ``[begin, end)`` x ``filters``
    takes away; call before the points go, then ``subtract``."""
    accumulator = Accumulator()
    for unit, lo, hi in windows.split(begin, end, (windows.DAY, windows.PERIOD)):
        if unit == windows.DAY:
            conditions = [*in_window(DAILY.c.day, lo, hi), *filters.conditions(DAILY)]
            _rolled_days(conn, accumulator, conditions)
        else:
            conditions = [*in_window(POINTS.c.begin, lo, hi), *filters.conditions(POINTS)]
            _points_into(accumulator, conn.execute(_points(conditions)), -1)
    return accumulator


def subtract(conn: Connection, accumulator: Accumulator) -> None:
    """Apply ``removed``'s sums once the points are deleted.

    A daily row holds points of one series and one set of time values, so
    the filters select daily rows exactly like points: those of whole days
    are dropped outright (by id, see ``bulk.delete_ids``), the others take
    the negative sums.
    """
    bulk.delete_ids(conn, DAILY, accumulator.rolled_ids)
    if accumulator:
        add(conn, accumulator)
        _prune(conn, accumulator)


def _prune(conn: Connection, accumulator: Accumulator) -> None:
    """Drop the rows the sums emptied (no point left: both sums are 0).

    Found by their unique keys, deleted by id: they are rows this writer
    already holds, and no other scope's row is locked on the way.
    """
    daily, monthly, types = accumulator.keys()
    targets = (
        (DAILY, DAILY.c.series_id, DAILY.c.day, daily),
        (MONTHLY, MONTHLY.c.series_id, MONTHLY.c.month, monthly),
        (TYPES, TYPES.c.type, TYPES.c.day, types),
    )
    for table, first, second, keys in targets:
        by_second: dict[Any, set[Any]] = {}
        for lead, at in keys:
            by_second.setdefault(at, set()).add(lead)
        for at, leads in sorted(by_second.items()):
            ordered = sorted(leads)
            for start in range(0, len(ordered), _IN_CHUNK):
                chunk = ordered[start : start + _IN_CHUNK]
                empty = sa.select(table.c.id).where(
                    table.c.points == 0, first.in_(chunk), second == at
                )
                bulk.delete_ids(conn, table, conn.execute(empty).scalars().all())


def rebuild(conn: Connection, series_ids: Iterable[int] | None = None) -> int:
    """Recompute the rollups of ``series_ids`` (all when None) from points.

    For repairs and for data loaded without the driver; returns the number
    of daily rows written. The per-type rows of every day those series had
    or have data on are recomputed from the daily rows of all series.
    """
    fresh = Accumulator()
    if series_ids is None:
        for table in (DAILY, MONTHLY, TYPES):
            conn.execute(table.delete())
        _points_into(fresh, conn.execute(_points([])), 1)
        add(conn, fresh)
        return len(fresh.daily_rows())
    ids = sorted(set(series_ids))
    days: set[datetime.datetime] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        old = sa.select(DAILY.c.day).where(DAILY.c.series_id.in_(chunk)).distinct()
        days.update(conn.execute(old).scalars())
        conn.execute(DAILY.delete().where(DAILY.c.series_id.in_(chunk)))
        conn.execute(MONTHLY.delete().where(MONTHLY.c.series_id.in_(chunk)))
        _points_into(fresh, conn.execute(_points([POINTS.c.series_id.in_(chunk)])), 1)
    add(conn, fresh, types=False)
    days.update(day for _, day in fresh.keys()[0])
    ordered = sorted(days)
    retyped = Accumulator()
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk_days = ordered[start : start + _IN_CHUNK]
        conn.execute(TYPES.delete().where(TYPES.c.day.in_(chunk_days)))
        _rolled_days(conn, retyped, [DAILY.c.day.in_(chunk_days)], sign=1)
    bulk.upsert_sums(
        conn, TYPES, ("day", "type", "time_key"), ("qty", "price"), ("points",), retyped.type_rows()
    )
    return len(fresh.daily_rows())
