"""Summary latency over 10 million rated points on PostgreSQL, through HTTP.

    python benchmarks/bench_summary.py [--server URL] [--runs N] [--reload]

Loads one month (30 days of hourly periods) of 1,000 projects, 14 resources
each (4 instances, 4 volumes, 2 images, 2 floating IPs, 2 ports), i.e.
10,080,000 points, into the database ``ck_bench_summary`` through the
storage's own push (one push per project and month, as a catching-up
processor would), checks a sample of the stored data against the generator
and the rollups against the raw points, starts a real ``cloudkitty-api`` on
it and prints p50/p99 of

* ``/v2/summary?groupby=project_id``
* ``/v2/summary?groupby=type,project_id``
* ``/v2/summary?groupby=time-d``
* ``/v1/report/total?tenant_id=<one project>``

for the whole month (explicit ``begin``/``end`` of that month: the window
the API defaults to when the month is the current one). The database is kept
and reused while it holds the expected number of points (``--reload``
rebuilds it); it is migrated to head on every run.

Last measured 2026-11-27, 2 cores shared with other work (load average 1.1
to 1.6), PostgreSQL 15 with default settings, medians of 3 runs of 100 warm
requests each, p50 / p99 in ms, through HTTP (storage.total() in-process):

    /v2/summary?groupby=project_id        12.3 / 22.4   (8.1 / 11.9)
    /v2/summary?groupby=type,project_id   21.5 / 30.2   (17.1 / 22.9)
    /v2/summary?groupby=time-d             3.0 /  5.3   (0.8 / 1.2)
    /v1/report/total?tenant_id=<one>       3.1 /  9.9   (0.8 / 2.2)

    load: 285 s through push (35,000 points/s), database 1,642 MiB
    (rated_points 1,530 MiB, daily 84 MiB, monthly 2 MiB, per-type 3 MiB)

Before the monthly and per-type rollups (migration 0004), same data, runs
alternated with the ones above at load average 3 to 4: 95 / 132,
144 / 199, 67 / 98 and 3.1 / 15 ms (after: 13 / 26, 26 / 56, 4.0 / 7.0 and
3.6 / 9.1 ms at that load); load 351 s, 1,636 MiB.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import math
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cloudkitty.collector.base import time_groupby
from cloudkitty.dataframe import DataFrame, DataPoint, frozen
from cloudkitty.db import migrate
from cloudkitty.db.engine import Database, dispose_all
from cloudkitty.storage.sqlalchemy import SQLStorage
from tests.functional.services.api_server import running_api

D = decimal.Decimal
UTC = datetime.timezone.utc
MONTH = datetime.datetime(2026, 11, 1, tzinfo=UTC)
NEXT_MONTH = datetime.datetime(2026, 12, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
HOURS = int((NEXT_MONTH - MONTH) / HOUR)
PROJECTS = 1000
SERIES_PER_PROJECT = 14
EXPECTED_POINTS = PROJECTS * SERIES_PER_PROJECT * HOURS
DB_NAME = "ck_bench_summary"
#: Bumped when the generated data changes: a cached database is rebuilt.
DATA_VERSION = 1

FLAVORS = (("m1.small", D("0.025")), ("m1.medium", D("0.05")), ("m1.large", D("0.1")))
VOLUME_TYPES = (("standard", D("0.00005")), ("ssd", D("0.00012")))


def project_name(index: int) -> str:
    return f"project-{index:04d}"


def _resources(p: int) -> list[tuple[str, DataPoint]]:
    """The 14 (type, point without time keys) of project ``p``; network
    quantities are placeholders that vary per hour (see ``_hourly``)."""
    project = project_name(p)
    result = []
    for i in range(4):
        flavor, price = FLAVORS[(p + i) % len(FLAVORS)]
        groupby = {"project_id": project, "id": f"vm-{p:04d}-{i}", "flavor_name": flavor}
        meta = {"flavor_id": f"f{(p + i) % 3}", "image_id": "cirros", "az": "nova"}
        result.append(("instance", DataPoint.create("instance", 1, price, groupby, meta)))
    for i in range(4):
        vtype, rate = VOLUME_TYPES[(p * 3 + i) % len(VOLUME_TYPES)]
        size = D(10 + (p * 7 + i * 31) % 490)
        groupby = {"project_id": project, "id": f"vol-{p:04d}-{i}", "volume_type": vtype}
        result.append(("volume.size", DataPoint.create("GiB", size, size * rate, groupby, {})))
    for i in range(2):
        size = D(f"{(p * 13 + i * 7) % 4000 + 100}.{(p + i) % 100:02d}")
        groupby = {"project_id": project, "id": f"img-{p:04d}-{i}"}
        meta = {"disk_format": "qcow2", "container_format": "bare"}
        price = size * D("0.0000021")
        result.append(("image.size", DataPoint.create("MiB", size, price, groupby, meta)))
    for i in range(2):
        groupby = {"project_id": project, "id": f"fip-{p:04d}-{i}"}
        point = DataPoint.create("ip", 1, "0.005", groupby, {"state": "active"})
        result.append(("ip.floating", point))
    for i in range(2):
        groupby = {"project_id": project, "id": f"port-{p:04d}-{i}"}
        result.append(("network.outgoing.bytes", DataPoint.create("MB", 0, 0, groupby, {})))
    assert len(result) == SERIES_PER_PROJECT
    return result


def _hourly(p: int, index: int, hour: int, base: DataPoint) -> DataPoint:
    """Traffic changes every hour: 0.0 to 97.6 MB at 0.00001 per MB."""
    if not base.unit == "MB":
        return base
    qty = D((p * 17 + index * 5 + hour * 29) % 977) / 10
    return base._replace(qty=qty, price=qty * D("0.00001"))


def project_frames(p: int) -> list[DataFrame]:
    """The month of project ``p`` as hourly frames, time keys included."""
    resources = _resources(p)
    frames = []
    groupbys: list[object] = []
    for hour in range(HOURS):
        start = MONTH + hour * HOUR
        if hour % 24 == 0:  # time keys change once a day: share the dicts
            times = time_groupby(start)
            groupbys = [frozen({**dp.groupby, **times}) for _, dp in resources]
        usage: dict[str, list[DataPoint]] = {}
        for index, (metric, base) in enumerate(resources):
            point = _hourly(p, index, hour, base)._replace(groupby=groupbys[index])
            usage.setdefault(metric, []).append(point)
        frames.append(DataFrame(start, start + HOUR, usage))
    return frames


# -- the database ----------------------------------------------------------------


def _admin(server: str) -> sa.Engine:
    return sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")


def _cached_comment(server: str) -> dict | None:
    """The load record of a complete cached database, or None."""
    with _admin(server).connect() as conn:
        text = conn.execute(
            sa.text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"
            ),
            {"n": DB_NAME},
        ).scalar()
    try:
        record = json.loads(text or "")
    except ValueError:
        return None
    if record.get("version") != DATA_VERSION or record.get("points") != EXPECTED_POINTS:
        return None
    return dict(record)


def load(server: str) -> dict:
    """Create the database and push the month of every project."""
    with _admin(server).connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    url = f"{server}/{DB_NAME}"
    migrate.upgrade(url)
    storage = SQLStorage(None, Database.from_url(url))
    started = time.perf_counter()
    pushed = 0
    for p in range(PROJECTS):
        pushed += storage.push(project_frames(p), project_name(p))
        if p % 100 == 99:
            rate = pushed / (time.perf_counter() - started)
            print(f"  {p + 1} projects, {pushed:,} points, {rate:,.0f} points/s", flush=True)
    pushed_at = time.perf_counter()
    with storage.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))  # what autovacuum would reach eventually
    record = {
        "version": DATA_VERSION,
        "points": pushed,
        "push_seconds": round(pushed_at - started, 1),
        "vacuum_seconds": round(time.perf_counter() - pushed_at, 1),
    }
    assert pushed == EXPECTED_POINTS, pushed
    with _admin(server).connect() as conn:
        conn.execute(sa.text(f"COMMENT ON DATABASE \"{DB_NAME}\" IS '{json.dumps(record)}'"))
    return record


def sizes(url: str) -> Iterator[tuple[str, int]]:
    """Database size, then the rated tables' sizes (indexes included)."""
    with Database.from_url(url).connect() as conn:
        total = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        yield "database", int(total or 0)
        rows = conn.execute(
            sa.text(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
                "WHERE relkind = 'r' AND relname LIKE 'rated%' ORDER BY 2 DESC"
            )
        )
        yield from ((row[0], row[1]) for row in rows)


