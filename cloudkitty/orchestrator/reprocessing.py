"""Re-rate windows of already rated periods (``/v2/task/reprocesses``).

Each period of a schedule is replaced in ONE transaction: delete that
period's stored points of that scope, store the re-rated points, record the
progress (compare-and-set). So a crash never leaves a period missing or
doubled, and only that window of that scope changes. The window's end bound
is inclusive, as the API documents (start 00:00, end 02:00, period 1 h
re-rates 00:00, 01:00 and 02:00); unlike upstream, the last period is
deleted before it is stored again, so it is never counted twice.
"""

from __future__ import annotations

import datetime
import random
import threading

from oslo_log import log

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.orchestrator import locks
from cloudkitty.orchestrator.worker import WorkerDeps
from cloudkitty.rating.pipeline import Pipeline
from cloudkitty.storage.reprocessing import ReprocessingRepository, ReprocessingSchedule

LOG = log.getLogger(__name__)


class ReprocessingWorker:
    def __init__(
        self,
        deps: WorkerDeps,
        schedules: ReprocessingRepository,
        stop: threading.Event | None = None,
    ) -> None:
        self.deps = deps
        self.schedules = schedules
        self.stop = stop or threading.Event()

    def sweep(self) -> bool:
        """Advance every unfinished schedule as far as possible.

        Returns True when some period was re-rated (more work may follow).
        """
        todo = self.schedules.unfinished(limit=100)
        random.shuffle(todo)
        pipeline = self.deps.load_pipeline() if todo else None
        progressed = False
        for schedule in todo:
            if self.stop.is_set():
                break
            assert pipeline is not None
            progressed = self._run_schedule(schedule, pipeline) or progressed
        return progressed

    def _run_schedule(self, schedule: ReprocessingSchedule, pipeline: Pipeline) -> bool:
        identity = self.deps.scope_defaults.identity(schedule.scope_id)
        state = self.deps.states.get_state(identity)
        if state is not None and state.scope_key:
            identity = type(identity)(
                identity.scope_id, state.scope_key, identity.fetcher, identity.collector
            )
        # The scope lock keeps the processing worker (and scope resets) out.
        scope_lock = locks.lock_name(
            identity.scope_id, identity.collector, identity.fetcher, identity.scope_key
        )
        with self.deps.locks.try_lock(scope_lock) as acquired:
            if not acquired:
                return False
            progressed = False
            current = self.schedules.get(schedule.id)
            while not self.stop.is_set():
                start = current.next_timestamp(self.deps.period)
                if start is None:
                    LOG.info("Reprocessing of scope %s finished", schedule.scope_id)
                    break
                try:
                    current = self._rerate(current, identity.scope_key, start, pipeline)
                except exceptions.CloudkittyError as error:
                    LOG.error(
                        "Reprocessing scope %s at %s failed: %s",
                        schedule.scope_id,
                        start.isoformat(),
                        error,
                    )
                    break
                progressed = True
            return progressed

    def _rerate(
        self,
        schedule: ReprocessingSchedule,
        scope_key: str,
        start: datetime.datetime,
        pipeline: Pipeline,
    ) -> ReprocessingSchedule:
        end = start + datetime.timedelta(seconds=self.deps.period)
        scope_id = schedule.scope_id
        usage: dict[str, list[DataPoint]] = {}
        for definition in self.deps.collector.metrics.values():
            points = self.deps.collector.collect(definition, start, end, [scope_id])[scope_id]
            if points:
                usage.setdefault(definition.name, []).extend(points)
        frames = []
        if usage:
            frames.append(pipeline.rate(DataFrame(start, end, usage), scope_id))
        with self.deps.states.db.begin() as conn:
            self.deps.storage.delete(start, end, {scope_key: scope_id}, conn=conn)
            if frames:
                self.deps.storage.push(frames, scope_id, conn=conn)
            updated = self.schedules.mark_progress(
                schedule.id, start, expected=schedule.current_reprocess_time, conn=conn
            )
        LOG.info(
            "Reprocessed scope %s for %s (%d points)",
            scope_id,
            start.isoformat(),
            sum(len(f) for f in frames),
        )
        return updated
