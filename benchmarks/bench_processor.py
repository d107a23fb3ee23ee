"""Processor throughput: a real Prometheus -> hashmap rating -> PostgreSQL.

Workload (issue "Rate real usage"): 200 scopes x 6 metric types x 20
resources x 24 hourly periods = 576,000 rated points, 19 hashmap rules.
The source is a real Prometheus backfilled with promtool (the 24 periods
end two hours before the current hour); the store is the SQL storage on
the local PostgreSQL, the scopes' states say the hour before the workload
was rated, so the processor catches up exactly the workload.

``--workers N`` (default: the processor's own default, one per CPU) runs the
real ``cloudkitty-processor`` (cotyledon master + N processing workers,
``[orchestrator] max_workers = N``) until
every scope has rated the last period; ``--workers 0`` runs one processing
worker in this process instead (what to profile with py-spy).

Prints rated points/s end to end (wall time from the start of the
processor to the commit of the last period, start-up included), processor
CPU time per point (every processor process: master and workers, or this
process), wall time, peak RSS (the largest of the processor processes), and
for context the CPU of Prometheus and of the PostgreSQL backends.

Run from the repository root: ``python benchmarks/bench_processor.py``
(``--scopes``, ``--resources``, ``--periods`` scale the workload).

Last measured (2026-11-27, 2 cores, a machine ~1.7x slower per core than
the earlier measurements: benchmarks/bench_hashmap.py gave 224,000 points/s
there against 380,000; upstream CloudKitty 25.0: ~500 points/s and 2.3 ms
of processor CPU per point). Paired runs, 2 workers (the default):

    catch_up_points   points/s              processor CPU/point  peak RSS
    0 (per period)    15,948 / 17,794       50.1 / 43.9 us       150 MB
    30,000 (default)  23,660 / 24,086       35.6 / 32.8 us       193 MB
                      21,988 / 18,307 (*)   37.6 / 45.2 us       208 / 193 MB
    60,000            25,047                34.6 us              265 MB
    100,000           22,299                38.2 us              346 MB

(*) not paired; load average 1.7-3.2 from the benchmark's own services.
PostgreSQL backends used 23.6-26.2 s of CPU per run with one period per
commit, 15.0-16.0 s with the default; Prometheus 7-9 s. On the earlier,
faster machine, one period per commit: 2 workers 31,876 / 34,941 points/s
at 23.7-24.3 us, 1 worker 22,128 / 22,912.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cloudkitty.conf import orchestrator as service_conf
from cloudkitty.db import migrate, tables
from cloudkitty.db.engine import Database
from cloudkitty.orchestrator import service, worker
from cloudkitty.rating import state as module_state
from cloudkitty.rating.hashmap import repository as hm
from cloudkitty.rating.hashmap import repository_mappings as hm_mappings
from cloudkitty.rating.hashmap import repository_thresholds as hm_thresholds
from cloudkitty.storage.state import StateRepository
from tests import conftest
from tests.functional import processor_support as ps
from tests.functional.services import prometheus as prom

UTC = datetime.timezone.utc
HOUR = 3600
#: Hours between the end of the workload and the current hour: the real
#: processor rates those (empty) periods after the workload, not during it.
MARGIN_HOURS = 2
TICKS = os.sysconf("SC_CLK_TCK")

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


def write_openmetrics(
    path: str, scopes: list[str], resources: int, periods: int, start: datetime.datetime
) -> int:
    """Two samples per hour per series, off the hour boundaries. Returns samples."""
    rng = random.Random(7)
    first = int(start.timestamp())
    stamps = [first + h * HOUR + off for h in range(periods) for off in (600, 2400)]
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


# -- measuring processes -----------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident set size of a live process (VmHWM)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def group_pids(pgid: int) -> list[int]:
    """The live processes of process group ``pgid`` (the processor's
    master and workers: it runs in its own session)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            if int(fields[2]) == pgid:
                pids.append(int(entry))
    return pids


def backend_pids(monitor: sa.Engine) -> list[int]:
    """PostgreSQL backends of the benchmark database but the monitor's own
    (``monitor`` has no pool: it never holds a connection the worker uses)."""
    with monitor.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )


