"""A storage backend keeping rated points in memory (lost on restart).

It shows what each method must answer; a real backend translates the same
selections into queries. Entry point, and configuration to use it::

    [options.entry_points]
    cloudkitty.storage.v2.backends =
        memory = my_package.memory:MemoryStorage

    # cloudkitty.conf
    [storage]
    backend = memory
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.storage import base


class Row(NamedTuple):
    scope_id: str | None
    begin: datetime.datetime
    end: datetime.datetime
    metric_type: str
    point: DataPoint


class MemoryStorage(base.StorageBackend):
    name = "memory"
    # No transactions: the processor commits the scope state after push.
    supports_transactions = False

    def __init__(self, conf: Any, db: Any = None) -> None:
        super().__init__(conf, db)
        self._rows: list[Row] = []
        self._lock = threading.Lock()

    def init(self) -> None:
        return None  # nothing to create

    def push(
        self, frames: Iterable[DataFrame], scope_id: str | None = None, *, conn: Any = None
    ) -> int:
        rows = [
            Row(scope_id, frame.start, frame.end, metric_type, point)
            for frame in frames
            for metric_type, point in frame.iterpoints()
        ]
        with self._lock:
            self._rows.extend(rows)
        return len(rows)

    def _select(
        self,
        begin: datetime.datetime | None,
        end: datetime.datetime | None,
        filters: Mapping[str, base.FilterValue] | None,
        metric_types: str | Sequence[str] | None,
    ) -> Iterator[Row]:
        """Rows whose period starts in [begin, end) and match every filter."""
        attributes, types = base.normalize_filters(filters, metric_types)
        with self._lock:
            rows = list(self._rows)
        for row in rows:
            if (begin and row.begin < begin) or (end and row.begin >= end):
                continue
            if types is not None and row.metric_type not in types:
                continue
            desc = row.point.desc
            if all(str(desc.get(key)) in values for key, values in attributes.items()):
                yield row

    def retrieve(
        self,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        filters: Mapping[str, base.FilterValue] | None = None,
        metric_types: str | Sequence[str] | None = None,
        offset: int = 0,
        limit: int | None = 100,
        paginate: bool = True,
    ) -> base.RetrieveResult:
        rows = sorted(self._select(begin, end, filters, metric_types), key=lambda r: r.begin)
        total = len(rows)
        if paginate:
            rows = rows[offset : None if limit is None else offset + limit]
        periods: dict[tuple[datetime.datetime, datetime.datetime], dict[str, list[DataPoint]]] = {}
        for row in rows:
            usage = periods.setdefault((row.begin, row.end), {})
            usage.setdefault(row.metric_type, []).append(row.point)
        frames = [DataFrame(start, stop, usage) for (start, stop), usage in periods.items()]
        return {"total": total, "dataframes": frames}

    def total(
        self,
        groupby: Sequence[str] | None = None,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        metric_types: str | Sequence[str] | None = None,
        filters: Mapping[str, base.FilterValue] | None = None,
        custom_fields: str | None = None,
        offset: int = 0,
        limit: int | None = 100,
        paginate: bool = True,
    ) -> base.TotalResult:
        keys = base.normalize_groupby(groupby)
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in self._select(begin, end, filters, metric_types):
            by_time = base.GROUPBY_TIME in keys
            period = (row.begin, row.end) if by_time else (begin, end)
            values = tuple(self._value(row, key) for key in keys if key != base.GROUPBY_TIME)
            group = groups.setdefault(
                (period, values),
                {"begin": period[0], "end": period[1], "qty": Decimal(0), "rate": Decimal(0)},
            )
            group["qty"] += row.point.qty
            group["rate"] += row.point.price
            group.update(zip([k for k in keys if k != base.GROUPBY_TIME], values, strict=True))
        results = [groups[key] for key in sorted(groups, key=self._order)]
        total = len(results)
        if paginate:
            results = results[offset : None if limit is None else offset + limit]
        return {"total": total, "results": results}

    @staticmethod
    def _order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        # Groups sorted by their attribute values, then by period start.
        (start, _), values = key
        return (
            tuple("" if v is None else str(v) for v in values),
            start.isoformat() if start else "",
        )

    @staticmethod
    def _value(row: Row, key: str) -> Any:
        return row.metric_type if key == base.GROUPBY_TYPE else row.point.desc.get(key)

    def delete(
        self,
        begin: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        filters: Mapping[str, base.FilterValue] | None = None,
        *,
        conn: Any = None,
    ) -> int:
        doomed = set(map(id, self._select(begin, end, filters, None)))
        with self._lock:
            before = len(self._rows)
            self._rows = [row for row in self._rows if id(row) not in doomed]
            return before - len(self._rows)

    def get_tenants(
        self, begin: datetime.datetime | None = None, end: datetime.datetime | None = None
    ) -> list[str]:
        return sorted({r.scope_id for r in self._select(begin, end, None, None) if r.scope_id})
