"""The processing worker on SQLite with an in-memory collector and fetcher.

Real state repository, real SQL storage, real file locks; the source is a
fake (functional tests use real Prometheus and Gnocchi).
"""

from __future__ import annotations

import datetime
import decimal
import threading

import pytest

from cloudkitty import exceptions
from cloudkitty.collector.base import InvalidQuantity
from cloudkitty.collector.metrics import MetricDefinition
from cloudkitty.dataframe import DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.orchestrator import locks, worker
from cloudkitty.rating.pipeline import Pipeline
from cloudkitty.storage.sqlalchemy import SQLStorage
from cloudkitty.storage.state import ScopeDefaults, StateRepository
from cloudkitty.utils import tz

D = decimal.Decimal
UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 1, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


class FakeFetcher:
    def __init__(self, scopes):
        self.scopes = scopes

    def get_scopes(self):
        return list(self.scopes)

    def close(self):
        pass


class FakeCollector:
    """qty = hour index + 1 for every scope; counts source queries."""

    def __init__(self):
        self.metrics = {
            "cpu": MetricDefinition(
                key="cpu", metric="cpu", name="instance", unit="instance", groupby=("project_id",)
            ),
        }
        self.queries = 0
        self.fail_with: Exception | None = None
        self.bad_scope: str | None = None
        self.bad_from_hour = 0
        self.lock = threading.Lock()

    def collect(self, definition, start, end, scope_ids):
        with self.lock:
            self.queries += 1
        if self.fail_with is not None:
            raise self.fail_with
        hour = int((start - T0).total_seconds() // 3600)
        if self.bad_scope in scope_ids and hour >= self.bad_from_hour:
            raise InvalidQuantity(definition.name, self.bad_scope, "NaN", "not a finite number")
        return {
            s: [DataPoint.create("instance", hour + 1, groupby={"project_id": s})]
            for s in scope_ids
        }

    def close(self):
        pass


class PriceByQty:
    """A rater: price = qty x 0.5."""

    def rate(self, frame, scope_id):
        return frame.replace_usage(
            {k: [p.with_price(p.qty * D("0.5")) for p in v] for k, v in frame.usage.items()}
        )


@pytest.fixture
def env(sqlite_url, tmp_path):
    db = Database.from_url(sqlite_url)
    lock_manager = locks.LockManager(f"file://{tmp_path}/locks")
    lock_manager.start()
    now = {"value": T0 + 5 * HOUR}
    collector = FakeCollector()
    deps = worker.WorkerDeps(
        fetcher=FakeFetcher(["p1", "p2", "p3"]),
        collector=collector,
        storage=SQLStorage(None, db),
        states=StateRepository(db, ScopeDefaults("project_id", "source", "fake")),
        locks=lock_manager,
        load_pipeline=lambda: Pipeline([("test", PriceByQty())]),
        period=3600,
        wait_periods=1,
        scope_defaults=ScopeDefaults("project_id", "source", "fake"),
        clock=lambda: now["value"],
    )
    w = worker.ProcessingWorker(deps)
    w.first_period = lambda _now: T0  # type: ignore[method-assign]
    yield w, deps, collector, now
    lock_manager.stop()


def _totals(deps):
    rows = deps.storage.total(
        groupby=["project_id", "time"], begin=T0, end=T0 + 48 * HOUR, limit=1000
    )["results"]
    return {(r["project_id"], r["begin"]): (r["qty"], r["rate"]) for r in rows}


def test_catches_up_period_by_period_with_one_query_per_metric_and_period(env):
    w, deps, collector, _now = env
    result = w.sweep()
    # now = T0+5h, wait_periods=1: [T0+3h, T0+4h) is the last one due.
    assert result.periods_rated == 3 * 4
    assert collector.queries == 4  # one per period for the three scopes together
    totals = _totals(deps)
    assert totals[("p2", T0 + 3 * HOUR)] == (D(4), D("2.0"))
    assert len(totals) == 12
    state = deps.states.get_state(deps.scope_defaults.identity("p1"))
    assert state.last_processed_timestamp == T0 + 3 * HOUR


def test_second_sweep_rates_nothing_twice(env):
    w, deps, collector, now = env
    w.sweep()
    before = _totals(deps)
    assert w.sweep().periods_rated == 0
    now["value"] += HOUR
    assert w.sweep().periods_rated == 3
    after = _totals(deps)
    assert {k: v for k, v in after.items() if k in before} == before
    assert len(after) == 15


def _scope_errors(scope: str) -> float | None:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("cloudkitty_scope_consecutive_errors", {"scope": scope})


def test_source_error_retries_with_backoff_and_records_the_error(env):
    w, deps, collector, now = env
    collector.fail_with = exceptions.SourceUnreachable("prometheus: unreachable", OSError("x"))
    result = w.sweep()
    assert result.periods_rated == 0 and result.scopes_failed == 3
    state = deps.states.get_state(deps.scope_defaults.identity("p1"))
    assert state.last_error == "prometheus: unreachable (OSError)" and state.error_count == 1
    # The processor's /metrics shows the scope in error too.
    assert _scope_errors("p1") == 1
    collector.fail_with = None
    assert w.sweep().periods_rated == 0  # still backing off
    now["value"] += datetime.timedelta(minutes=2)
    assert w.sweep().periods_rated == 12  # nothing was skipped
    assert _scope_errors("p1") == 0
    state = deps.states.get_state(deps.scope_defaults.identity("p1"))
    assert state.last_error is None and state.error_count == 0


def test_bad_value_of_one_scope_does_not_hold_back_the_others(env):
    w, deps, collector, now = env
    collector.bad_scope = "p2"
    result = w.sweep()
    assert result.periods_rated == 8  # p1 and p3, four periods each
    bad = deps.states.get_state(deps.scope_defaults.identity("p2"))
    assert "NaN" in bad.last_error
    assert bad.last_processed_timestamp == T0 - HOUR  # nothing of p2 was skipped
    assert not any(k[0] == "p2" for k in _totals(deps))


def test_a_scope_failing_mid_catch_up_keeps_what_it_rated_before(env, monkeypatch):
    """Catching up on 4 periods in one chunk, p2 has bad data from the third
    on: its first two periods are committed (with the others'), its state
    stops there and shows the error; p1 and p3 rate all four."""
    w, deps, collector, now = env
    collector.bad_scope, collector.bad_from_hour = "p2", 2
    commits = []
    real_push_scopes = deps.storage.push_scopes

    def recording_push_scopes(pushes, *, conn=None):
        pushes = list(pushes)
        commits.append({scope: len(frames) for scope, frames in pushes})
        return real_push_scopes(pushes, conn=conn)

    monkeypatch.setattr(deps.storage, "push_scopes", recording_push_scopes)
    result = w.sweep()
    assert (result.periods_rated, result.scopes_failed) == (10, 1)
    # Periods 0-1 of the three scopes, then periods 2-3 of p1 and p3.
    assert commits == [{"p1": 2, "p2": 2, "p3": 2}, {"p1": 2, "p3": 2}]
    p2 = deps.states.get_state(deps.scope_defaults.identity("p2"))
    assert p2.last_processed_timestamp == T0 + HOUR and "NaN" in p2.last_error
    assert sorted(k for k in _totals(deps) if k[0] == "p2") == [("p2", T0), ("p2", T0 + HOUR)]
    collector.bad_scope = None
    now["value"] += datetime.timedelta(minutes=2)
    w.sweep()
    assert len(_totals(deps)) == 12


def test_a_failing_push_leaves_neither_data_nor_state(env, monkeypatch):
    w, deps, collector, now = env
    real_push_scopes, real_advance = deps.storage.push_scopes, deps.states.advance
    calls = {"batch": 0, "one": 0}

    def flaky_push_scopes(*args, **kwargs):
        calls["batch"] += 1
        if calls["batch"] == 1:  # the batch's own transaction fails...
            raise exceptions.BackendError("database went away")
        return real_push_scopes(*args, **kwargs)

    def flaky_advance(*args, **kwargs):
        calls["one"] += 1
        if calls["one"] == 2:  # ...and so does a scope committed alone
            raise exceptions.BackendError("database went away")
        return real_advance(*args, **kwargs)

    monkeypatch.setattr(deps.storage, "push_scopes", flaky_push_scopes)
    monkeypatch.setattr(deps.states, "advance", flaky_advance)
    result = w.sweep()
    # The catch-up chunk (4 periods): the batch failed, then the scopes were
    # committed alone, and the second failed alone (it waits for the backoff).
    assert result.scopes_failed == 1 and calls["one"] >= 2
    assert result.periods_rated == 8  # the two other scopes, 4 periods each
    monkeypatch.setattr(deps.storage, "push_scopes", real_push_scopes)
    monkeypatch.setattr(deps.states, "advance", real_advance)
    now["value"] += datetime.timedelta(hours=2)
    w.sweep()
    totals = _totals(deps)
    # Every scope-period exactly once, whatever failed on the way.
    assert sorted(totals) == sorted(
        (s, T0 + i * HOUR) for s in ("p1", "p2", "p3") for i in range(6)
    )


def test_a_lost_database_connection_ends_the_sweep_without_scope_by_scope(env, monkeypatch):
    """A dropped connection (server restart) fails every scope alike: the
    sweep stops at once, nothing is written, and the period is retried
    whole by the next sweep (the service's backoff), not one by one."""
    import sqlalchemy as sa

    w, deps, collector, now = env
    real_push_scopes, real_advance = deps.storage.push_scopes, deps.states.advance
    alone = []

    def dropped(*args, **kwargs):
        raise sa.exc.OperationalError(
            "INSERT ...", {}, Exception("server closed the connection"), connection_invalidated=True
        )

    def recording_advance(*args, **kwargs):
        alone.append(args)
        return real_advance(*args, **kwargs)

    monkeypatch.setattr(deps.storage, "push_scopes", dropped)
    monkeypatch.setattr(deps.states, "advance", recording_advance)
    with pytest.raises(sa.exc.OperationalError):
        w.sweep()
    assert alone == [] and _totals(deps) == {}
    for scope in ("p1", "p2", "p3"):
        state = deps.states.get_state(deps.scope_defaults.identity(scope))
        assert state is None or state.last_processed_timestamp < T0
    monkeypatch.setattr(deps.storage, "push_scopes", real_push_scopes)
    assert w.sweep().periods_rated == 12  # the same periods, rated once


@pytest.mark.parametrize(("catch_up_points", "pushes"), [(100_000, 1), (1, 4), (0, 4)])
def test_one_push_commits_the_whole_batch(env, monkeypatch, catch_up_points, pushes):
    """The scopes of a batch commit together; catching up on 4 periods,
    they commit in one transaction, or one per period once a period's
    points reach ``catch_up_points`` (0: every period on its own)."""
    w, deps, collector, now = env
    deps.catch_up_points = catch_up_points
    pushed = []
    real_push_scopes = deps.storage.push_scopes

    def recording_push_scopes(pushes, *, conn=None):
        pushes = list(pushes)
        pushed.append({scope: len(list(frames)) for scope, frames in pushes})
        return real_push_scopes(pushes, conn=conn)

    monkeypatch.setattr(deps.storage, "push_scopes", recording_push_scopes)
    assert w.sweep().periods_rated == 12
    periods = 4 // pushes
    assert pushed == [{"p1": periods, "p2": periods, "p3": periods}] * pushes
    assert len(_totals(deps)) == 12


def test_a_scope_whose_state_moved_drops_out_of_its_batch(env, monkeypatch):
    w, deps, collector, now = env
    w.sweep()
    now["value"] += HOUR
    # Another processor rates p2's next period between our checks and our
    # commit: p2 loses the compare-and-set, p1 and p3 are committed.
    real_advance_many = deps.states.advance_many

    def racing_advance_many(moves, timestamp, *, conn):
        deps.states.set_last_processed_timestamp(deps.scope_defaults.identity("p2"), timestamp)
        return real_advance_many(moves, timestamp, conn=conn)

    monkeypatch.setattr(deps.states, "advance_many", racing_advance_many)
    result = w.sweep()
    assert result.periods_rated == 2 and result.next_due is not None
    totals = _totals(deps)
    assert ("p1", T0 + 4 * HOUR) in totals and ("p2", T0 + 4 * HOUR) not in totals


def test_a_scope_locked_elsewhere_is_left_alone(env, tmp_path):
    w, deps, collector, now = env
    other = locks.LockManager(deps.locks.url)
    other.start()
    name = w._lock_name(deps.scope_defaults.identity("p3"))
    try:
        with other.try_lock(name) as held:
            assert held
            w.sweep()
    finally:
        other.stop()
    assert not any(k[0] == "p3" for k in _totals(deps))


def test_stop_event_abandons_cleanly(env):
    w, deps, collector, now = env
    w.stop.set()
    assert w.sweep().periods_rated == 0
    assert _totals(deps) == {}


def test_inactive_scope_is_skipped(env):
    w, deps, collector, now = env
    w.sweep()
    deps.states.patch("p1", active=False)
    now["value"] += HOUR
    assert w.sweep().periods_rated == 2


def test_idle_wait_is_computed_from_the_next_due_period():
    from cloudkitty.orchestrator import service

    result = worker.SweepResult(next_due=T0 + datetime.timedelta(minutes=2))
    assert service.idle_seconds(result, 3600, T0) == 120
    later = worker.SweepResult(next_due=T0 + datetime.timedelta(hours=2))
    assert service.idle_seconds(later, 3600, T0) == service.MAX_IDLE
    assert service.idle_seconds(worker.SweepResult(periods_rated=1), 3600, T0) == 0
    assert service.idle_seconds(worker.SweepResult(), 3600, T0) == service.MAX_IDLE
    assert tz.utcnow()  # clock helper in use by the service


def test_workers_of_one_processor_start_with_their_own_scopes(env):
    w, deps, collector, now = env
    scopes = [f"project-{i}" for i in range(40)] + ["project-3"]  # a duplicate
    orders = []
    for index in (0, 1):
        deps.workers, deps.worker_index = 2, index
        orders.append(w._scan_order(scopes))
    own = []
    for index, order in enumerate(orders):
        deps.worker_index = index
        assert sorted(order) == sorted(set(scopes))  # every scope, once
        count = sum(map(w._is_home, order))
        assert all(map(w._is_home, order[:count]))  # its own share first...
        assert not any(map(w._is_home, order[count:]))  # ...then the others'
        own.append(set(order[:count]))
    assert not own[0] & own[1] and own[0] | own[1] == set(scopes)
    assert 10 <= len(own[0]) <= 30  # a hash share, not one worker taking all
