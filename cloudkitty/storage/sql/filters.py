"""Filters and time windows as SQL conditions on the rated data tables.

A filter on an attribute becomes ``series_id IN (series having key=value)``
(served by the attribute index), a filter on a time enrichment key becomes a
condition on the point (or rollup) column, ``type`` a condition on the series
(or on the type column of the per-type rollup).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloudkitty.db import tables
from cloudkitty.storage import base
from cloudkitty.storage.sql import codec

ATTRS = tables.rated_series_attributes
SERIES = tables.rated_series


@dataclass(frozen=True)
class Filters:
    """Normalized filters: every value list is an OR, keys are ANDed."""

    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    times: Mapping[str, Sequence[str]] = field(default_factory=dict)
    types: Sequence[str] | None = None
    #: Set by ``resolved``: the series the type/attribute filters select.
    series_ids: Sequence[int] | None = None

    @classmethod
    def build(
        cls,
        filters: Mapping[str, Any] | None,
        metric_types: str | Sequence[str] | None = None,
    ) -> Filters:
        attributes, types = base.normalize_filters(filters, metric_types)
        attrs: dict[str, list[str]] = {}
        times: dict[str, list[str]] = {}
        for key, values in attributes.items():
            texts = [codec.attr_text(v) for v in values]
            (times if key in codec.TIME_KEYS else attrs)[key] = texts
        return cls(attributes=attrs, times=times, types=types)

    @property
    def has_time_filters(self) -> bool:
        return bool(self.times)

    def resolved(self, conn: Connection) -> Filters:
        """The same filters with type and attribute conditions replaced by
        the ids of the series they select.

        For writes: a DELETE whose condition is a subquery may be run from
        the time index, and InnoDB then locks every row it scans, other
        scopes' rows included (deadlocks with their pushes). A list of ids
        is read through the (series_id, ...) keys: only those rows lock.
        """
        if self.types is None and not self.attributes:
            return self
        ids = conn.execute(sa.select(SERIES.c.id).where(*self.series_conditions(SERIES.c.id)))
        return replace(self, attributes={}, types=None, series_ids=sorted(ids.scalars()))

    def series_conditions(self, series_id: Any) -> list[Any]:
        """Conditions on a ``series_id`` column."""
        conds = []
        if self.series_ids is not None:
            # Literal ids: as many as needed, beyond any bind parameter limit.
            ids: Any = sa.bindparam(
                None, list(self.series_ids), expanding=True, literal_execute=True
            )
            conds.append(series_id.in_(ids))
        if self.types is not None:
            conds.append(series_id.in_(sa.select(SERIES.c.id).where(SERIES.c.type.in_(self.types))))
        for key, values in self.attributes.items():
            conds.append(
                series_id.in_(
                    sa.select(ATTRS.c.series_id).where(
                        ATTRS.c.key == key, ATTRS.c.value.in_(values)
                    )
                )
            )
        return conds

    def type_conditions(self, column: Any) -> list[Any]:
        """Conditions on a metric type column (rollups that carry it)."""
        return [] if self.types is None else [column.in_(self.types)]

    def time_conditions(self, table: sa.Table) -> list[Any]:
        """Conditions on the time enrichment columns of points or rollups."""
        return [table.c[key].in_(values) for key, values in self.times.items()]

    def conditions(self, table: sa.Table) -> list[Any]:
        return self.series_conditions(table.c.series_id) + self.time_conditions(table)


def in_window(
    column: Any, begin: datetime.datetime | None, end: datetime.datetime | None
) -> list[Any]:
    """``begin <= column < end`` with open sides left out."""
    conds = []
    if begin is not None:
        conds.append(column >= begin)
    if end is not None:
        conds.append(column < end)
    return conds
