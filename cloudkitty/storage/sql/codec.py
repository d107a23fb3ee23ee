"""Conversions between DataPoints and rows of the rated data tables.

A point splits into its series (scope, type, unit, groupby, metadata: what
repeats every period) and its per-period values (times, qty, price and the
four time enrichment keys). ``to_db_*`` and ``from_db_*`` live here only.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloudkitty import exceptions
from cloudkitty.dataframe import DataPoint, frozen

#: Groupby keys the collector adds from the period start; stored per point
#: (column name = key) so they do not multiply the series.
TIME_KEYS = ("year", "month", "week_of_the_year", "day_of_the_year")
TIME_VALUE_MAX = 32
ATTR_KEY_MAX = 128
ATTR_VALUE_MAX = 512
NAME_MAX = 255
SCOPE_MAX = 256

TimeValues = tuple[str | None, str | None, str | None, str | None]
NO_TIME: TimeValues = (None, None, None, None)


def _json_default(value: Any) -> Any:
    # Decimal and datetimes have no JSON spelling; keep every digit as text.
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return str(value)


def dump_json(value: Any, canonical: bool = False) -> str:
    return json.dumps(
        value,
        separators=(",", ":"),
        sort_keys=canonical,
        ensure_ascii=False,
        default=_json_default,
    )


def attr_text(value: Any) -> str:
    """The text form an attribute is grouped and filtered by.

    Strings are themselves (filters arrive as strings); other values use
    their JSON spelling (``true``, ``1.5``) so they can still be matched.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    return dump_json(value, canonical=True)


@dataclass(frozen=True)
class Series:
    """The identity of a series and the rows that describe it."""

    series_hash: str
    scope_id: str | None
    type: str
    unit: str
    groupby: str  # JSON, time keys removed
    metadata: str  # JSON
    attributes: tuple[tuple[str, str], ...]

    def to_db_row(self) -> dict[str, Any]:
        return {
            "series_hash": self.series_hash,
            "scope_id": self.scope_id,
            "type": self.type,
            "unit": self.unit,
            "groupby": self.groupby,
            "metadata": self.metadata,
        }


def _check_name(value: str, what: str, limit: int) -> str:
    if len(value) > limit:
        raise exceptions.InvalidInput(f"{what} is longer than {limit} characters: {value[:40]}...")
    return value


def _attributes(groupby: Mapping[str, Any], metadata: Mapping[str, Any]) -> tuple:
    """Queryable attributes: metadata first, then groupby (which wins).

    None values are left out (grouping by that key gives None, as for a
    missing key); so are keys and values too long to index.
    """
    merged: dict[str, str] = {}
    for source in (metadata, groupby):
        for key, value in source.items():
            if value is None:
                merged.pop(key, None)
                continue
            text = attr_text(value)
            if len(key) <= ATTR_KEY_MAX and len(text) <= ATTR_VALUE_MAX:
                merged[key] = text
            else:
                merged.pop(key, None)
    return tuple(sorted(merged.items()))


def _typed_items(mapping: Mapping[str, Any]) -> tuple:
    # The class is part of the key: 1, 1.0 and True are equal and hash
    # alike in Python but are different JSON values (different series).
    return tuple((key, value.__class__, value) for key, value in mapping.items())


def _series_of(
    scope_id: str | None,
    metric_type: str,
    unit: str,
    groupby: Mapping[str, Any],
    metadata: Mapping[str, Any],
) -> tuple[Series, TimeValues]:
    """The series of a point and its time enrichment values."""
    dims = dict(groupby)
    times: list[str | None] = []
    for key in TIME_KEYS:
        value = dims.pop(key, None)
        text = None if value is None else attr_text(value)
        if text is not None and len(text) > TIME_VALUE_MAX:
            raise exceptions.InvalidInput(
                f"groupby {key} is longer than {TIME_VALUE_MAX} characters"
            )
        times.append(text)
    meta = dict(metadata)
    metric_type = _check_name(str(metric_type), "metric type", NAME_MAX)
    unit = _check_name(str(unit), "unit", NAME_MAX)
    identity = {"s": scope_id, "t": metric_type, "u": unit, "g": dims, "m": meta}
    digest = hashlib.sha256(dump_json(identity, canonical=True).encode()).hexdigest()
    series = Series(
        series_hash=digest,
        scope_id=scope_id,
        type=metric_type,
        unit=unit,
        groupby=dump_json(dims),
        metadata=dump_json(meta),
        attributes=_attributes(dims, meta),
    )
    return series, (times[0], times[1], times[2], times[3])


@functools.lru_cache(maxsize=65536)
def _cached_series_of(
    scope_id: str | None, metric_type: str, unit: str, groupby: tuple, metadata: tuple
) -> tuple[Series, TimeValues]:
    # A processor pushes the same resources every period: hashing their
    # JSON identity once per process instead of once per point halves the
    # CPU of a push. Only pure values are cached, never database ids.
    return _series_of(
        scope_id,
        metric_type,
        unit,
        {k: v for k, _, v in groupby},
        {k: v for k, _, v in metadata},
    )


class SeriesEncoder:
    """Turns the points of one push into series and per-point time values."""

    def __init__(self, scope_id: str | None) -> None:
        if scope_id is not None:
            _check_name(str(scope_id), "scope_id", SCOPE_MAX)
        self.scope_id = None if scope_id is None else str(scope_id)
        self.series: dict[str, Series] = {}

    def encode(self, metric_type: str, point: DataPoint) -> tuple[str, TimeValues]:
        """The series hash of ``point`` and its time enrichment values."""
        try:
            series, times = _cached_series_of(
                self.scope_id,
                metric_type,
                point.unit,
                _typed_items(point.groupby),
                _typed_items(point.metadata),
            )
        except TypeError:  # unhashable values (lists, dicts) in metadata
            series, times = _series_of(
                self.scope_id, metric_type, point.unit, point.groupby, point.metadata
            )
        self.series.setdefault(series.series_hash, series)
        return series.series_hash, times


def to_db_point(
    series_id: int,
    begin: datetime.datetime,
    end: datetime.datetime,
    point: DataPoint,
    times: TimeValues,
) -> dict[str, Any]:
    # One literal (keys in TIME_KEYS order): built once per stored point.
    return {
        "series_id": series_id,
        "begin": begin,
        "end": end,
        "qty": point.qty,
        "price": point.price,
        "year": times[0],
        "month": times[1],
        "week_of_the_year": times[2],
        "day_of_the_year": times[3],
    }


def from_db_point(row: Any) -> DataPoint:
    """A DataPoint from a row with series columns and point columns."""
    groupby = json.loads(row.groupby)
    for key in TIME_KEYS:
        value = getattr(row, key)
        if value is not None:
            groupby[key] = value
    return DataPoint(
        unit=row.unit,
        qty=row.qty,
        price=row.price,
        groupby=frozen(groupby),
        metadata=frozen(json.loads(row.metadata)),
    )
