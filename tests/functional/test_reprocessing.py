"""Reprocessing a window after a price change, on SQLite, PostgreSQL and MariaDB.

The real processing worker rates six hours of two scopes from the file
collector; the instance price then changes (the old mapping is deleted, a new
one created); a reprocessing task for scope p1 over [02:00, 03:00] (the end
bound is inclusive, as the API documents) is executed by the real
reprocessing worker. Afterwards exactly p1's 02:00 and 03:00 periods carry the
new price; every other scope-period is identical to before; and no period
holds more points than before (nothing stored twice, upstream's bug 11).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from cloudkitty.db.engine import Database
from cloudkitty.orchestrator import reprocessing, service, worker
from cloudkitty.rating import state as module_state
from cloudkitty.rating.hashmap import repository as hm
from cloudkitty.rating.hashmap import repository_mappings as hm_mappings
from cloudkitty.storage.reprocessing import ReprocessingRepository
from tests.conftest import make_conf

UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 2, 2, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
HOURS = 6
RULES_START = datetime.datetime(2000, 1, 1, tzinfo=UTC)

METRICS = """
metrics:
  cpu:
    alt_name: instance
    unit: instance
    groupby: [id, project_id]
    extra_args: {aggregation_method: max}
"""


def _usage() -> str:
    """p1 runs one instance, p2 two, every hour (samples off the boundaries)."""
    lines = ["timestamp,metric,value,project_id,id"]
    for hour in range(HOURS):
        stamp = int((T0 + hour * HOUR).timestamp()) + 120
        lines.append(f"{stamp},cpu,1,p1,vm-1")
        lines.append(f"{stamp},cpu,2,p2,vm-2")
    return "\n".join(lines) + "\n"


def _deps(db_url: str, workdir: Path):  # type: ignore[no-untyped-def]
    conf = make_conf(
        db_url,
        collect={
            "collector": "file",
            "metrics_conf": str(workdir / "metrics.yml"),
            "period": 3600,
            "wait_periods": 0,
        },
        fetcher={"backend": "source"},
        fetcher_source={"sources": ["p1", "p2"]},
        collector_file={"paths": [str(workdir / "usage.csv")]},
        orchestrator={"coordination_url": f"file://{workdir}/locks"},
    )
    deps = service.build_deps(conf, 0)
    deps.clock = lambda: T0 + HOURS * HOUR
    return deps


@pytest.fixture
def rated(db_url: str, tmp_path: Path) -> Iterator[tuple[Database, worker.WorkerDeps, str]]:
    (tmp_path / "metrics.yml").write_text(METRICS)
    (tmp_path / "usage.csv").write_text(_usage())
    db = Database.from_url(db_url)
    with db.begin() as conn:
        module_state.set_state(conn, "hashmap", enabled=True)
    instance = hm.create_service(db, "instance")
    old = hm_mappings.create_mapping(
        db, cost=D("0.1"), map_type="flat", service_id=instance.service_id,
        start=RULES_START, force=True, user="test",
    )  # fmt: skip
    deps = _deps(db_url, tmp_path)
    deps.locks.start()
    try:
        processing = worker.ProcessingWorker(deps)
        processing.first_period = lambda _now: T0  # type: ignore[method-assign]
        assert processing.sweep().periods_rated == 2 * HOURS
        yield db, deps, old.mapping_id
    finally:
        deps.locks.stop()
        deps.collector.close()


def _per_scope_period(deps: worker.WorkerDeps) -> dict[tuple[str, datetime.datetime], tuple]:
    """(price, points) per scope and period start, read back from storage."""
    rows = deps.storage.total(
        groupby=["project_id", "time"], begin=T0, end=T0 + HOURS * HOUR, limit=1000
    )["results"]
    prices = {(r["project_id"], r["begin"]): r["rate"] for r in rows}
    result = {}
    for key, price in prices.items():
        frames = deps.storage.retrieve(
            begin=key[1], end=key[1] + HOUR, filters={"project_id": key[0]}, limit=1000
        )
        result[key] = (price, frames["total"])
    return result


def test_reprocessing_a_window_applies_the_new_price_there_only(rated) -> None:  # type: ignore[no-untyped-def]
    db, deps, old_mapping = rated
    before = _per_scope_period(deps)
    assert before[("p1", T0 + 2 * HOUR)] == (D("0.1"), 1)
    assert before[("p2", T0 + 2 * HOUR)] == (D("0.2"), 1)

    # The price of an instance-hour changes from 0.1 to 0.25.
    hm_mappings.delete_mapping(db, old_mapping, user="test")
    instance = hm.list_services(db)[0]
    hm_mappings.create_mapping(
        db, cost=D("0.25"), map_type="flat", service_id=instance.service_id,
        start=RULES_START, force=True, user="test",
    )  # fmt: skip
    schedules = ReprocessingRepository(db)
    schedules.create(["p1"], T0 + 2 * HOUR, T0 + 3 * HOUR, "new instance price", 3600)

    rerating = reprocessing.ReprocessingWorker(deps, schedules)
    assert rerating.sweep() is True
    assert rerating.sweep() is False  # finished: nothing left to redo
    [schedule] = schedules.list_schedules(scope_ids=["p1"])
    assert schedule.current_reprocess_time == T0 + 3 * HOUR

    after = _per_scope_period(deps)
    window = {("p1", T0 + 2 * HOUR), ("p1", T0 + 3 * HOUR)}
    for key in window:
        assert after[key] == (D("0.25"), 1), key
    for key, value in before.items():
        if key not in window:
            assert after[key] == value, key
    assert set(after) == set(before)
    # The processing state was not touched by reprocessing.
    state = deps.states.get_state(deps.scope_defaults.identity("p1"))
    assert state.last_processed_timestamp == T0 + (HOURS - 1) * HOUR
