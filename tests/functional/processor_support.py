"""Shared helpers of the processor acceptance tests (tests/functional/test_processor_*.py).

They drive the REAL processor: either ``cloudkitty-processor`` as an OS
process (crash, concurrency and error tests) or ``ProcessingWorker`` built by
``cloudkitty.orchestrator.service.build_deps`` from a real configuration (the
rating tests, which need a controlled clock). What lives here:

* databases named ``ck_proc_<hex>`` on the shared servers, migrated;
* a generated usage workload (instances with flavors, volumes) as samples
  for the file collector or for a backfilled Prometheus, and an ORACLE that
  computes every expected quantity and price from the generated samples,
  independently of the collector and of the hashmap engine;
* hashmap rules created through the repository functions;
* a ``cloudkitty-processor`` process handle (process group, SIGKILL);
* a Prometheus that can be stopped and started again on the same TSDB;
* per scope-period totals read with plain SQL, to compare runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from cloudkitty.db import migrate, tables
from cloudkitty.db.engine import Database
from cloudkitty.rating import state as module_state
from cloudkitty.rating.hashmap import repository as hm
from cloudkitty.rating.hashmap import repository_mappings as hm_mappings
from cloudkitty.rating.hashmap import repository_thresholds as hm_thresholds
from cloudkitty.storage.state import StateRepository
from cloudkitty.utils import units
from tests import conftest
from tests.functional.services import prometheus as prom_service
from tests.functional.services.api_server import free_port

UTC = datetime.timezone.utc
HOUR = 3600
DB_PREFIX = "ck_proc"
RULES_START = datetime.datetime(2000, 1, 1, tzinfo=UTC)

# -- scratch space ---------------------------------------------------------------


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A private scratch directory. Not pytest's ``tmp_path``: concurrent
    pytest runs of other engineers rotate /tmp/pytest-of-<user> and can
    delete it under a processor that still reads its files."""
    path = Path(tempfile.mkdtemp(prefix="ck-proc-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- databases -----------------------------------------------------------------


def new_database(backend: str, tmp_dir: str) -> str:
    """A migrated, empty database ``ck_proc_<hex>`` on ``backend``; its URL."""
    url = conftest.create_database(backend, tmp_dir, prefix=DB_PREFIX)
    migrate.upgrade(url)
    return url


@contextlib.contextmanager
def database(backend: str, tmp_dir: str) -> Iterator[str]:
    url = new_database(backend, tmp_dir)
    try:
        yield url
    finally:
        conftest.drop_database(url)


#: application_name of the test's own sessions, spared by terminate_connections
OBSERVER = "ck_proc_observer"


def observer_url(db_url: str) -> str:
    """``db_url`` for the test's own reads, marked so outages spare them."""
    url = sa.engine.make_url(db_url).update_query_dict({"application_name": OBSERVER})
    return url.render_as_string(hide_password=False)


def terminate_connections(db_url: str) -> int:
    """Kill the PostgreSQL sessions of this test's database, except the
    test's own (``observer_url``): a DB outage as the processor sees it,
    and other databases of the shared server are spared."""
    name = sa.engine.make_url(db_url).database
    engine = sa.create_engine(f"{conftest.PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid() "
                    "AND application_name <> :observer"
                ),
                {"name": name, "observer": OBSERVER},
            ).all()
        return len(rows)
    finally:
        engine.dispose()


# -- configuration ---------------------------------------------------------------


METRICS_YML = """\
metrics:
  instance_up:
    alt_name: instance
    unit: hour
    factor: 1/4            # one sample every 15 minutes
    groupby: [instance_id]
    metadata: [flavor_name]
    extra_args: {aggregation_method: sum}
  volume_size:
    alt_name: volume.size
    unit: GiB
    groupby: [volume_id]
    metadata: [volume_type]
    extra_args: {aggregation_method: max}
"""


def write_config(
    path: Path,
    db_url: str,
    *,
    scopes: Sequence[str],
    collector: str,
    metrics_conf: Path,
    groups: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """A cloudkitty.conf for a processor: source fetcher over ``scopes``,
    period 1 h, wait_periods 0, one processing worker, no reprocessing,
    retries after at most 1 s, about two periods per catch-up commit;
    ``groups`` adds or overrides options."""
    options: dict[str, dict[str, Any]] = {
        "DEFAULT": {"debug": "false"},
        "database": {"connection": db_url},
        "collect": {
            "collector": collector,
            "period": HOUR,
            "wait_periods": 0,
            "metrics_conf": str(metrics_conf),
            "scope_key": "project_id",
        },
        "fetcher": {"backend": "source"},
        "fetcher_source": {"sources": ",".join(scopes)},
        "orchestrator": {
            "coordination_url": f"file://{path.parent / 'locks'}",
            "max_workers": 1,
            "max_workers_reprocessing": 0,
            "retry_backoff_max": 1,
            # A few periods per commit when catching up (the workloads here
            # hold ~15 points a period): multi-period commits are exercised,
            # and crash tests still find many commits to interrupt.
            "catch_up_points": 30,
        },
    }
    for group, values in (groups or {}).items():
        options.setdefault(group, {}).update(values)
    lines = []
    for group, values in options.items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {value}" for name, value in values.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def conf_from_file(path: Path) -> Any:
    """A fully registered ConfigOpts read from ``path`` (as the processor does)."""
    from oslo_config import cfg

    from cloudkitty import conf as ck_conf

    conf = cfg.ConfigOpts()
    ck_conf.register_all(conf)
    conf(["--config-file", str(path)], project="cloudkitty", default_config_files=[])
    return conf


def seed_states(
    db_url: str,
    scopes: Iterable[str],
    previous: datetime.datetime,
    *,
    collector: str,
    fetcher: str = "source",
) -> None:
    """States saying ``previous`` was rated: the processor starts right after
    (instead of at the start of the current month)."""
    repository = StateRepository(Database.from_url(db_url))
    for scope in scopes:
        repository.create(
            scope, previous, scope_key="project_id", fetcher=fetcher, collector=collector
        )


def states(db_url: str, collector: str) -> dict[str, Any]:
    """``{scope: ScopeState}`` of the scopes rated with ``collector``."""
    repository = StateRepository(Database.from_url(db_url))
    return {s.scope_id: s for s in repository.list_states(collectors=collector, limit=None)}


def progress(db_url: str, collector: str, first: datetime.datetime) -> int:
    """Scope-periods rated since ``first`` (sum over the scopes)."""
    total = 0
    for state in states(db_url, collector).values():
        rated = (state.last_processed_timestamp - first).total_seconds() // HOUR + 1
        total += max(int(rated), 0)
    return total


# -- hashmap rules and the independent price oracle --------------------------------

FLAVOR_COST = {"m1.small": Decimal("0.5"), "m1.large": Decimal("2.25")}  # m1.tiny: none
TENANT_LARGE_COST = Decimal("2")  # m1.large for the first scope only
INSTANCE_BASE = Decimal("0.1")
VOLUME_FLAT = Decimal("0.001")
VOLUME_RATES = ((Decimal(200), Decimal("0.95")), (Decimal(50), Decimal("0.98")))


def create_rules(db_url: str, tenant: str) -> None:
    """Enable hashmap and create the rules the oracle prices with:

    * ``instance``: group ``base`` service mapping flat 0.1; group
      ``flavor``: field ``flavor_name`` m1.small flat 0.5, m1.large flat 2.25
      (2 for ``tenant``);
    * ``volume.size``: group ``vol`` service mapping flat 0.001 and service
      thresholds 50 -> rate 0.98, 200 -> rate 0.95.
    """
    db = Database.from_url(db_url)
    with db.begin() as conn:
        module_state.set_state(conn, "hashmap", enabled=True, priority=10)
    base = hm.create_group(db, "base")
    flavor = hm.create_group(db, "flavor")
    vol = hm.create_group(db, "vol")
    instance = hm.create_service(db, "instance")
    flavor_field = hm.create_field(db, instance.service_id, "flavor_name")
    volume = hm.create_service(db, "volume.size")

    def mapping(**kwargs: Any) -> None:
        kwargs.setdefault("map_type", "flat")
        hm_mappings.create_mapping(db, user="test", start=RULES_START, force=True, **kwargs)

    mapping(cost=INSTANCE_BASE, service_id=instance.service_id, group_id=base.group_id)
    for name, cost in FLAVOR_COST.items():
        mapping(cost=cost, field_id=flavor_field.field_id, value=name, group_id=flavor.group_id)
    mapping(
        cost=TENANT_LARGE_COST,
        field_id=flavor_field.field_id,
        value="m1.large",
        group_id=flavor.group_id,
        tenant_id=tenant,
    )
    mapping(cost=VOLUME_FLAT, service_id=volume.service_id, group_id=vol.group_id)
    for level, rate in VOLUME_RATES:
        hm_thresholds.create_threshold(
            db,
            level=level,
            cost=rate,
            map_type="rate",
            service_id=volume.service_id,
            group_id=vol.group_id,
        )


def expected_price(
    metric: str, scope: str, qty: Decimal, attrs: Mapping[str, str], tenant: str
) -> Decimal:
    """The price of one point under ``create_rules``, written out by hand."""
    if metric == "instance":
        cost = FLAVOR_COST.get(attrs["flavor_name"], Decimal(0))
        if scope == tenant and attrs["flavor_name"] == "m1.large":
            cost = TENANT_LARGE_COST
        return INSTANCE_BASE * qty + cost * qty  # two groups add up
    rate = next((r for level, r in VOLUME_RATES if qty >= level), Decimal(1))
    return VOLUME_FLAT * qty * rate


# -- the generated workload --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Point:
    """One expected rated point."""

    scope: str
    begin: datetime.datetime
    metric: str  # rated type (alt_name)
    resource: str
    qty: Decimal
    price: Decimal


@dataclasses.dataclass
class Workload:
    """Generated samples and the points they must be rated into."""

    scopes: list[str]
    start: datetime.datetime  # first period start
    periods: int
    series: list[prom_service.Series]
    expected: list[Point]

    @property
    def end(self) -> datetime.datetime:
        return self.start + datetime.timedelta(seconds=HOUR * self.periods)

    @property
    def previous(self) -> datetime.datetime:
        """The state to seed: the period before the first one."""
        return self.start - datetime.timedelta(seconds=HOUR)

    def totals(self) -> dict[tuple[str, datetime.datetime], tuple[int, Decimal, Decimal]]:
        """``{(scope, begin): (points, sum qty, sum price)}`` expected."""
        result: dict[tuple[str, datetime.datetime], tuple[int, Decimal, Decimal]] = {}
        for p in self.expected:
            count, qty, price = result.get((p.scope, p.begin), (0, Decimal(0), Decimal(0)))
            result[(p.scope, p.begin)] = (count + 1, qty + p.qty, price + p.price)
        return result

    def summary(self) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        return expected_summary(self.expected)

    def openmetrics(self) -> str:
        return prom_service.format_openmetrics(self.series)

    def write_file(self, path: Path) -> Path:
        path.write_text(self.openmetrics())
        return path


def expected_summary(points: Iterable[Point]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """``{(scope, type): (sum qty, sum price)}`` of expected points."""
    result: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for p in points:
        qty, price = result.get((p.scope, p.metric), (Decimal(0), Decimal(0)))
        result[(p.scope, p.metric)] = (qty + p.qty, price + p.price)
    return {k: (q.normalize(), v.normalize()) for k, (q, v) in result.items()}


def generate(
    scopes: Sequence[str],
    start: datetime.datetime,
    periods: int,
    *,
    seed: int,
    tenant: str | None = None,
    instances: tuple[int, int] = (1, 3),
    volumes: tuple[int, int] = (1, 2),
) -> Workload:
    """Instances (an ``instance_up`` sample of 1 every 15 minutes while it
    runs) and volumes (a ``volume_size`` GiB sample every 15 minutes, resized
    once) for each scope over ``periods`` hours from ``start``.

    Samples sit 30 s into a minute, never on an hour boundary (Prometheus
    2.x range selectors are closed at both ends); values are integers, so
    Prometheus' float sums are exact. The expected points follow from the
    samples alone: qty(instance) = samples in the hour / 4, qty(volume) =
    the largest size in the hour, prices by ``expected_price``.
    """
    rng = random.Random(seed)
    tenant = tenant if tenant is not None else scopes[0]
    base = int(start.timestamp())
    slots = periods * 4
    series: list[prom_service.Series] = []
    expected: list[Point] = []

    def stamp(slot: int, minute: int) -> int:
        return base + slot * 900 + minute * 60 + 30

    def begin_of(slot: int) -> datetime.datetime:
        return start + datetime.timedelta(seconds=(slot // 4) * HOUR)

    for scope in scopes:
        for index in range(rng.randint(*instances)):
            rid = f"{scope}-vm{index}"
            flavor = rng.choice(("m1.tiny", "m1.small", "m1.large"))
            first, last = sorted(rng.sample(range(slots), 2))
            running = [s for s in range(first, last + 1) if rng.random() > 0.15]
            labels = {"project_id": scope, "instance_id": rid, "flavor_name": flavor}
            series.append(
                prom_service.Series("instance_up", labels, tuple((stamp(s, 7), 1) for s in running))
            )
            per_hour: dict[datetime.datetime, int] = {}
            for s in running:
                per_hour[begin_of(s)] = per_hour.get(begin_of(s), 0) + 1
            for begin, count in per_hour.items():
                qty = units.to_decimal(Fraction(count, 4))
                price = expected_price("instance", scope, qty, labels, tenant)
                expected.append(Point(scope, begin, "instance", rid, qty, price))
        for index in range(rng.randint(*volumes)):
            rid = f"{scope}-vol{index}"
            kind = rng.choice(("ssd", "hdd"))
            sizes = rng.sample((10, 20, 50, 80, 120, 200, 250, 500), 2)
            resize = rng.randrange(slots)
            values = {s: sizes[0] if s < resize else sizes[1] for s in range(slots)}
            labels = {"project_id": scope, "volume_id": rid, "volume_type": kind}
            series.append(
                prom_service.Series(
                    "volume_size", labels, tuple((stamp(s, 2), v) for s, v in values.items())
                )
            )
            per_hour_max: dict[datetime.datetime, int] = {}
            for s, v in values.items():
                per_hour_max[begin_of(s)] = max(per_hour_max.get(begin_of(s), 0), v)
            for begin, size in per_hour_max.items():
                qty = Decimal(size)
                price = expected_price("volume.size", scope, qty, labels, tenant)
                expected.append(Point(scope, begin, "volume.size", rid, qty, price))
    return Workload(list(scopes), start, periods, series, expected)


def recent_start(periods: int, margin_hours: int = 3) -> datetime.datetime:
    """A first period such that the workload ends ``margin_hours`` before
    the current hour: a real processor (wall clock) catches up and idles."""
    now = datetime.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - datetime.timedelta(hours=periods + margin_hours)


# -- reading what was stored -------------------------------------------------------


def stored_totals(db_url: str) -> dict[tuple[str, datetime.datetime], tuple[int, Decimal, Decimal]]:
    """``{(scope, begin): (points, sum qty, sum price)}`` from rated_points,
    read with plain SQL (independent of the storage driver's read path) and
    summed here: SQLite's SUM would go through floats."""
    points, series = tables.rated_points, tables.rated_series
    stmt = sa.select(series.c.scope_id, points.c.begin, points.c.qty, points.c.price).select_from(
        points.join(series, series.c.id == points.c.series_id)
    )
    with Database.from_url(db_url).connect() as conn:
        rows = conn.execute(stmt).all()
    totals: dict[tuple[str, datetime.datetime], tuple[int, Decimal, Decimal]] = {}
    for scope, begin, qty, price in rows:
        key = (scope, _utc(begin))
        count, qty_sum, price_sum = totals.get(key, (0, Decimal(0), Decimal(0)))
        totals[key] = (count + 1, qty_sum + qty, price_sum + price)
    return normalized(totals)


def summary(db_url: str) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """``{(scope, type): (qty, rate)}`` through the storage driver's
    ``total`` (the API's summary path: rollup tables where it can)."""
    from cloudkitty.storage.sqlalchemy import SQLStorage

    storage = SQLStorage(None, Database.from_url(db_url))
    rows = storage.total(groupby=["project_id", "type"], paginate=False)["results"]
    return {
        (row["project_id"], row["type"]): (row["qty"].normalize(), row["rate"].normalize())
        for row in rows
    }


def normalized(totals: Mapping[Any, tuple[int, Decimal, Decimal]]) -> dict[Any, tuple]:
    return {
        k: (c, Decimal(q).normalize(), Decimal(p).normalize()) for k, (c, q, p) in totals.items()
    }


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stored_points(db_url: str) -> list[Point]:
    """Every stored point, through the storage driver (API read path)."""
    from cloudkitty.storage.sqlalchemy import SQLStorage

    storage = SQLStorage(None, Database.from_url(db_url))
    frames = storage.retrieve(paginate=False)["dataframes"]
    result = []
    for frame in frames:
        for metric, point in frame.iterpoints():
            key = "instance_id" if "instance_id" in point.groupby else "volume_id"
            resource = point.groupby.get(key) or point.groupby.get("id")
            result.append(
                Point(
                    point.groupby["project_id"],
                    _utc(frame.start),
                    metric,
                    str(resource),
                    point.qty,
                    point.price,
                )
            )
    return result


def point_key(p: Point) -> tuple:
    return (p.scope, p.begin, p.metric, p.resource)


# -- processes --------------------------------------------------------------------


def processor_command() -> list[str]:
    script = shutil.which("cloudkitty-processor", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "cloudkitty.cmd.processor"]


class Processor:
    """A ``cloudkitty-processor`` process in its own process group (the
    master and its forked workers), logging to ``log_path``."""

    def __init__(self, config: Path, log_path: Path) -> None:
        self.config = config
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*processor_command(), "--config-file", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: master and workers die mid-whatever."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (graceful), SIGKILL if still there after ``timeout``."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running(config: Path, log_path: Path) -> Iterator[Processor]:
    processor = Processor(config, log_path)
    try:
        yield processor
    finally:
        processor.stop()


def run_once(config: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the processor to its exit (configuration errors end it early)."""
    return subprocess.run(
        [*processor_command(), "--config-file", str(config)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def wait_for(
    check: Callable[[], Any],
    what: str,
    timeout: float,
    processes: Sequence[Processor] = (),
    interval: float = 0.1,
) -> Any:
    """Poll ``check()`` until truthy and return its value; fail with the
    processors' logs on timeout or when one of them died."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        dead = [p for p in processes if not p.alive()]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- processor log ---\n{p.log()[-4000:]}" for p in processes)
            state = "a processor exited" if dead else f"timeout after {timeout} s"
            raise AssertionError(f"{what}: {state}\n{logs}")
        time.sleep(interval)


# -- an in-process worker with a controlled clock ----------------------------------


def run_worker(conf: Any, clock: datetime.datetime | None = None, sweeps: int = 3) -> Any:
    """Build the real worker from ``conf`` (``build_deps``), optionally at a
    fixed time, and sweep until nothing more is due. Returns the deps."""
    from cloudkitty.orchestrator import service, worker

    deps = service.build_deps(conf, 0)
    if clock is not None:
        deps.clock = lambda: clock
    deps.locks.start()
    try:
        processing = worker.ProcessingWorker(deps)
        for _ in range(sweeps):
            if not processing.sweep().periods_rated:
                break
    finally:
        deps.locks.stop()
        deps.collector.close()
    return deps


# -- a Prometheus that can be stopped and started again -----------------------------


class RestartablePrometheus:
    """A real Prometheus on a backfilled TSDB, on a fixed port, that a test
    can stop (the source goes away) and start again on the same data."""

    def __init__(self, openmetrics: str, workdir: Path) -> None:
        self.prometheus, promtool = prom_service.binaries()
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.data_dir = workdir / "tsdb"
        source = workdir / "samples.om"
        source.write_text(openmetrics)
        subprocess.run(
            [
                promtool,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                str(source),
                str(self.data_dir),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.config = workdir / "prometheus.yml"
        self.config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api/v1"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        with open(self.workdir / "prometheus.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    self.prometheus,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.data_dir}",
                    "--storage.tsdb.retention.time=100y",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus not ready")

    def stop(self) -> None:
        """The source vanishes at once (SIGKILL): connections are refused.
        A graceful stop answers HTTP 503 for a moment first, another kind
        of error than the outage the tests look for (seen by a processor
        fast enough to query in that window)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(15)
        self.process = None


@contextlib.contextmanager
def prometheus(openmetrics: str, workdir: Path) -> Iterator[RestartablePrometheus]:
    prom_service.require_binaries()
    server = RestartablePrometheus(openmetrics, workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