class CpuTracker:
    """CPU used since ``start()`` by processes that may come and go
    (PostgreSQL backends of a pool): each is sampled while alive."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self.pids = pids
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started = False

    def sample(self) -> None:
        for pid in self.pids():
            try:
                self.last[pid] = cpu_seconds(pid)
            except OSError:
                continue  # exited between the listing and the read
            # Seen at start: count from there; born later: all of it.
            self.first.setdefault(pid, 0.0 if self.started else self.last[pid])

    def start(self) -> CpuTracker:
        self.started = False
        self.sample()
        self.started = True
        return self

    def used(self) -> float:
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


@dataclasses.dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    processes: int
    backends_cpu: float


def last_period_rated(db: Database, scopes: list[str], last: datetime.datetime) -> bool:
    states = StateRepository(db).list_states(scope_ids=scopes, limit=None)
    return len(states) == len(scopes) and all(s.last_processed_timestamp >= last for s in states)


def run_in_process(conf: object, start: datetime.datetime, periods: int) -> tuple[Run, int]:
    """One processing worker in this process, its clock right after the workload."""
    deps = service.build_deps(conf, 0)  # type: ignore[arg-type]
    deps.clock = lambda: start + datetime.timedelta(hours=periods)
    deps.locks.start()
    processing = worker.ProcessingWorker(deps)
    gc.freeze()  # as the processor's workers do once set up
    # Peak RSS of the run, not of the workload generation before it.
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    cpu0, wall0 = time.process_time(), time.monotonic()
    result = processing.sweep()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    deps.locks.stop()
    return Run(wall, cpu, peak_rss_mb(), 1, 0.0), result.points_rated


def run_service(
    config: Path, log: Path, done: Callable[[], bool], timeout: float, backends: CpuTracker
) -> tuple[Run, ps.Processor]:
    """The real cloudkitty-processor until ``done()``; CPU and peak RSS of
    its processes are read just before it is stopped."""
    wall0 = time.monotonic()
    processor = ps.Processor(config, log)
    try:
        seen: dict[int, tuple[float, float]] = {}
        while True:
            for pid in group_pids(processor.process.pid):
                try:
                    seen[pid] = (cpu_seconds(pid), peak_rss_mb(pid))
                except OSError:
                    pass
            backends.sample()
            if done():
                wall = time.monotonic() - wall0
                break
            if not processor.alive():
                raise RuntimeError(f"the processor exited:\n{processor.log()[-3000:]}")
            if time.monotonic() - wall0 > timeout:
                raise RuntimeError(f"not done after {timeout} s:\n{processor.log()[-3000:]}")
            time.sleep(0.2)
        for pid in group_pids(processor.process.pid):
            seen[pid] = (cpu_seconds(pid), peak_rss_mb(pid))
        backends.sample()
    finally:
        processor.stop()
    cpu = sum(c for c, _ in seen.values())
    rss = max(r for _, r in seen.values())
    return Run(wall, cpu, rss, len(seen), 0.0), processor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scopes", type=int, default=200)
    parser.add_argument("--resources", type=int, default=20)
    parser.add_argument("--periods", type=int, default=24)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processing workers of a real cloudkitty-processor (default: one per CPU, "
        "as [orchestrator] max_workers); 0: one worker in this process",
    )
    parser.add_argument(
        "--catch-up-points",
        type=int,
        default=service_conf.CATCH_UP_POINTS,
        help="[orchestrator] catch_up_points of the processor (0: one period per commit)",
    )
    args = parser.parse_args()
    expected = args.scopes * len(METRICS) * args.resources * args.periods
    scopes = scope_ids(args.scopes)
    start = ps.recent_start(args.periods, MARGIN_HOURS)
    work = tempfile.mkdtemp(prefix="ck-bench-proc-")
    samples_path = os.path.join(work, "samples.om")
    began = time.monotonic()
    samples = write_openmetrics(samples_path, scopes, args.resources, args.periods, start)
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
        ps.seed_states(url, scopes, start - datetime.timedelta(hours=1), collector="prometheus")
        began = time.monotonic()
        prom_dir = os.path.join(work, "prom")
        os.makedirs(prom_dir)
        with prom.prometheus_server(Path(samples_path), workdir=prom_dir) as server:
            print(
                f"prometheus backfilled and ready in {time.monotonic() - began:.1f} s; "
                f"{rules} hashmap rules; load average {os.getloadavg()[0]:.1f}"
            )
            prom_cpu0 = cpu_seconds(server.process.pid)
            last = start + datetime.timedelta(hours=args.periods - 1)
            monitor = sa.create_engine(url, poolclass=sa.pool.NullPool)
            backends = CpuTracker(lambda: backend_pids(monitor)).start()
            if args.workers == 0:
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
                    orchestrator={
                        "coordination_url": f"file://{work}/locks",
                        "max_workers": 1,
                        "catch_up_points": args.catch_up_points,
                    },
                )
                run, rated = run_in_process(conf, start, args.periods)
                mode = "one processing worker in the benchmark process"
            else:
                config = ps.write_config(
                    Path(work) / "cloudkitty.conf",
                    url,
                    scopes=scopes,
                    collector="prometheus",
                    metrics_conf=Path(metrics_path),
                    groups={
                        "collector_prometheus": {"prometheus_url": server.api_url},
                        "orchestrator": {
                            "max_workers": args.workers,
                            "catch_up_points": args.catch_up_points,
                        },
                    },
                )
                run, _processor = run_service(
                    config,
                    Path(work) / "processor.log",
                    lambda: last_period_rated(db, scopes, last),
                    timeout=3600,
                    backends=backends,
                )
                rated = expected  # checked against the stored points below
                mode = f"cloudkitty-processor, {args.workers} processing worker(s)"
            prom_cpu = cpu_seconds(server.process.pid) - prom_cpu0
            run.backends_cpu = backends.used()
            load = os.getloadavg()[0]
        with db.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count()).select_from(tables.metadata.tables["rated_points"])
            ).scalar_one()
        print(f"mode: {mode} ({run.processes} process(es))")
        print(f"points rated: {rated:,}  stored: {stored:,}")
        print(f"wall time: {run.wall:.1f} s")
        print(f"throughput: {stored / run.wall:,.0f} points/s end to end")
        print(f"processor CPU: {run.cpu:.1f} s = {run.cpu / max(stored, 1) * 1e6:.1f} us per point")
        print(f"peak RSS: {run.rss_mb:.0f} MB (largest processor process)")
        print(
            f"context: Prometheus CPU {prom_cpu:.1f} s, PostgreSQL backends CPU "
            f"{run.backends_cpu:.1f} s, load average {load:.1f}"
        )
        if stored != expected or rated != expected:
            print(f"ERROR: expected {expected:,} points", file=sys.stderr)
            return 1
    finally:
        conftest.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
