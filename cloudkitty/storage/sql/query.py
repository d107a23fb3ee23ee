"""The SELECTs behind ``total()`` (summaries) and ``retrieve()`` (dataframes).

A summary aggregates in two steps: first per series (and per period or time
key when grouped by them) over the narrow point and rollup tables, then the
per-series sums are joined to the series and their attributes and summed
per group. The first step reads many rows but no strings; the second joins
only as many rows as there are series.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from cloudkitty.db import tables
from cloudkitty.storage import base
from cloudkitty.storage.sql import codec, dialect, rollup
from cloudkitty.storage.sql.filters import ATTRS, SERIES, Filters, in_window

POINTS = tables.rated_points
DAILY = tables.rated_points_daily

TIME, TYPE, TIME_KEY, ATTRIBUTE = "time", "type", "time_key", "attribute"


@dataclass(frozen=True)
class GroupKey:
    """One requested grouping: ``name`` is the key of the result rows."""

    name: str
    kind: str


def plan_groupby(groupby: Sequence[str] | None) -> list[GroupKey]:
    keys = []
    for name in base.normalize_groupby(groupby):
        if name == base.GROUPBY_TIME:
            kind = TIME
        elif name == base.GROUPBY_TYPE:
            kind = TYPE
        elif name in codec.TIME_KEYS:
            kind = TIME_KEY
        else:
            kind = ATTRIBUTE
        keys.append(GroupKey(name, kind))
    return keys


def needs_series(keys: Sequence[GroupKey]) -> bool:
    return any(k.kind in (TYPE, ATTRIBUTE) for k in keys)


def _per_series(
    name: str,
    table: sa.Table,
    when: Any,
    begin: datetime.datetime | None,
    end: datetime.datetime | None,
    keys: Sequence[GroupKey],
    filters: Filters,
) -> sa.Select:
    """Sums per series (and per period/time key) of points or rollups.

    The series id is kept only when the outer query joins on it (type or
    attribute grouping): grouping by period alone then folds a month of
    points into 720 rows instead of one row per point.
    """
    cols = [table.c.series_id] if needs_series(keys) else []
    for key in keys:
        if key.kind == TIME:
            cols += [table.c.begin, table.c.end]
        elif key.kind == TIME_KEY:
            cols.append(table.c[key.name])
    return (
        sa.select(
            *cols,
            dialect.dsum(name, table.c.qty).label("qty"),
            dialect.dsum(name, table.c.price).label("price"),
        )
        .where(*in_window(when, begin, end), *filters.conditions(table))
        .group_by(*cols)
    )  # no GROUP BY columns (no groupby at all): one row of grand totals


def _sources(
    name: str,
    keys: Sequence[GroupKey],
    filters: Filters,
    begin: datetime.datetime | None,
    end: datetime.datetime | None,
    use_rollups: bool,
) -> list[sa.Select]:
    """Whole days from the rollups, the rest of the window from the points.

    Grouping by period (``time``) needs the points themselves.
    """
    days = None
    if use_rollups and all(k.kind != TIME for k in keys):
        days = rollup.whole_days(begin, end)
    if days is None:
        return [_per_series(name, POINTS, POINTS.c.begin, begin, end, keys, filters)]
    first, last = days
    parts = [_per_series(name, DAILY, DAILY.c.day, first, last, keys, filters)]
    if first is not None and begin is not None and begin < first:
        parts.append(_per_series(name, POINTS, POINTS.c.begin, begin, first, keys, filters))
    if last is not None and end is not None and last < end:
        parts.append(_per_series(name, POINTS, POINTS.c.begin, last, end, keys, filters))
    return parts


@dataclass(frozen=True)
class TotalQuery:
    """``page`` has one row per group (labels g<i>_<j>, qty, rate, groups);
    ``count`` counts the groups when the page is empty."""

    page: sa.Select
    count: sa.Select


def total_query(
    name: str,
    keys: Sequence[GroupKey],
    filters: Filters,
    begin: datetime.datetime | None,
    end: datetime.datetime | None,
    offset: int,
    limit: int | None,
    use_rollups: bool = True,
) -> TotalQuery:
    parts = _sources(name, keys, filters, begin, end, use_rollups)
    per_series = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("u")
    source: Any = per_series
    if any(k.kind == TYPE for k in keys):
        source = source.join(SERIES, SERIES.c.id == per_series.c.series_id)
    columns: list[Any] = []
    order: list[Any] = []
    expr: Any
    for index, key in enumerate(keys):
        if key.kind == TIME:
            exprs = [per_series.c.begin, per_series.c.end]
            order += exprs
        else:
            if key.kind == TYPE:
                expr = SERIES.c.type
            elif key.kind == TIME_KEY:
                expr = per_series.c[key.name]
            else:
                attr = ATTRS.alias(f"a{index}")
                source = source.outerjoin(
                    attr,
                    sa.and_(attr.c.series_id == per_series.c.series_id, attr.c.key == key.name),
                )
                expr = attr.c.value
            exprs = [expr]
            order += dialect.order_nulls_last(name, expr)
        columns += [e.label(f"g{index}_{j}") for j, e in enumerate(exprs)]
    grouped = sa.select(
        *columns,
        dialect.dsum(name, per_series.c.qty).label("qty"),
        dialect.dsum(name, per_series.c.price).label("rate"),
    ).select_from(source)
    if columns:
        grouped = grouped.group_by(*(c.element for c in columns))
    # COUNT(*) OVER () runs after GROUP BY: the number of groups, computed
    # with the page in one pass instead of a second aggregation.
    page = grouped.add_columns(sa.func.count().over().label("groups")).order_by(*order)
    if offset:
        page = page.offset(offset)
    if limit is not None:
        page = page.limit(limit)
    count = sa.select(sa.func.count()).select_from(grouped.subquery("g"))
    return TotalQuery(page=page, count=count)


def retrieve_queries(
    name: str,
    filters: Filters,
    begin: datetime.datetime | None,
    end: datetime.datetime | None,
) -> tuple[sa.Select, sa.Select]:
    """(count of points, points joined to their series in a stable order)."""
    conds = [*in_window(POINTS.c.begin, begin, end), *filters.conditions(POINTS)]
    count = sa.select(sa.func.count()).select_from(POINTS).where(*conds)
    rows = (
        sa.select(
            POINTS.c.begin,
            POINTS.c.end,
            POINTS.c.qty,
            POINTS.c.price,
            *(POINTS.c[k] for k in codec.TIME_KEYS),
            SERIES.c.type,
            SERIES.c.unit,
            SERIES.c.groupby,
            SERIES.c.metadata,
        )
        .select_from(POINTS.join(SERIES, SERIES.c.id == POINTS.c.series_id))
        .where(*conds)
        .order_by(POINTS.c.begin, POINTS.c.end, dialect.sortable(name, SERIES.c.type), POINTS.c.id)
    )
    return count, rows


def tenants_query(begin: datetime.datetime | None, end: datetime.datetime | None) -> sa.Select:
    has_points = (
        sa.select(sa.literal(1))
        .where(POINTS.c.series_id == SERIES.c.id, *in_window(POINTS.c.begin, begin, end))
        .exists()
    )
    return (
        sa.select(SERIES.c.scope_id)
        .where(SERIES.c.scope_id.is_not(None), has_points)
        .distinct()
        .order_by(SERIES.c.scope_id)
    )
