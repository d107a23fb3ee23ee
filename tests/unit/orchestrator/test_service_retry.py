"""How the worker processes wait after a failed sweep (no DB, no fork)."""

from __future__ import annotations

import logging
import types

import sqlalchemy as sa

from cloudkitty.orchestrator import service


class _FlakyWorker:
    """Fails the sweeps it is told to, rating ``rate`` periods before each."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.periods_rated = 0

    def sweep(self):
        error, rated = self.outcomes.pop(0)
        self.periods_rated += rated
        if error is not None:
            raise error
        return True


def _dropped():
    return sa.exc.OperationalError(
        "SELECT 1", {}, Exception("server closed the connection\n  unexpectedly")
    )


def _processor(outcomes, period=3600):
    svc = service.ProcessorService(0, conf=None)
    svc.worker = _FlakyWorker(outcomes)
    svc.deps = types.SimpleNamespace(period=period)
    return svc


def test_database_errors_back_off_exponentially_and_reset_on_progress(caplog, monkeypatch):
    monkeypatch.setattr(service, "idle_seconds", lambda *a: 0.0)
    svc = _processor(
        [(_dropped(), 0), (_dropped(), 0), (_dropped(), 0), (_dropped(), 3), (None, 1)]
    )
    with caplog.at_level(logging.ERROR, logger=service.LOG.logger.name):
        waits = [svc.step() for _ in range(4)]
    # 1, 2, 4 s while nothing moves; the fourth sweep rated 3 periods
    # before the database dropped again: back to 1 s.
    assert waits == [1.0, 2.0, 4.0, 1.0]
    assert svc.step() == 0.0 and svc._failures == 0
    record = caplog.records[0]
    # One line in the driver's words, no traceback.
    assert record.getMessage() == (
        "Processing sweep interrupted, retrying in 1 s: server closed the connection unexpectedly"
    )
    assert record.exc_info is None


def test_the_wait_is_capped_by_the_period_and_a_minute():
    svc = _processor([(_dropped(), 0)] * 8, period=10)
    assert [svc.step() for _ in range(8)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0]
    svc = _processor([(_dropped(), 0)] * 8, period=3600)
    assert [svc.step() for _ in range(8)][-2:] == [60.0, 60.0]


def test_a_bug_keeps_its_traceback(caplog):
    svc = _processor([(KeyError("oops"), 0)])
    with caplog.at_level(logging.ERROR, logger=service.LOG.logger.name):
        assert svc.step() == 1.0
    assert caplog.records[0].exc_info is not None
    assert "Processing sweep failed; retrying in 1 s" in caplog.records[0].getMessage()


def test_reprocessing_worker_backs_off_the_same_way():
    svc = service.ReprocessorService(0, conf=None)
    svc.worker = _FlakyWorker([(_dropped(), 0)] * 3 + [(None, 0)])
    svc.deps = types.SimpleNamespace(period=3600)
    assert [svc.step() for _ in range(3)] == [1.0, 2.0, 4.0]
    svc.step()
    assert svc._failures == 0
