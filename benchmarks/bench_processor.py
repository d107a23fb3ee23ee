"""Processor throughput: a real Prometheus -> hashmap rating -> PostgreSQL.

Workload (issue "Rate real usage"): 200 scopes x 6 metric types x 20
resources x 24 hourly periods = 576,000 rated points, 19 hashmap rules.
The source is a real Prometheus backfilled with promtool; the store is the
SQL storage on the local PostgreSQL; the processing worker is the real one
(built by ``cloudkitty.orchestrator.service.build_deps``), run in this
process with its clock set just after the 24 periods so it catches up.

Prints rated points/s end to end, processor CPU time per point (this
process: collection parsing, rating, storage encoding; Prometheus and
PostgreSQL run in their own processes), wall time and peak RSS.

Run from the repository root: ``python benchmarks/bench_processor.py``
(``--scopes``, ``--resources``, ``--periods`` scale the workload).
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cloudkitty.db import migrate, tables
from cloudkitty.db.engine import Database
from cloudkitty.orchestrator import service, worker
from cloudkitty.rating import state as module_state
from cloudkitty.rating.hashmap import repository as hm
from cloudkitty.rating.hashmap import repository_mappings as hm_mappings
from cloudkitty.rating.hashmap import repository_thresholds as hm_thresholds
from tests import conftest
from tests.functional.services import prometheus as prom

UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 3, 2, tzinfo=UTC)
HOUR = 3600

# source metric -> (alt name, unit, groupby label, value generator)
METRICS = {
    "ck_instance_up": ("instance", "instance", "flavor_name"),
    "ck_volume_gb": ("volume.size", "GiB", "volume_type"),
    "ck_image_mb": ("image.size", "MiB", "disk_format"),
    "ck_floating_ip": ("ip.floating", "ip", "state"),
    "ck_net_in_mb": ("network.incoming", "MB", "network"),
    "ck_net_out_mb": ("network.outgoing", "MB", "network"),
}
CHOICES = {
    "flavor_name": ["m1.small", "m1.medium", "m1.large", "m1.xlarge"],
    "volume_type": ["ssd", "hdd"],
    "disk_format": ["qcow2", "raw"],
    "state": ["active", "down"],
    "network": ["public", "private"],
}


def scope_ids(count: int) -> list[str]:
    rng = random.Random(42)
    return [f"{rng.getrandbits(128):032x}" for _ in range(count)]


def write_openmetrics(path: str, scopes: list[str], resources: int, periods: int) -> int:
    """Two samples per hour per series, off the hour boundaries. Returns samples."""
    rng = random.Random(7)
    stamps = [int(T0.timestamp()) + h * HOUR + off for h in range(periods) for off in (600, 2400)]
    count = 0
    with open(path, "w") as out:
        for metric, (_alt, _unit, label) in METRICS.items():
            out.write(f"# TYPE {metric} gauge\n")
            for scope in scopes:
                for index in range(resources):
                    choice = CHOICES[label][index % len(CHOICES[label])]
                    base = 1 if metric == "ck_instance_up" else rng.randint(1, 500)
                    labels = f'id="r{index}",project_id="{scope}",{label}="{choice}"'
                    for stamp in stamps:
                        out.write(f"{metric}{{{labels}}} {base} {stamp}\n")
                        count += 1
        out.write("# EOF\n")
    return count


def write_metrics_yml(path: str) -> None:
    with open(path, "w") as out:
        out.write("metrics:\n")
        for metric, (alt, unit, label) in METRICS.items():
            out.write(
                f"  {metric}:\n    unit: {unit}\n    alt_name: {alt}\n"
                f"    groupby: [id, {label}]\n"
                "    extra_args:\n      aggregation_method: max\n"
            )


def create_rules(db: Database) -> int:
    """19 rules: a flat per service, attribute mappings, two volume thresholds."""
    start = datetime.datetime(2000, 1, 1, tzinfo=UTC)
    with db.begin() as conn:
        module_state.set_state(conn, "hashmap", enabled=True)
    count = 0
    volume_service = None
    for _metric, (alt, _unit, label) in METRICS.items():
        service = hm.create_service(db, alt)
        if alt == "volume.size":
            volume_service = service
        hm_mappings.create_mapping(
            db,
            cost=Decimal("0.01"),
            map_type="flat",
            service_id=service.service_id,
            start=start,
            force=True,
            user="bench",
        )
        count += 1
        field = hm.create_field(db, service.service_id, label)
        for choice in CHOICES[label][:2]:
            hm_mappings.create_mapping(
                db,
                cost=Decimal("0.05"),
                map_type="flat",
                field_id=field.field_id,
                value=choice,
                start=start,
                force=True,
                user="bench",
            )
            count += 1
    assert volume_service is not None
    for level, cost in (("100", "0.9"),):
        hm_thresholds.create_threshold(
            db,
            level=Decimal(level),
            cost=Decimal(cost),
            map_type="rate",
            service_id=volume_service.service_id,
        )
        count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scopes", type=int, default=200)
    parser.add_argument("--resources", type=int, default=20)
    parser.add_argument("--periods", type=int, default=24)
    args = parser.parse_args()
    expected = args.scopes * len(METRICS) * args.resources * args.periods
    scopes = scope_ids(args.scopes)
    work = tempfile.mkdtemp(prefix="ck-bench-proc-")
    samples_path = os.path.join(work, "samples.om")
    began = time.monotonic()
    samples = write_openmetrics(samples_path, scopes, args.resources, args.periods)
    print(
        f"workload: {args.scopes} scopes x {len(METRICS)} metrics x {args.resources} "
        f"resources x {args.periods} periods = {expected:,} points "
        f"({samples:,} samples, written in {time.monotonic() - began:.1f} s)"
    )
    metrics_path = os.path.join(work, "metrics.yml")
    write_metrics_yml(metrics_path)
    url = conftest.create_database("postgresql", work, prefix="ck_bench_proc")
    try:
        migrate.upgrade(url)
        db = Database.from_url(url)
        rules = create_rules(db)
        began = time.monotonic()
        with open(samples_path) as handle:
            text = handle.read()
        prom_dir = os.path.join(work, "prom")
        os.makedirs(prom_dir)
        with prom.prometheus_server(text, workdir=prom_dir) as server:
            del text
            print(
                f"prometheus backfilled and ready in {time.monotonic() - began:.1f} s; "
                f"{rules} hashmap rules"
            )
            conf = conftest.make_conf(
                url,
                collect={
                    "collector": "prometheus",
                    "metrics_conf": metrics_path,
                    "period": HOUR,
                    "wait_periods": 0,
                    "scope_key": "project_id",
                },
                collector_prometheus={"prometheus_url": server.api_url},
                fetcher={"backend": "source"},
                fetcher_source={"sources": scopes},
                orchestrator={"coordination_url": f"file://{work}/locks", "max_workers": 1},
            )
            deps = service.build_deps(conf, 0)
            deps.clock = lambda: T0 + datetime.timedelta(hours=args.periods)
            deps.locks.start()
            processing = worker.ProcessingWorker(deps)
            processing.first_period = lambda _now: T0  # type: ignore[method-assign]
            cpu0, wall0 = time.process_time(), time.monotonic()
            result = processing.sweep()
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            deps.locks.stop()
        with db.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count()).select_from(tables.metadata.tables["rated_points"])
            ).scalar_one()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"periods rated: {result.periods_rated:,}  points rated: {result.points_rated:,}  "
            f"stored: {stored:,}  failures: {result.scopes_failed}"
        )
        print(f"wall time: {wall:.1f} s")
        print(f"throughput: {result.points_rated / wall:,.0f} points/s end to end")
        print(
            f"processor CPU: {cpu:.1f} s = {cpu / max(result.points_rated, 1) * 1e6:.1f} "
            "us per point"
        )
        print(f"peak RSS: {rss_mb:.0f} MB")
        if stored != expected or result.points_rated != expected:
            print(f"ERROR: expected {expected:,} points", file=sys.stderr)
            return 1
    finally:
        conftest.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
