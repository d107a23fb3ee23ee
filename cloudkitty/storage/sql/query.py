"""The SELECTs behind ``total()`` (summaries) and ``retrieve()`` (dataframes).

A summary aggregates in two steps. First, each part of the window is summed
from the coarsest table that holds it exactly (see ``plan``): per series
from the monthly or daily rollups or the points, or, when no series
attribute is involved, per metric type from ``rated_types_daily``. Then the
sums are grouped: per-series sums are joined to the series and their
attributes, which costs as many rows as there are series, not points.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from cloudkitty.db import tables
from cloudkitty.storage import base
from cloudkitty.storage.sql import codec, dialect, windows
from cloudkitty.storage.sql.filters import ATTRS, SERIES, Filters, in_window

POINTS = tables.rated_points
DAILY = tables.rated_points_daily
MONTHLY = tables.rated_points_monthly
TYPES = tables.rated_types_daily

TIME, TYPE, TIME_KEY, ATTRIBUTE = "time", "type", "time_key", "attribute"

#: Per-series sources by unit, and the column their window applies to.
_PER_SERIES = {
    windows.MONTH: (MONTHLY, MONTHLY.c.month),
    windows.DAY: (DAILY, DAILY.c.day),
    windows.PERIOD: (POINTS, POINTS.c.begin),
}


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


@dataclass(frozen=True)
class Plan:
    """Where a summary reads from: ``units`` coarsest first; ``by_type``:
    whole days from ``rated_types_daily`` and parts carry the type, not the
    series."""

    units: tuple[str, ...]
    by_type: bool


def plan(keys: Sequence[GroupKey], filters: Filters, use_rollups: bool) -> Plan:
    """The coarsest sources that answer exactly.

    Per-type days when no series attribute is grouped or filtered on (a
    portal's cost per day or per type: a few rows a day); otherwise per
    series, whole months from the monthly rows unless time keys are
    involved (monthly rows have none), whole days from the daily rows.
    """
    kinds = {k.kind for k in keys}
    if not use_rollups or TIME in kinds:  # one row per period: points only
        return Plan((windows.PERIOD,), by_type=False)
    if ATTRIBUTE not in kinds and not filters.attributes:
        return Plan((windows.DAY, windows.PERIOD), by_type=True)
    if TIME_KEY in kinds or filters.has_time_filters:  # monthly rows have no time keys
        return Plan((windows.DAY, windows.PERIOD), by_type=False)
    return Plan((windows.MONTH, windows.DAY, windows.PERIOD), by_type=False)


def _part(
    name: str,
    unit: str,
    by_type: bool,
    lo: datetime.datetime | None,
    hi: datetime.datetime | None,
    keys: Sequence[GroupKey],
    filters: Filters,
) -> sa.Select:
    """The sums of one part of the window, per series (or per type) and per
    period/time key when grouped by them (monthly rows are taken as they are).

    A per-series part keeps the series id only when the outer query joins
    on it (type or attribute grouping): grouping by period alone then folds
    a month of points into 720 rows instead of one row per point.
    """
    source: Any
    cols: list[Any] = []
    if by_type and unit == windows.DAY:
        table, source = TYPES, TYPES
        conds = [
            *in_window(TYPES.c.day, lo, hi),
            *filters.type_conditions(TYPES.c.type),
            *filters.time_conditions(TYPES),
        ]
        if any(k.kind == TYPE for k in keys):
            cols.append(TYPES.c.type)
    else:
        table, when = _PER_SERIES[unit]
        source = table
        conds = [*in_window(when, lo, hi), *filters.conditions(table)]
        if by_type and any(k.kind == TYPE for k in keys):  # edges of a per-type read
            source = POINTS.join(SERIES, SERIES.c.id == POINTS.c.series_id)
            cols.append(SERIES.c.type.label("type"))
        elif not by_type and needs_series(keys):
            cols.append(table.c.series_id)
    for key in keys:
        if key.kind == TIME:
            cols += [table.c.begin, table.c.end]
        elif key.kind == TIME_KEY:
            cols.append(table.c[key.name])
    if unit == windows.MONTH and cols:
        # Already one row per series and month: a GROUP BY here would only
        # spend time (numeric sums are the costly part of a summary).
        return (
            sa.select(*cols, table.c.qty.label("qty"), table.c.price.label("price"))
            .select_from(source)
            .where(*conds)
        )
    return (
        sa.select(
            *cols,
            dialect.dsum(name, table.c.qty).label("qty"),
            dialect.dsum(name, table.c.price).label("price"),
        )
        .select_from(source)
        .where(*conds)
        .group_by(*cols)
    )  # no GROUP BY columns (no groupby at all): one row of grand totals


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
    chosen = plan(keys, filters, use_rollups)
    parts = [
        _part(name, unit, chosen.by_type, lo, hi, keys, filters)
        for unit, lo, hi in windows.split(begin, end, chosen.units)
    ]
    if not parts:  # empty window: an empty read keeps the result shape
        parts = [_part(name, windows.PERIOD, chosen.by_type, begin, end, keys, filters)]
    sums = (parts[0] if len(parts) == 1 else sa.union_all(*parts)).subquery("u")
    source: Any = sums
    if not chosen.by_type and any(k.kind == TYPE for k in keys):
        source = source.join(SERIES, SERIES.c.id == sums.c.series_id)
    columns: list[Any] = []
    order: list[Any] = []
    expr: Any
    for index, key in enumerate(keys):
        if key.kind == TIME:
            exprs = [sums.c.begin, sums.c.end]
            order += exprs
        else:
            if key.kind == TYPE:
                expr = sums.c.type if chosen.by_type else SERIES.c.type
            elif key.kind == TIME_KEY:
                expr = sums.c[key.name]
            else:
                attr = ATTRS.alias(f"a{index}")
                source = source.outerjoin(
                    attr,
                    sa.and_(attr.c.series_id == sums.c.series_id, attr.c.key == key.name),
                )
                expr = attr.c.value
            exprs = [expr]
            order += dialect.order_nulls_last(name, expr)
        columns += [e.label(f"g{index}_{j}") for j, e in enumerate(exprs)]
    grouped = sa.select(
        *columns,
        dialect.dsum(name, sums.c.qty).label("qty"),
        dialect.dsum(name, sums.c.price).label("rate"),
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
    counted = grouped.subquery("g")
    count = sa.select(sa.func.count()).select_from(counted)
    if not columns:  # the grand-total row exists even without data
        count = count.where(counted.c.qty.is_not(None))
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
