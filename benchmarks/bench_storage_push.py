"""Figures of the SQL storage on PostgreSQL: bulk push rate and the latency
of a /v2/summary-style ``total()`` grouped by project.

    python benchmarks/bench_storage_push.py [--server URL] [--keep]

Creates (and drops) a database ``ck_storage_bench`` on the server, pushes
100k points (first with new series, then steady-state periods), fills up to
1M points (one month, hourly, ~1400 resources in 50 projects) and times
``total(["project_id"])`` with and without the daily rollups.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import statistics
import time
from collections.abc import Callable

import sqlalchemy as sa

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import migrate
from cloudkitty.db.engine import Database, dispose_all
from cloudkitty.storage.sqlalchemy import SQLStorage

UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 5, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
DB_NAME = "ck_storage_bench"


def _frame(start: datetime.datetime, resources: int, projects: int) -> DataFrame:
    """One hour of ``resources`` instances spread over ``projects``."""
    enrichment = {
        "year": str(start.year),
        "month": str(start.month),
        "week_of_the_year": start.strftime("%U"),
        "day_of_the_year": str(start.timetuple().tm_yday),
    }
    price = decimal.Decimal("0.0416666666666666666666666667")
    points = [
        DataPoint(
            unit="instance",
            qty=decimal.Decimal(1),
            price=price,
            groupby={
                "project_id": f"project-{r % projects:04d}",
                "id": f"vm-{r:06d}",
                **enrichment,
            },
            metadata={"flavor_name": f"m1.{r % 5}", "image_id": "cirros"},
        )
        for r in range(resources)
    ]
    return DataFrame(start, start + HOUR, {"instance": points})


def _fresh_database(server: str) -> str:
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    url = f"{server}/{DB_NAME}"
    migrate.upgrade(url)
    return url


def _drop_database(server: str) -> None:
    dispose_all()
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    admin.dispose()


def _push_rate(storage: SQLStorage, frames: list[DataFrame], per_push: int) -> float:
    """Points per second, ``per_push`` frames per push() call."""
    points = sum(len(f) for f in frames)
    started = time.perf_counter()
    for index in range(0, len(frames), per_push):
        storage.push(frames[index : index + per_push], "bench")
    return points / (time.perf_counter() - started)


def _latency(call: Callable[[], object], runs: int) -> tuple[float, float]:
    call()  # warm caches and the plan
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(round(0.99 * len(samples))) - 1)]
    return statistics.median(samples), p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql+psycopg2://postgres@127.0.0.1:5432")
    parser.add_argument("--resources", type=int, default=1400)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--hours", type=int, default=720, help="periods in the 1M fill")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    url = _fresh_database(args.server)
    storage = SQLStorage(None, Database.from_url(url))
    try:
        # 100k points: 1000 resources x 100 hours, as one catch-up push of
        # 100 frames per call; the first 1000 points create the series.
        frames = [_frame(T0 + h * HOUR, 1000, args.projects) for h in range(100)]
        rate = _push_rate(storage, frames, per_push=100)
        print(f"push 100k points, new series, 100 frames/push:    {rate:>9,.0f} points/s")
        frames = [_frame(T0 + (100 + h) * HOUR, 1000, args.projects) for h in range(100)]
        rate = _push_rate(storage, frames, per_push=1)
        print(f"push 100k points, known series, 1 frame/push:     {rate:>9,.0f} points/s")
        storage.delete(None, None)

        # 1M points: one month of hourly periods, pushed a day at a time.
        started = time.perf_counter()
        total = 0
        for day in range(0, args.hours, 24):
            frames = [
                _frame(T0 + h * HOUR, args.resources, args.projects)
                for h in range(day, min(day + 24, args.hours))
            ]
            total += storage.push(frames, "bench")
        elapsed = time.perf_counter() - started
        print(f"fill {total:,} points, 24 frames/push:          {total / elapsed:>9,.0f} points/s")
        with storage.database.begin() as conn:
            conn.execute(sa.text("ANALYZE"))  # fresh statistics, as autovacuum would

        end = T0 + args.hours * HOUR
        raw = SQLStorage(None, storage.database, use_rollups=False)
        cases = [
            ("month, rollups", storage, ["project_id"], T0, end, None),
            ("month, points only", raw, ["project_id"], T0, end, None),
            ("partial days, rollups", storage, ["project_id"], T0 + 5 * HOUR, end - 7 * HOUR, None),
            (
                "one project, rollups",
                storage,
                ["project_id"],
                T0,
                end,
                {"project_id": "project-0007"},
            ),
            ("type+time-d, rollups", storage, ["type", "time-d"], T0, end, None),
            ("time (per period), points", storage, ["time"], T0, end, None),
        ]
        print(f"total() over {total:,} points, {args.runs} runs (median / p99 ms):")
        for label, driver, groupby, begin, stop, filters in cases:

            def call(d=driver, g=groupby, b=begin, e=stop, f=filters) -> object:
                return d.total(g, b, e, filters=f, limit=100)

            median, p99 = _latency(call, args.runs)
            print(f"  {label:<28} {median:8.1f} / {p99:8.1f}")
    finally:
        if not args.keep:
            _drop_database(args.server)


if __name__ == "__main__":
    main()
