"""Acceptance: rated totals survive crashes, source outages and DB outages.

``cloudkitty-processor`` runs as a real process (master + one worker, in its
own process group) on PostgreSQL, over a workload of 5 scopes x 48 (or 96)
hourly periods that ends a few hours before now: started from seeded states, it
catches up (a few seconds of work) and then idles, as in production.

Each test compares the totals per scope and period with a REFERENCE
database rated by an uninterrupted run of the same worker (built from the
same configuration), and both with the oracle computed from the generated
samples: nothing lost, nothing counted twice, nothing skipped.
"""

from __future__ import annotations

import datetime
import os
import random
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudkitty.db import migrate
from tests.functional import processor_support as ps
from tests.functional.services import postgres as pg_service

pytestmark = pytest.mark.slow

SCOPES = [f"crash-p{i}" for i in range(5)]
PERIODS = 48
KILLS = 20
#: the first line of a log record (continuation lines do not match)
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ ")
#: how a dropped PostgreSQL session shows in the processor's log
DB_ERRORS = ("server closed the connection", "terminating connection", "connection already closed")
#: restarts of the private PostgreSQL server in the restart test
RESTARTS = 6


class Setup:
    """Two databases (under test, reference), one workload, one config each."""

    def __init__(self, work: Path, collector: str, seed: int, periods: int = PERIODS) -> None:
        self.dir = work
        self.collector = collector
        self.workload = ps.generate(
            SCOPES, ps.recent_start(periods), periods, seed=seed, instances=(3, 5), volumes=(2, 3)
        )
        self.metrics = work / "metrics.yml"
        self.metrics.write_text(ps.METRICS_YML)
        self.usage = self.workload.write_file(work / "usage.om")

    def config(self, name: str, db_url: str, source: dict) -> Path:
        return ps.write_config(
            self.dir / f"{name}.conf",
            db_url,
            scopes=SCOPES,
            collector=self.collector,
            metrics_conf=self.metrics,
            groups=source,
        )

    def prepare(self, db_url: str) -> None:
        ps.seed_states(db_url, SCOPES, self.workload.previous, collector=self.collector)
        ps.create_rules(db_url, tenant=SCOPES[0])

    def done(self, db_url: str) -> bool:
        """Every scope has rated the last period of the workload."""
        last = self.workload.end - datetime.timedelta(hours=1)
        found = ps.states(db_url, self.collector)
        return len(found) == len(SCOPES) and all(
            s.last_processed_timestamp >= last for s in found.values()
        )

    def progress(self, db_url: str) -> int:
        return ps.progress(db_url, self.collector, self.workload.start)

    @property
    def target(self) -> int:
        """Scope-periods a caught-up processor has rated: the workload's and
        the empty ones after it, up to the last hour that ended."""
        now = datetime.datetime.now(ps.UTC).replace(minute=0, second=0, microsecond=0)
        return len(SCOPES) * int((now - self.workload.start).total_seconds() // ps.HOUR)

    def reference(self, source: dict) -> tuple[dict, dict]:
        """Per scope-period totals and the summary (through the storage
        driver's rollups) of an uninterrupted run of the same worker, in
        this process."""
        with ps.database("postgresql", str(self.dir)) as url:
            self.prepare(url)
            ps.run_worker(ps.conf_from_file(self.config("reference", url, source)))
            assert self.done(url)
            totals, summary = ps.stored_totals(url), ps.summary(url)
        # The reference itself is right: it equals the oracle.
        assert totals == ps.normalized(self.workload.totals())
        assert summary == self.workload.summary()
        return totals, summary

    def assert_same_as(self, db_url: str, reference: tuple[dict, dict]) -> None:
        """Nothing lost, nothing doubled: in the points and in the rollups."""
        totals, summary = reference
        assert ps.stored_totals(db_url) == totals
        assert ps.summary(db_url) == summary


@pytest.fixture
def work() -> Iterator[Path]:
    with ps.workdir() as path:
        yield path


@pytest.fixture
def pg_url(work: Path) -> Iterator[str]:
    with ps.database("postgresql", str(work)) as url:
        yield url


def test_sigkill_at_random_moments_loses_and_doubles_nothing(pg_url: str, work: Path):
    """SIGKILL (master and worker) 20 times at random moments, restart each
    time; half of the kills land while periods are being rated (after the
    process was seen making progress), the others at any moment, start-up
    included. Then one run to the end. The per scope-period totals equal
    the uninterrupted reference."""
    # 96 periods: all 20 kills land before the catch-up is complete.
    setup = Setup(work, "file", seed=1, periods=96)
    source = {"collector_file": {"paths": str(setup.usage)}}
    reference = setup.reference(source)
    setup.prepare(pg_url)
    config = setup.config("killed", pg_url, source)
    rng = random.Random(2026)
    mid_run_kills = unfinished_kills = 0
    startup = 1.0  # shortest time seen from the start to the first commit
    for number in range(KILLS):
        before = setup.progress(pg_url)
        began = time.monotonic()
        processor = ps.Processor(config, work / "processor.log")
        if number % 2 == 0:
            # Kill while rating: a moment after this process's first commit.
            moved = lambda before=before: setup.progress(pg_url) > before  # noqa: E731
            ps.wait_for(moved, "progress", 30, [processor], 0.02)
            startup = min(startup, time.monotonic() - began) if number else startup
            time.sleep(rng.uniform(0, 0.15))
        else:
            # Any moment of the start-up: fork, config, first reads, the
            # first collection (bounded, so 20 kills leave work to interrupt).
            time.sleep(rng.uniform(0.05, startup))
        processor.kill()
        after = setup.progress(pg_url)
        mid_run_kills += before < after < setup.target
        unfinished_kills += after < setup.target
    # The kills interrupted the work (not an idle processor), half of them
    # at least while it was rating.
    assert unfinished_kills == KILLS and mid_run_kills >= 10, (unfinished_kills, mid_run_kills)
    with ps.running(config, work / "processor.log") as processor:
        ps.wait_for(lambda: setup.done(pg_url), "catch-up after the kills", 60, [processor])
    setup.assert_same_as(pg_url, reference)
    for state in ps.states(pg_url, "file").values():
        assert state.last_error is None


def test_prometheus_stopped_mid_run_skips_nothing(pg_url: str, work: Path):
    """Prometheus goes away while the processor catches up and comes back
    5 s later: the periods of the outage are retried (the scope states show
    the error meanwhile), none is skipped, totals equal the reference."""
    setup = Setup(work, "prometheus", seed=2)
    with ps.prometheus(setup.workload.openmetrics(), work / "prom") as prom:
        source = {"collector_prometheus": {"prometheus_url": prom.api_url, "timeout": 5}}
        reference = setup.reference(source)
        setup.prepare(pg_url)
        config = setup.config("outage", pg_url, source)
        with ps.running(config, work / "processor.log") as processor:
            ps.wait_for(
                lambda: setup.progress(pg_url) >= setup.target // 5,
                "first periods",
                30,
                [processor],
                0.02,
            )
            prom.stop()
            errors = ps.wait_for(
                lambda: (
                    [s for s in ps.states(pg_url, "prometheus").values() if s.last_error]
                    if all(s.last_error for s in ps.states(pg_url, "prometheus").values())
                    else None
                ),
                "the outage recorded in every scope's state",
                20,
                [processor],
            )
            assert all("unreachable" in s.last_error for s in errors), errors[0].last_error
            stopped_at = setup.progress(pg_url)
            time.sleep(5)
            # Nothing moved while the source was away (no period skipped),
            # and the period was retried (1 s backoff at most), not dropped.
            assert setup.progress(pg_url) == stopped_at
            retried = ps.states(pg_url, "prometheus").values()
            assert all(s.error_count >= 3 for s in retried), [s.error_count for s in retried]
            prom.start()
            ps.wait_for(lambda: setup.done(pg_url), "catch-up after the outage", 60, [processor])
        assert stopped_at < setup.target
        # Each scope logged the outage once, not once per retry.
        for scope in SCOPES:
            lines = [
                line for line in processor.log().splitlines() if f"Scope {scope}, period " in line
            ]
            assert len(lines) == 1, lines
    setup.assert_same_as(pg_url, reference)
    for state in ps.states(pg_url, "prometheus").values():
        assert state.last_error is None  # cleared by the next success


def test_database_sessions_terminated_repeatedly(pg_url: str, work: Path):
    """The processor's PostgreSQL sessions are terminated every 0.1-0.5 s
    while it rates (pg_terminate_backend on this test's database only).

    Why not restart the server (pg_ctlcluster ... restart): other engineers'
    tests share it, and a restart would break their runs. Terminating the
    sessions of our own database is what a restart looks like to this
    processor (every connection dropped, in the middle of whatever it was
    doing, commits included), and it can be repeated many times in a run.
    """
    setup = Setup(work, "file", seed=3, periods=96)
    source = {"collector_file": {"paths": str(setup.usage)}}
    reference = setup.reference(source)
    setup.prepare(pg_url)
    config = setup.config("outage", pg_url, source)
    terminated: list[int] = []
    stop = threading.Event()

    def outages() -> None:
        rng = random.Random(7)
        while not stop.wait(rng.uniform(0.1, 0.5)):
            terminated.append(ps.terminate_connections(pg_url))

    def hits(log: str) -> int:
        """Log records (not continuation lines) of database errors the
        processor met, whatever it was doing."""
        return sum(
            1
            for line in log.splitlines()
            if LOG_RECORD.match(line) and any(m in line for m in DB_ERRORS)
        )

    observed = ps.observer_url(pg_url)  # the test's reads survive the outages
    with ps.running(config, work / "processor.log") as processor:
        killer = threading.Thread(target=outages, daemon=True)
        killer.start()
        try:
            ps.wait_for(
                lambda: hits(processor.log()) >= 3 or setup.done(observed),
                "rating under outages",
                90,
                [processor],
                0.2,
            )
            progress_at_end_of_outages = setup.progress(observed)
        finally:
            stop.set()
            killer.join()
        ps.wait_for(lambda: setup.done(observed), "catch-up after the outages", 60, [processor])
    # Sessions were really cut while the processor worked, and it noticed.
    assert hits(processor.log()) >= 3, terminated
    assert progress_at_end_of_outages < setup.target
    setup.assert_same_as(pg_url, reference)


@pytest.fixture
def private_pg(work: Path) -> Iterator[pg_service.PrivatePostgres]:
    try:
        with pg_service.private_postgres() as server:
            yield server
    except pg_service.PostgresUnavailable as exc:
        pytest.fail(f"{exc}")


def test_database_server_restarted_repeatedly(private_pg: pg_service.PrivatePostgres, work: Path):
    """The database SERVER goes down and comes back, again and again, while
    the processor rates: a private PostgreSQL cluster (the shared one must
    not be restarted under other runs), stopped alternately cleanly
    (``pg_ctl -m fast``) and as a crash (``-m immediate``: no checkpoint,
    WAL replay at the next start), down for up to a second each time.

    A commit in flight when the server dies either made it or not; the
    processor must find out which from the database, not from memory.
    Afterwards the totals equal the uninterrupted reference."""
    setup = Setup(work, "file", seed=4, periods=96)
    source = {"collector_file": {"paths": str(setup.usage)}}
    reference = setup.reference(source)
    url = private_pg.create_database("ck_restarted")
    migrate.upgrade(url)
    setup.prepare(url)
    config = setup.config("restarted", url, source)
    rng = random.Random(11)
    restarts: list[tuple[str, int]] = []  # (mode, progress when it went down)
    with ps.running(config, work / "processor.log") as processor:
        for number in range(RESTARTS):
            # Down again only once the processor is rating again: every
            # restart lands on a working processor, mid catch-up.
            seen = setup.progress(url)
            ps.wait_for(
                lambda seen=seen: setup.progress(url) > seen,
                f"rating before restart {number + 1}",
                60,
                [processor],
                0.02,
            )
            time.sleep(rng.uniform(0, 0.1))
            mode = "immediate" if number % 2 else "fast"
            restarts.append((mode, setup.progress(url)))
            private_pg.restart(mode, down_for=rng.uniform(0.1, 1.0))
        ps.wait_for(lambda: setup.done(url), "catch-up after the restarts", 90, [processor])
    assert all(at < setup.target for _, at in restarts), (restarts, setup.target)
    # It met the outages (dropped sessions, refused connections) and said
    # so in one line each, without a traceback.
    log = processor.log()
    assert any(m in log for m in DB_ERRORS), log[-4000:]
    assert "Traceback" not in log, log[-4000:]
    # The immediate stops were crashes to the server: it replayed its WAL.
    assert "redo starts at" in private_pg.server_log(), private_pg.server_log()[-2000:]
    setup.assert_same_as(url, reference)
    for state in ps.states(url, "file").values():
        assert state.last_error is None


def test_sigterm_mid_catch_up_stops_promptly_and_leaves_whole_periods(pg_url: str, work: Path):
    """SIGTERM to the master (what systemd or kolla sends) while the worker
    catches up: the processor exits at once with status 0 and no traceback,
    what it committed is whole (each rated scope-period holds exactly the
    reference's points, each state matches its data), and a restart
    finishes the job to the reference's totals."""
    setup = Setup(work, "file", seed=5, periods=96)
    source = {"collector_file": {"paths": str(setup.usage)}}
    reference = setup.reference(source)
    setup.prepare(pg_url)
    config = setup.config("terminated", pg_url, source)
    processor = ps.Processor(config, work / "processor.log")
    try:
        ps.wait_for(lambda: setup.progress(pg_url) > 0, "first periods", 30, [processor], 0.02)
        time.sleep(0.05)
        os.kill(processor.process.pid, signal.SIGTERM)  # the master only
        began = time.monotonic()
        status = processor.process.wait(15)
        took = time.monotonic() - began
    finally:
        processor.kill()
    assert status == 0 and took < 10, (status, took, processor.log()[-4000:])
    assert "Traceback" not in processor.log(), processor.log()[-4000:]
    stopped_at = setup.progress(pg_url)
    assert 0 < stopped_at < setup.target
    # Whole periods only: every stored scope-period equals the reference's,
    # and each scope's state says exactly which periods it holds.
    totals, _ = reference
    stored = ps.stored_totals(pg_url)
    assert all(stored[key] == totals[key] for key in stored)
    for scope, state in ps.states(pg_url, "file").items():
        held = {begin for (s, begin) in stored if s == scope}
        expected = {begin for (s, begin) in totals if s == scope}
        assert held == {b for b in expected if b <= state.last_processed_timestamp}, scope
    with ps.running(config, work / "processor.log") as processor:
        ps.wait_for(lambda: setup.done(pg_url), "catch-up after the restart", 60, [processor])
    setup.assert_same_as(pg_url, reference)
