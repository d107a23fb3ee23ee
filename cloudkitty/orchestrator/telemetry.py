"""Prometheus metrics of the processor: what was rated, how late, what failed.

Worker processes share the figures through prometheus-client's multiprocess
mode when ``PROMETHEUS_MULTIPROC_DIR`` is set (the processor sets it before
forking); the exporter is started by the service.
"""

from __future__ import annotations

import datetime

from prometheus_client import Counter, Gauge, Histogram

PERIODS_RATED = Counter("cloudkitty_periods_rated_total", "Scope-periods rated and committed.")
POINTS_RATED = Counter("cloudkitty_points_rated_total", "Rated points committed to storage.")
COLLECT_ERRORS = Counter(
    "cloudkitty_collector_errors_total",
    "Failures while listing scopes or collecting usage, by cause.",
    ["cause"],
)
RATING_LAG = Gauge(
    "cloudkitty_scope_rating_lag_seconds",
    "Seconds between the end of the last rated period of a scope and now.",
    ["scope"],
    multiprocess_mode="livemax",
)
COLLECT_SECONDS = Histogram(
    "cloudkitty_collect_seconds",
    "Time to collect every metric of one period for one batch of scopes.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def record_rated(
    scope_id: str,
    start: datetime.datetime,
    end: datetime.datetime,
    points: int,
    now: datetime.datetime,
) -> None:
    PERIODS_RATED.inc()
    POINTS_RATED.inc(points)
    RATING_LAG.labels(scope=scope_id).set(max((now - end).total_seconds(), 0.0))
