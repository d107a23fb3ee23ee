"""The file collector: usage exported by another metering system, as
OpenMetrics text or CSV files (see ``file_formats``).

For one metric and period it keeps the samples of that metric whose
timestamp is in ``[start, end)`` and whose scope label is one of the asked
scopes, groups them by the metric's groupby and metadata labels and reduces
each group with ``extra_args.aggregation_method``; arithmetic is exact.
Files are parsed once and parsed again only when one of them changes.
"""

from __future__ import annotations

import bisect
import datetime
import glob
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from types import ModuleType
from typing import ClassVar

from oslo_config import cfg

from cloudkitty import exceptions
from cloudkitty.collector import base, file_formats
from cloudkitty.collector.metrics import ExtraArg, MetricDefinition
from cloudkitty.conf import collector_file
from cloudkitty.utils import units

Reducer = Callable[[Sequence[Fraction]], Fraction]

#: How each aggregation reduces the values of a group, oldest sample first.
REDUCERS: Mapping[str, Reducer] = {
    "sum": lambda values: sum(values, units.ZERO),
    "max": max,
    "min": min,
    "avg": lambda values: sum(values, units.ZERO) / len(values),
    "last": lambda values: values[-1],
    "count": lambda values: Fraction(len(values)),
}

# (path, mtime in ns, size) of every file: a change of any means re-reading.
_Signature = tuple[tuple[str, int, int], ...]


class _Index:
    """Records by metric name, each list sorted by timestamp (stable: the
    file order breaks ties, which makes ``last`` deterministic)."""

    def __init__(self, records: Iterable[file_formats.Record]) -> None:
        by_metric: dict[str, list[file_formats.Record]] = {}
        for record in records:
            by_metric.setdefault(record.metric, []).append(record)
        self.records = {
            name: sorted(recs, key=lambda r: r.timestamp) for name, recs in by_metric.items()
        }
        self.stamps = {name: [r.timestamp for r in recs] for name, recs in self.records.items()}

    def window(
        self, metric: str, start: units.Decimal, end: units.Decimal
    ) -> list[file_formats.Record]:
        stamps = self.stamps.get(metric, [])
        first = bisect.bisect_left(stamps, start)
        last = bisect.bisect_left(stamps, end)  # end is excluded
        return self.records.get(metric, [])[first:last]


class FileCollector(base.Collector):
    """Collects from files listed in ``[collector_file] paths``."""

    name = "file"
    conf_module: ClassVar[ModuleType | None] = collector_file
    EXTRA_ARGS = {"aggregation_method": ExtraArg(str, "max", tuple(REDUCERS))}

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        *,
        period: int,
        scope_key: str,
        metrics: Mapping[str, MetricDefinition],
    ) -> None:
        super().__init__(conf, period=period, scope_key=scope_key, metrics=metrics)
        if not self.options.paths:
            raise exceptions.ConfigError("[collector_file] paths: required by the file collector")
        self.patterns = list(self.options.paths)
        self.format = self.options.format
        # Metrics are collected concurrently; only one thread re-reads files.
        self._lock = threading.Lock()
        self._signature: _Signature | None = None
        self._index = _Index(())

    def fetch(
        self,
        metric: MetricDefinition,
        start: datetime.datetime,
        end: datetime.datetime,
        scope_ids: tuple[str, ...],
    ) -> Iterable[base.Sample]:
        index = self._current_index()
        wanted = set(scope_ids)
        names = (*metric.groupby, *metric.metadata)
        groups: dict[tuple[str, tuple[str, ...]], list[Fraction]] = {}
        window = index.window(
            metric.metric, file_formats.epoch_seconds(start), file_formats.epoch_seconds(end)
        )
        for record in window:
            scope = record.labels.get(self.scope_key)
            if scope not in wanted:
                continue  # other scopes, or no scope label: not attributable
            try:
                value = units.parse_number(record.value)
            except ValueError:
                raise base.InvalidQuantity(
                    metric.name, scope, record.value, "not a finite number"
                ) from None
            key = (scope, tuple(record.labels.get(name, "") for name in names))
            groups.setdefault(key, []).append(value)
        reduce = REDUCERS[metric.extra_args.get("aggregation_method", "max")]
        return [
            base.Sample(
                scope_id=scope, labels=dict(zip(names, values, strict=True)), value=reduce(group)
            )
            for (scope, values), group in groups.items()
        ]

    def _current_index(self) -> _Index:
        with self._lock:
            paths = self._expand()
            signature = self._stat(paths)
            if signature != self._signature:
                self._index = _Index(r for path in paths for r in self._read(path))
                self._signature = signature
            return self._index

    def _expand(self) -> list[str]:
        paths: list[str] = []
        for pattern in self.patterns:
            is_pattern = any(char in pattern for char in "*?[")
            matches = sorted(glob.glob(pattern)) if is_pattern else [pattern]
            paths.extend(p for p in matches if p not in paths)
        return paths

    @staticmethod
    def _stat(paths: list[str]) -> _Signature:
        signature = []
        for path in paths:
            try:
                info = os.stat(path)
            except OSError as exc:
                raise base.SourceUnreachable(f"usage file {path}: {exc.strerror}", exc) from exc
            signature.append((path, info.st_mtime_ns, info.st_size))
        return tuple(signature)

    def _read(self, path: str) -> Iterable[file_formats.Record]:
        try:
            with open(path, encoding="utf-8") as stream:
                text = stream.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise base.SourceUnreachable(f"usage file {path}: cannot read: {exc}", exc) from exc
        fmt = self.format
        if fmt == "auto":
            fmt = "csv" if path.lower().endswith(".csv") else "openmetrics"
        if fmt == "csv":
            return list(file_formats.read_csv(text, path))
        return list(file_formats.read_openmetrics(text, path))
