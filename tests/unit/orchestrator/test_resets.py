"""Scope resets recorded by the API and applied by the processing worker."""

from __future__ import annotations

import contextlib
import decimal

import pytest

from cloudkitty import exceptions
from cloudkitty.db.scope_resets import ResetRequestRepository
from cloudkitty.orchestrator import resets
from cloudkitty.rating.pipeline import Pipeline
from tests.unit.orchestrator import test_worker
from tests.unit.orchestrator.test_worker import HOUR, T0

D = decimal.Decimal
# The processing worker's fixture: real SQLite state and storage, fake source.
env = test_worker.env


class PriceTimes:
    def __init__(self, factor: str) -> None:
        self.factor = D(factor)

    def rate(self, frame, scope_id):
        return frame.replace_usage(
            {k: [p.with_price(p.qty * self.factor) for p in v] for k, v in frame.usage.items()}
        )


def points(deps, scope_id):
    """(period start, qty, price) of every stored point of a scope."""
    frames = deps.storage.retrieve(filters={"project_id": scope_id}, limit=None)["dataframes"]
    return sorted((f.start, p.qty, p.price) for f in frames for _t, p in f.iterpoints())


def record(deps, scope_id, at):
    repository = ResetRequestRepository(deps.states.db)
    state = deps.states.get_state(deps.scope_defaults.identity(scope_id))
    repository.record([state], at, created_by="admin")
    return repository


def test_reset_deletes_from_the_timestamp_and_rerates_exactly_once(env):
    w, deps, _collector, _now = env
    w.sweep()  # T0 .. T0+3h rated at 0.5 per unit for p1, p2, p3
    assert [p[0] for p in points(deps, "p1")] == [T0 + i * HOUR for i in range(4)]
    repository = record(deps, "p1", T0 + HOUR)
    deps.load_pipeline = lambda: Pipeline([("test", PriceTimes("2"))])

    result = w.sweep()

    assert result.periods_rated == 3  # p1 at T0+1h, +2h, +3h; nobody else
    assert points(deps, "p1") == [
        (T0, D(1), D("0.5")),
        (T0 + HOUR, D(2), D(4)),
        (T0 + 2 * HOUR, D(3), D(6)),
        (T0 + 3 * HOUR, D(4), D(8)),
    ]
    assert [p[2] for p in points(deps, "p2")] == [D("0.5"), D(1), D("1.5"), D(2)]
    state = deps.states.get_state(deps.scope_defaults.identity("p1"))
    assert state.last_processed_timestamp == T0 + 3 * HOUR
    [request] = repository.list_requests()
    assert request.done_at is not None
    # Applied once: later sweeps neither delete nor rate anything again.
    assert w.sweep().periods_rated == 0
    assert len(points(deps, "p1")) == 4


def test_reset_moves_the_state_to_the_period_before_the_timestamp(env):
    w, deps, _collector, _now = env
    w.sweep()
    repository = record(deps, "p2", T0 + 2 * HOUR)
    assert resets.apply_pending_resets(deps) == 1
    state = deps.states.get_state(deps.scope_defaults.identity("p2"))
    assert state.last_processed_timestamp == T0 + HOUR
    assert [p[0] for p in points(deps, "p2")] == [T0, T0 + HOUR]
    assert repository.pending() == []


def test_a_request_is_applied_by_one_processor_only(env):
    w, deps, _collector, _now = env
    w.sweep()
    repository = record(deps, "p1", T0 + HOUR)
    [request] = repository.pending()
    assert resets.apply_reset(deps, repository, request) is True
    w.sweep()  # re-rates p1 from T0+1h
    # A second processor that read the request before it was claimed.
    assert resets.apply_reset(deps, repository, request) is False
    assert len(points(deps, "p1")) == 4


class _BusyLocks:
    @contextlib.contextmanager
    def hold(self, name, timeout=None):
        raise TimeoutError(name)
        yield  # pragma: no cover


def test_a_locked_scope_keeps_its_request_pending(env):
    w, deps, _collector, _now = env
    w.sweep()
    repository = record(deps, "p1", T0 + HOUR)
    real_locks = deps.locks
    deps.locks = _BusyLocks()
    try:
        assert resets.apply_pending_resets(deps) == 0
    finally:
        deps.locks = real_locks
    assert len(repository.pending()) == 1
    assert len(points(deps, "p1")) == 4
    assert resets.apply_pending_resets(deps) == 1


def test_a_failing_reset_rolls_back_and_stays_pending(env):
    w, deps, _collector, _now = env
    w.sweep()
    repository = record(deps, "p1", T0 + HOUR)
    real = deps.states.set_last_processed_timestamp

    def broken(*args, **kwargs):
        raise exceptions.BackendError("database went away")

    deps.states.set_last_processed_timestamp = broken
    try:
        assert resets.apply_pending_resets(deps) == 0
    finally:
        deps.states.set_last_processed_timestamp = real
    assert len(points(deps, "p1")) == 4  # the delete was rolled back too
    assert len(repository.pending()) == 1


@pytest.mark.parametrize("column", ["scope_key", "fetcher", "collector"])
def test_legacy_null_columns_take_the_configured_names(env, column):
    _w, deps, _collector, _now = env
    request = resets.ResetRequest(
        id=1,
        scope_id="p1",
        scope_key="project_id",
        fetcher="source",
        collector="fake",
        reset_timestamp=T0,
        created_at=T0,
        created_by=None,
        done_at=None,
    )
    identity = resets.request_identity(
        deps, request.__class__(**{**request.__dict__, column: None})
    )
    assert identity == deps.scope_defaults.identity("p1")