# -- checks -----------------------------------------------------------------------


def verify(storage: SQLStorage) -> None:
    """The stored data is what push was given; rollups answer like points."""
    p, hour = 417, 333
    start = MONTH + hour * HOUR
    stored = storage.retrieve(start, start + HOUR, {"project_id": project_name(p)})
    (frame,) = stored["dataframes"]
    expected = project_frames(p)[hour]
    for metric, points in expected.usage.items():

        def by_id(dp: DataPoint) -> str:
            return str(dp.groupby["id"])

        assert sorted(frame.points(metric), key=by_id) == sorted(points, key=by_id), metric
    raw = SQLStorage(None, storage.database, use_rollups=False)
    cases = [
        (groupby, MONTH, NEXT_MONTH, {"project_id": project_name(p)})
        for groupby in ([], ["type"], ["time-d"], ["id"], ["type", "time-w"])
    ]
    cases += [
        (["project_id"], MONTH + 9 * 24 * HOUR, MONTH + 10 * 24 * HOUR, None),
        (["type", "time-d"], MONTH + 40 * HOUR, MONTH + 47 * HOUR, None),
        (["type"], MONTH + 5 * HOUR, NEXT_MONTH - 3 * HOUR, {"project_id": project_name(7)}),
        (["flavor_name"], MONTH + 7 * HOUR, MONTH + 60 * HOUR, {"type": "instance"}),
    ]
    for groupby, begin, end, filters in cases:
        fast = storage.total(groupby, begin, end, filters=filters, limit=None)
        slow = raw.total(groupby, begin, end, filters=filters, limit=None)
        assert fast == slow, (groupby, begin, end, filters)
    print(f"verified: one frame equals the generator's, {len(cases)} totals equal raw points")


