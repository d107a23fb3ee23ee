"""Acceptance: several processors over the same scopes rate each period once.

Two ``cloudkitty-processor`` processes (two workers each) start together on
the same PostgreSQL database and the same 5 scopes x 48 periods. With Redis
locks (tooz ``redis://``) they share the work; without a shared lock (each
its own file-lock directory) only the compare-and-set state advance stands
between them and double rating. Either way every scope-period is stored
exactly once: the points per scope-period equal the oracle's, and the
"Rated scope ..." lines (written after each commit) name each scope-period
once across both logs.
"""

from __future__ import annotations

import collections
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional import processor_support as ps

pytestmark = pytest.mark.slow

PERIODS = 48
# "<date> <time> <pid> INFO cloudkitty.orchestrator.worker [-] Rated scope ..."
RATED_LINE = re.compile(r"^\S+ \S+ (\d+) INFO \S+ \[[^\]]*\] Rated scope (\S+) for (\S+):", re.M)


@pytest.fixture
def work() -> Iterator[Path]:
    with ps.workdir() as path:
        yield path


@pytest.fixture
def pg_url(work: Path) -> Iterator[str]:
    with ps.database("postgresql", str(work)) as url:
        yield url


@pytest.mark.parametrize("locks", ["redis", "unshared"])
def test_two_processors_rate_each_scope_period_once(pg_url: str, work: Path, locks: str):
    # Unique scope ids: lock names derive from them, and Redis is shared.
    tag = uuid.uuid4().hex[:8]
    scopes = [f"conc-{tag}-p{i}" for i in range(5)]
    load = ps.generate(scopes, ps.recent_start(PERIODS), PERIODS, seed=11, instances=(2, 4))
    metrics = work / "metrics.yml"
    metrics.write_text(ps.METRICS_YML)
    usage = load.write_file(work / "usage.om")
    ps.seed_states(pg_url, scopes, load.previous, collector="file")
    ps.create_rules(pg_url, tenant=scopes[0])
    configs = []
    for name in ("a", "b"):
        url = "redis://127.0.0.1:6379" if locks == "redis" else f"file://{work / name}-locks"
        configs.append(
            ps.write_config(
                work / f"{name}.conf",
                pg_url,
                scopes=scopes,
                collector="file",
                metrics_conf=metrics,
                groups={
                    "collector_file": {"paths": str(usage)},
                    "DEFAULT": {"host": f"processor-{name}"},
                    "orchestrator": {"coordination_url": url, "max_workers": 2},
                },
            )
        )

    def done() -> bool:
        found = ps.states(pg_url, "file")
        last = load.end - ps.datetime.timedelta(hours=1)
        return len(found) == len(scopes) and all(
            s.last_processed_timestamp >= last for s in found.values()
        )

    logs = [work / "a.log", work / "b.log"]
    processors = [ps.Processor(config, log) for config, log in zip(configs, logs, strict=True)]
    try:
        ps.wait_for(done, "both processors caught up", 90, processors)
    finally:
        for processor in processors:
            processor.stop()

    # Every scope-period stored once: same points, quantities and prices.
    assert ps.stored_totals(pg_url) == ps.normalized(load.totals())
    assert ps.summary(pg_url) == load.summary()  # the rollups agree
    # Every commit is logged once, after it succeeded: no scope-period twice.
    commits: collections.Counter[tuple[str, str]] = collections.Counter()
    workers: collections.Counter[str] = collections.Counter()
    for processor in processors:
        for pid, scope, start in RATED_LINE.findall(processor.log()):
            commits[(scope, start)] += 1
            workers[pid] += 1
    twice = [key for key, count in commits.items() if count > 1]
    assert not twice, twice[:5]
    assert len(commits) >= len(scopes) * PERIODS
    # The work really was shared by several worker processes. Which ones is
    # luck: with non-blocking locks the workers that are rating keep the
    # scopes locked, and a worker that lost the race looks again a second
    # later (it used to idle for five minutes: see worker.process_batch).
    assert len(workers) >= 2, workers
    for state in ps.states(pg_url, "file").values():
        assert state.last_error is None
