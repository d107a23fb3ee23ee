"""PostgreSQL bulk push: one COPY, then SQL fills the points and rollups.

A processor batch pushes ~24,000 points at once. Rendering them for COPY
and then building, rendering and COPYing their daily, monthly and per-type
rollup rows took most of the Python CPU of a push. Here each point is
rendered once, with the keys its rollup rows need (UTC day, time key,
metric type), into a session temporary table; ``rated_points`` is filled by
``INSERT ... SELECT`` and each rollup level by one ``GROUP BY`` upsert.

The sums are those of the stored points: the stage columns have the points'
types, so every value is rounded to the column scale once, as in
``rated_points``, and the rollups add exactly what a rebuild from the
points would (``rollup.rebuild``). Upserts insert in unique-key order (the
lock order of every writer) and ``rated_types_daily``, shared by every
scope's writers, comes last, as in ``rollup.add``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty.dataframe import DataPoint
from cloudkitty.db import tables
from cloudkitty.storage.sql import bulk, codec, dialect, rollup, windows

POINTS = tables.rated_points
_POINT_COLUMNS = ("series_id", "begin", "end", "qty", "price", *codec.TIME_KEYS)
_STAGE_NAME = "ck_stage_push"

#: The stage: the columns of a point, plus the keys of its rollup rows.
STAGE = sa.Table(
    _STAGE_NAME,
    sa.MetaData(),
    *(sa.Column(name, POINTS.c[name].type) for name in _POINT_COLUMNS),
    sa.Column("day", tables.rated_points_daily.c.day.type),
    sa.Column("time_key", tables.rated_points_daily.c.time_key.type),
    sa.Column("type", tables.rated_series.c.type.type),
)
STAGE_COLUMNS = tuple(column.name for column in STAGE.columns)

#: (series hash, period start, period end, point, time values)
Staged = tuple[str, datetime.datetime, datetime.datetime, DataPoint, codec.TimeValues]


def applies(conn: Connection, points: int) -> bool:
    """True where this path serves a push of ``points`` points."""
    return bulk.uses_stage(conn, points)


def push(
    conn: Connection,
    staged: Sequence[Staged],
    ids: Mapping[str, int],
    series: Mapping[str, codec.Series],
) -> None:
    """Store ``staged`` (series ids resolved) and add it to the rollups."""
    days: dict[datetime.datetime, datetime.datetime] = {}
    rows = []
    for series_hash, begin, end, point, times in staged:
        day = days.get(begin)
        if day is None:
            day = days[begin] = windows.floor_day(begin)
        rows.append(
            (
                ids[series_hash],
                begin,
                end,
                point.qty,
                point.price,
                *times,
                day,
                rollup.time_key(times),
                series[series_hash].type,
            )
        )
    bulk.stage_columns(conn, STAGE, dict(zip(STAGE_COLUMNS, zip(*rows, strict=True), strict=True)))
    conn.execute(
        POINTS.insert().from_select(
            list(_POINT_COLUMNS), sa.select(*(STAGE.c[name] for name in _POINT_COLUMNS))
        )
    )
    for table, keys, extra in _levels():
        _upsert_sums(conn, table, keys, extra)
    conn.exec_driver_sql(f"TRUNCATE {_STAGE_NAME}")  # a second push in this transaction


def _levels() -> list[tuple[sa.Table, list[Any], list[Any]]]:
    """Per rollup table: its unique key expressions (grouped, in order) and
    the other grouped columns, from the stage."""
    times = [STAGE.c[name] for name in codec.TIME_KEYS]
    month = sa.func.date_trunc("month", STAGE.c.day)
    return [
        (
            rollup.DAILY,
            [STAGE.c.series_id, STAGE.c.day, STAGE.c.time_key],
            times,
        ),
        (rollup.MONTHLY, [STAGE.c.series_id, month.label("month")], []),
        (rollup.TYPES, [STAGE.c.day, STAGE.c.type, STAGE.c.time_key], times),
    ]


def _upsert_sums(conn: Connection, table: sa.Table, keys: list[Any], extra: list[Any]) -> None:
    grouped = [*keys, *extra]
    source = (
        sa.select(
            *grouped,
            sa.func.sum(STAGE.c.qty).label("qty"),
            sa.func.sum(STAGE.c.price).label("price"),
            sa.func.count().label("points"),
        )
        .group_by(*grouped)
        .order_by(*keys)
    )
    columns = [column.name for column in source.selected_columns]
    unique = [column.name for column in keys]
    conn.execute(
        dialect.upsert_add(
            conn.dialect.name, table, unique, ("qty", "price"), ("points",), (columns, source)
        )
    )