# -- timing ------------------------------------------------------------------------


def percentiles(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """(p50, p99) in ms after two warm-up calls; p99 is the nearest rank."""
    call()
    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[math.ceil(0.99 * len(samples)) - 1]


def _get(url: str) -> Callable[[], object]:
    def call() -> object:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
            assert response.status == 200, body
        return body

    return call


def queries(base: str) -> list[tuple[str, str]]:
    window = urllib.parse.urlencode({"begin": MONTH.isoformat(), "end": NEXT_MONTH.isoformat()})
    v1_window = f"begin={MONTH:%Y-%m-%dT%H:%M:%S}&end={NEXT_MONTH:%Y-%m-%dT%H:%M:%S}"
    one = project_name(417)
    return [
        ("/v2/summary?groupby=project_id", f"{base}/v2/summary?groupby=project_id&{window}"),
        (
            "/v2/summary?groupby=type,project_id",
            f"{base}/v2/summary?groupby=type&groupby=project_id&{window}",
        ),
        ("/v2/summary?groupby=time-d", f"{base}/v2/summary?groupby=time-d&{window}"),
        (
            "/v1/report/total?tenant_id=<one>",
            f"{base}/v1/report/total?tenant_id={one}&{v1_window}",
        ),
    ]


def direct_calls(storage: SQLStorage) -> list[Callable[[], object]]:
    """The storage calls behind ``queries`` (in-process, no HTTP)."""
    one = {"project_id": [project_name(417)]}
    return [
        lambda: storage.total(["project_id"], MONTH, NEXT_MONTH, filters={}),
        lambda: storage.total(["type", "project_id"], MONTH, NEXT_MONTH, filters={}),
        lambda: storage.total(["time-d"], MONTH, NEXT_MONTH, filters={}),
        lambda: storage.total(None, MONTH, NEXT_MONTH, filters=one, paginate=False),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql+psycopg2://postgres@127.0.0.1:5432")
    parser.add_argument("--runs", type=int, default=100, help="timed requests per query")
    parser.add_argument("--reload", action="store_true", help="rebuild the cached database")
    parser.add_argument("--no-verify", action="store_true", help="skip the data checks")
    args = parser.parse_args()
    url = f"{args.server}/{DB_NAME}"

    record = None if args.reload else _cached_comment(args.server)
    if record is None:
        print(f"loading {EXPECTED_POINTS:,} points into {DB_NAME} ...", flush=True)
        record = load(args.server)
    else:
        print(f"reusing {DB_NAME} ({EXPECTED_POINTS:,} points)")
    started = time.perf_counter()
    migrate.upgrade(url)  # a cached database may predate a migration
    print(f"migrate to head: {time.perf_counter() - started:.1f} s")
    print(
        f"load: push {record['push_seconds']} s "
        f"({record['points'] / record['push_seconds']:,.0f} points/s), "
        f"vacuum analyze {record['vacuum_seconds']} s"
    )
    for name, size in sizes(url):
        print(f"  size {name:<28} {size / 2**20:>9,.0f} MiB")
    storage = SQLStorage(None, Database.from_url(url))
    if not args.no_verify:
        verify(storage)

    print(f"load average before timing: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.runs} warm requests each, whole month, p50 / p99 ms:")
    with running_api(url, migrate_db=False) as base:
        for (label, address), direct in zip(queries(base), direct_calls(storage), strict=True):
            http = percentiles(_get(address), args.runs)
            inproc = percentiles(direct, args.runs)
            print(
                f"  {label:<38} HTTP {http[0]:7.1f} / {http[1]:7.1f}"
                f"   storage.total() {inproc[0]:7.1f} / {inproc[1]:7.1f}",
                flush=True,
            )
    print(f"load average after timing:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    dispose_all()


if __name__ == "__main__":
    main()
