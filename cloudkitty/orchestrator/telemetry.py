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
# Per-scope gauges: a scope may be rated by one worker, then by another
# (shares, locks, restarts). The most recent value is the truth; "livemax"
# kept a stale larger value of the worker that rated the scope before.
RATING_LAG = Gauge(
    "cloudkitty_scope_rating_lag_seconds",
    "Seconds between the end of the last rated period of a scope and now.",
    ["scope"],
    multiprocess_mode="livemostrecent",
)
SCOPE_ERRORS = Gauge(
    "cloudkitty_scope_consecutive_errors",
    "Failed attempts in a row to rate the next period of a scope (its "
    "error_count; 0 once that period is rated). The reason is the scope's "
    "last_error in GET /v2/scope.",
    ["scope"],
    multiprocess_mode="livemostrecent",
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
    SCOPE_ERRORS.labels(scope=scope_id).set(0)


def record_failed(scope_id: str, cause: str, consecutive: int | None) -> None:
    """A scope-period was not rated; ``consecutive`` is the scope's
    error_count when it could be recorded (None: the database is down)."""
    COLLECT_ERRORS.labels(cause=cause).inc()
    if consecutive is not None:
        SCOPE_ERRORS.labels(scope=scope_id).set(consecutive)
