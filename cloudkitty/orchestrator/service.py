"""cotyledon services of cloudkitty-processor: processing and reprocessing workers.

Each worker builds its collaborators in ``run()`` (after the fork), loops on
a ``threading.Event`` and waits only as long as nothing is due: the wait is
computed from the next due period, so sweeps do not drift. ``terminate()``
sets the event; the worker finishes or abandons its current scope-period
atomically (one transaction) and exits.
"""

from __future__ import annotations

import datetime
import gc
import threading
from typing import Any

import cotyledon
from oslo_config import cfg
from oslo_log import log
from sqlalchemy import exc as sa_exc

from cloudkitty import exceptions
from cloudkitty.collector import base as collector_base
from cloudkitty.db import engine as db_engine
from cloudkitty.fetcher import base as fetcher_base
from cloudkitty.orchestrator import locks, reprocessing, worker
from cloudkitty.rating import pipeline
from cloudkitty.storage import base as storage_base
from cloudkitty.storage.reprocessing import ReprocessingRepository
from cloudkitty.storage.state import ScopeDefaults, StateRepository
from cloudkitty.utils import tz

LOG = log.getLogger(__name__)

#: never sleep longer than this between sweeps (new scopes, config reloads)
MAX_IDLE = 300.0
MIN_IDLE = 1.0


def build_deps(conf: cfg.ConfigOpts, worker_id: int) -> worker.WorkerDeps:
    """Everything a worker needs, from the configuration (raises ConfigError)."""
    db = db_engine.Database.from_conf(conf)
    collector = collector_base.load_collector(conf)
    fetcher = fetcher_base.load_fetcher(conf)
    storage = storage_base.get_storage(conf, db)
    lock_manager = locks.LockManager(
        conf.orchestrator.coordination_url, member_id=f"{conf.host}-{worker_id}"
    )
    return worker.WorkerDeps(
        fetcher=fetcher,
        collector=collector,
        storage=storage,
        states=StateRepository(db, ScopeDefaults.from_conf(conf)),
        locks=lock_manager,
        load_pipeline=lambda: pipeline.load_pipeline(conf, db),
        period=conf.collect.period,
        wait_periods=conf.collect.wait_periods,
        scope_defaults=ScopeDefaults.from_conf(conf),
        skip_expression=conf.orchestrator.skip_datapoints_expression,
        batch_size=conf.orchestrator.scope_batch_size,
        workers=max(conf.orchestrator.max_workers, 1),
        worker_index=worker_id,
        max_threads=conf.orchestrator.max_threads,
        collect_timeout=conf.orchestrator.collector_request_timeout,
        backoff_max=conf.orchestrator.retry_backoff_max,
        catch_up_points=conf.orchestrator.catch_up_points,
    )


def idle_seconds(result: worker.SweepResult, period: int, now: datetime.datetime) -> float:
    """How long to wait before the next sweep: until something is due."""
    if result.periods_rated:
        return 0.0  # more may be due right away (another batch, catch-up)
    if result.next_due is None:
        return min(float(period), MAX_IDLE)
    wait = (result.next_due - now).total_seconds()
    return max(MIN_IDLE, min(wait, float(period), MAX_IDLE))


class _LoopService(cotyledon.Service):
    """A worker process that runs ``step()`` until terminated."""

    def __init__(self, worker_id: Any, conf: cfg.ConfigOpts) -> None:
        super().__init__(worker_id)
        self.conf = conf
        self.index = int(worker_id)
        self._stop = threading.Event()
        self._failures = 0  # steps failed in a row without progress

    def terminate(self) -> None:
        self._stop.set()

    def _retry_wait(self, error: Exception, what: str, progressed: bool, cap: float) -> float:
        """Log a failed step and say how long to wait before the next one.

        A database blip (server restart, dropped sessions) must not pause
        the worker for long: retry after 1 s, doubling while steps fail
        without progress, up to ``cap`` (and 60 s). A database error is one
        line in the driver's words; anything else keeps its traceback (a
        bug to report)."""
        if progressed:
            self._failures = 0
        self._failures += 1
        wait = float(min(2 ** (self._failures - 1), cap, 60))
        if isinstance(error, sa_exc.DBAPIError):
            cause = " ".join(str(error.orig).split())  # the driver's words, one line
            LOG.error("%s interrupted, retrying in %.0f s: %s", what, wait, cause)
        else:
            LOG.exception("%s failed; retrying in %.0f s", what, wait)
        return wait

    def run(self) -> None:
        # Connections inherited across fork must not be shared.
        db_engine.dispose_all()
        try:
            self.setup()
        except exceptions.ConfigError as error:
            LOG.error("%s: %s", self.name, error)
            return
        # What exists now (modules, configuration, engines) lives as long
        # as the worker: keep it out of the cyclic collector's full passes.
        # A sweep allocates millions of short-lived objects, and each full
        # pass re-walked all of it (a third of the collection CPU measured).
        gc.freeze()
        try:
            while not self._stop.is_set():
                wait = self.step()
                self._stop.wait(wait)
        finally:
            self.teardown()

    def setup(self) -> None:
        raise NotImplementedError

    def step(self) -> float:
        raise NotImplementedError

    def teardown(self) -> None:
        return None


class ProcessorService(_LoopService):
    name = "cloudkitty-processor: rating worker"

    def setup(self) -> None:
        self.deps = build_deps(self.conf, self.index)
        self.deps.locks.start()
        self.worker = worker.ProcessingWorker(self.deps, stop=self._stop)

    def step(self) -> float:
        rated_before = self.worker.periods_rated
        try:
            result = self.worker.sweep()
        except Exception as error:  # a bug or an outage must not kill the worker
            progressed = self.worker.periods_rated > rated_before
            return self._retry_wait(error, "Processing sweep", progressed, self.deps.period)
        self._failures = 0
        return idle_seconds(result, self.deps.period, tz.utcnow())

    def teardown(self) -> None:
        self.deps.locks.stop()


class ReprocessorService(_LoopService):
    name = "cloudkitty-processor: reprocessing worker"

    def setup(self) -> None:
        self.deps = build_deps(self.conf, self.index + 1000)
        self.deps.locks.start()
        repository = ReprocessingRepository(self.deps.states.db)
        self.worker = reprocessing.ReprocessingWorker(self.deps, repository, stop=self._stop)

    def step(self) -> float:
        try:
            done = self.worker.sweep()
        except Exception as error:
            return self._retry_wait(error, "Reprocessing sweep", False, 60.0)
        self._failures = 0
        return 0.0 if done else min(float(self.deps.period), 60.0)

    def teardown(self) -> None:
        self.deps.locks.stop()


def check_config(conf: cfg.ConfigOpts) -> None:
    """Validate everything a worker will load, before forking any worker."""
    deps = build_deps(conf, 0)
    worker.ProcessingWorker(deps)
    deps.collector.close()
    deps.fetcher.close()


def run(conf: cfg.ConfigOpts) -> Any:
    manager = cotyledon.ServiceManager()
    if conf.orchestrator.max_workers:
        manager.add(ProcessorService, workers=conf.orchestrator.max_workers, args=(conf,))
    if conf.orchestrator.max_workers_reprocessing:
        manager.add(
            ReprocessorService, workers=conf.orchestrator.max_workers_reprocessing, args=(conf,)
        )
    manager.run()
