"""Rate due periods: collect, rate, store and advance each scope, exactly once.

One sweep asks the fetcher for the scopes, finds for each the next period
due, groups the scopes due for the same period into batches, and for each
batch: locks each scope (tooz, non-blocking), collects every metric ONCE for
the whole batch, rates each scope's frame, and commits the rated points of
every scope of the batch together with the advances of their states in one
transaction (one bulk write instead of one per scope; see
``_commit_together``). Each state advance is a compare-and-set on the
previous timestamp, done before that scope's data is written, so even a lost
lock cannot rate a period twice; a crash anywhere leaves both or neither.
When the batch's transaction fails, its scopes are committed one by one
(``_commit_one``), so one scope's bad data fails that scope alone.

Collaborators are injected (see ``WorkerDeps``); nothing here builds its own
infrastructure, so tests drive it with real or fake parts alike.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime
import math
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from oslo_log import log
from sqlalchemy import exc as sa_exc

from cloudkitty import exceptions
from cloudkitty.collector.base import InvalidQuantity
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.orchestrator import locks, resets, skip
from cloudkitty.orchestrator import telemetry as tm
from cloudkitty.rating.pipeline import Pipeline
from cloudkitty.storage.state import ScopeDefaults, ScopeIdentity, ScopeState, StateRepository
from cloudkitty.utils import memory, tz

LOG = log.getLogger(__name__)

FIRST_BACKOFF = 60


@dataclasses.dataclass
class WorkerDeps:
    """Everything a worker needs, built by the service (or a test)."""

    fetcher: Any
    collector: Any
    storage: Any
    states: StateRepository
    locks: locks.LockManager
    load_pipeline: Callable[[], Pipeline]
    period: int
    wait_periods: int
    scope_defaults: ScopeDefaults
    skip_expression: str = "False"
    batch_size: int = 200
    workers: int = 1
    #: this worker's index among the ``workers`` of its processor
    worker_index: int = 0
    max_threads: int = 4
    collect_timeout: float = 300
    backoff_max: int = 3600
    #: rated points a catch-up holds before committing (0: every period)
    catch_up_points: int = 30_000
    clock: Callable[[], datetime.datetime] = tz.utcnow


@dataclasses.dataclass
class SweepResult:
    periods_rated: int = 0
    points_rated: int = 0
    scopes_failed: int = 0
    #: earliest moment something new becomes due (None: nothing known)
    next_due: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class _Due:
    identity: ScopeIdentity
    start: datetime.datetime
    previous: datetime.datetime | None  # state before this period (CAS)


class ProcessingWorker:
    """Runs sweeps until told to stop; one instance per worker process."""

    def __init__(self, deps: WorkerDeps, stop: threading.Event | None = None) -> None:
        self.deps = deps
        self.stop = stop or threading.Event()
        self._skip_default = skip.compile_expression(deps.skip_expression)
        self._skip_by_metric = {
            key: skip.compile_expression(d.skip_datapoints_expression, f"metric {key!r}")
            for key, d in deps.collector.metrics.items()
            if d.skip_datapoints_expression
        }
        self._logged_errors: dict[str, str] = {}
        #: scope -> last period this sweep committed (later batches of the
        #: sweep's plan that it already covered are skipped)
        self._committed_through: dict[str, datetime.datetime] = {}
        #: scope-periods committed since start; survives a sweep that raises
        self.periods_rated = 0

    # -- scheduling --------------------------------------------------------

    def first_period(self, now: datetime.datetime) -> datetime.datetime:
        """Where a never-rated scope starts: the start of the current month."""
        return tz.month_start(now)

    def _is_due(self, start: datetime.datetime, now: datetime.datetime) -> bool:
        period = datetime.timedelta(seconds=self.deps.period)
        # The period [start, start+P) is rated once wait_periods more have passed.
        return start + period * (self.deps.wait_periods + 1) <= now

    def _backoff_until(self, state: ScopeState) -> datetime.datetime | None:
        if not state.error_count or state.last_error_at is None:
            return None
        delay = min(FIRST_BACKOFF * 2 ** min(state.error_count - 1, 20), self.deps.backoff_max)
        return state.last_error_at + datetime.timedelta(seconds=delay)

    def due_scopes(
        self, scope_ids: Sequence[str], now: datetime.datetime, result: SweepResult
    ) -> list[_Due]:
        """Every scope whose next period can be rated now."""
        period = datetime.timedelta(seconds=self.deps.period)
        due = []
        identities = [self.deps.scope_defaults.identity(scope_id) for scope_id in scope_ids]
        states = self.deps.states.get_states(identities)
        for identity, state in zip(identities, states, strict=True):
            if state is None:
                start, previous = self.first_period(now), None
            else:
                if not state.active:
                    continue
                retry_at = self._backoff_until(state)
                if retry_at is not None and retry_at > now:
                    _note_next(result, retry_at)
                    continue
                previous = state.last_processed_timestamp
                start = previous + period
            if self._is_due(start, now):
                due.append(_Due(identity, start, previous))
            else:
                _note_next(result, start + period * (self.deps.wait_periods + 1))
        return due

    # -- one sweep ---------------------------------------------------------

    def sweep(self) -> SweepResult:
        """Rate everything due, period after period, until caught up."""
        result = SweepResult()
        # Resets first: they move states back, which changes what is due.
        resets.apply_pending_resets(self.deps)
        try:
            scope_ids = self._scan_order(self.deps.fetcher.get_scopes())
        except exceptions.CloudkittyError as error:
            LOG.error("Cannot list scopes: %s", error)
            tm.COLLECT_ERRORS.labels(cause=type(error).__name__).inc()
            return result
        pipeline = self.deps.load_pipeline()
        while not self.stop.is_set():
            now = self.deps.clock()
            result.next_due = None
            due = self.due_scopes(scope_ids, now, result)
            if not due:
                break
            progressed = False
            self._committed_through.clear()
            for batch in self._batches(due, len(scope_ids)):
                if self.stop.is_set():
                    break
                # A catch-up chunk of an earlier batch rated these already.
                batch = [item for item in batch if not self._covered(item)]
                if not batch:
                    continue
                rated = self.process_batch(batch, pipeline, result)
                progressed = progressed or rated > 0
            if not progressed:
                break
        return result

    def _covered(self, item: _Due) -> bool:
        through = self._committed_through.get(item.identity.scope_id)
        return through is not None and item.start <= through

    def _scan_order(self, scope_ids: Iterable[str]) -> list[str]:
        """The scopes without duplicates, in the order this worker tries them."""
        ordered = list(dict.fromkeys(scope_ids))
        random.shuffle(ordered)  # processors spread over scopes differently
        # The workers of one processor start each with their own share of
        # the scopes (a stable hash picks it), then go on with the others'.
        # Shuffled alone, they locked the same scopes at the same time and
        # rated each period in 4 to 10 small batches instead of one each.
        ordered.sort(key=lambda scope_id: not self._is_home(scope_id))
        return ordered

    def _is_home(self, scope_id: str) -> bool:
        workers = max(self.deps.workers, 1)
        return zlib.crc32(scope_id.encode("utf-8", "surrogatepass")) % workers == (
            self.deps.worker_index % workers
        )

    def _batches(self, due: list[_Due], scopes: int) -> list[list[_Due]]:
        """``due`` by period, oldest first, cut in batches of at most a
        worker's share of the ``scopes`` (and ``batch_size``)."""
        by_start: dict[datetime.datetime, list[_Due]] = collections.defaultdict(list)
        for item in due:
            by_start[item.start].append(item)
        size = self.deps.batch_size
        # Leave work for the other workers: no batch takes every scope. The
        # share is of all the scopes, not of those due for one period: when
        # the workers drift a period apart, each period's group holds half
        # of them, and halving it again cut every period in small batches.
        share = max(1, math.ceil(scopes / max(self.deps.workers, 1)))
        step = min(size, share)
        batches: list[list[_Due]] = []
        for start in sorted(by_start):
            group = by_start[start]
            batches.extend(group[i : i + step] for i in range(0, len(group), step))
        return batches

    # -- one batch: one period, many scopes --------------------------------

    def process_batch(self, batch: list[_Due], pipeline: Pipeline, result: SweepResult) -> int:
        """Lock, collect once, rate and commit each scope. Returns periods rated."""
        held = []
        lock_objects = []
        try:
            for item in batch:
                lock = self.deps.locks.lock(self._lock_name(item.identity))
                if lock.acquire(blocking=False):
                    lock_objects.append(lock)
                    held.append(item)
            held = self._still_due(held)
            if len(held) < len(batch):
                # Another worker holds or just rated some of these scopes:
                # look again soon. Noting nothing made a worker that lost
                # the race idle up to MAX_IDLE while work was left.
                _note_next(result, self.deps.clock())
            if not held:
                return 0
            with memory.gc_paused():  # the batch is freed when it ends
                return self._rate_locked(held, pipeline, result)
        finally:
            for lock in lock_objects:
                try:
                    lock.release()
                except Exception:  # a lost lock is harmless: the CAS protects us
                    LOG.warning("Could not release a scope lock", exc_info=True)

    def _lock_name(self, identity: ScopeIdentity) -> bytes:
        return locks.lock_name(
            identity.scope_id, identity.collector, identity.fetcher, identity.scope_key
        )

    def _still_due(self, held: list[_Due]) -> list[_Due]:
        """Re-read states under the locks: another processor may have moved on."""
        fresh = []
        states = self.deps.states.get_states([item.identity for item in held])
        for item, state in zip(held, states, strict=True):
            current = None if state is None else state.last_processed_timestamp
            if current == item.previous and (state is None or state.active):
                fresh.append(item)
        return fresh

    def _rate_locked(self, held: list[_Due], pipeline: Pipeline, result: SweepResult) -> int:
        """Rate the held scopes from their common due period on, period
        after period while due, and commit. Returns scope-periods rated.

        Catching up, several periods go into one transaction (up to
        ``catch_up_points`` rated points held): one series lookup, one COPY
        and one rollup update per period group instead of per period, the
        rollups' rows being the same day and month for consecutive periods.
        Each scope's points and the advance of its state over those periods
        still commit together (compare-and-set from the state it had). A
        failure of one scope first commits what the chunk holds, then is
        recorded on that scope; the others go on from there.
        """
        period = datetime.timedelta(seconds=self.deps.period)
        now = self.deps.clock()
        pending = {item.identity.scope_id: item for item in held}
        chunk = _Chunk()
        rated = 0
        start = held[0].start
        while pending:
            end = start + period
            frames, failed = self._rate_period(pending, start, end, pipeline)
            if self.stop.is_set():
                return rated  # abandon cleanly: nothing of the chunk was written
            if failed:
                rated += self._flush(chunk, pending, result)
                for item, error in failed:
                    current = pending.pop(item.identity.scope_id, None)
                    if current is not None:  # not dropped by the flush
                        self._fail(dataclasses.replace(current, start=start), error, result)
            if pending:
                chunk.add(start, end, [(sid, f) for sid, f in frames if sid in pending])
            start = end
            more = bool(pending) and self._is_due(start, now)
            if not more or chunk.points >= self.deps.catch_up_points:
                rated += self._flush(chunk, pending, result)
            if not more:
                break
        return rated

    def _rate_period(
        self,
        pending: Mapping[str, _Due],
        start: datetime.datetime,
        end: datetime.datetime,
        pipeline: Pipeline,
    ) -> tuple[list[tuple[str, DataFrame | None]], list[tuple[_Due, Exception]]]:
        """Collect once for the pending scopes and rate each: the rated
        frames (None: the scope used nothing) and the scopes that failed."""
        scope_ids = list(pending)
        failed: list[tuple[_Due, Exception]] = []
        usage: dict[str, dict[str, list[DataPoint]]] = {}
        while scope_ids:
            try:
                usage = self._collect(start, end, scope_ids)
                break
            except InvalidQuantity as error:
                # Bad data of one scope must not hold back the others.
                if error.scope_id not in scope_ids:
                    raise
                scope_ids.remove(error.scope_id)
                failed.append((pending[error.scope_id], error))
            except exceptions.SourceError as error:
                failed.extend((pending[scope_id], error) for scope_id in scope_ids)
                return [], failed
        frames: list[tuple[str, DataFrame | None]] = []
        for scope_id in scope_ids:
            try:
                frames.append(
                    (scope_id, self._rate(start, end, usage[scope_id], pipeline, scope_id))
                )
            except exceptions.CloudkittyError as error:
                failed.append((pending[scope_id], error))
        return frames, failed

    def _flush(self, chunk: _Chunk, pending: dict[str, _Due], result: SweepResult) -> int:
        """Commit what ``chunk`` holds; update ``pending`` (the committed
        scopes' new CAS state, the others dropped); empty the chunk."""
        if not chunk.periods:
            return 0
        last = chunk.periods[-1][0]
        scope_ids = [sid for sid in chunk.scope_ids if sid in pending]
        items = [pending[sid] for sid in scope_ids]
        began = chunk.began
        committed: list[_Due] = []
        if len(items) > 1:
            try:
                committed = self._commit_together(items, chunk, last)
            except Exception as error:
                if _database_lost(error):
                    # Scope by scope would fail the same way. Nothing was
                    # written; the sweep's handler logs it in one line and
                    # retries the periods with backoff.
                    raise
                self._warn_commit_together(len(items), last)
                committed = self._commit_each(items, chunk, last, result)
            else:
                self._moved(len(items) - len(committed), result)
        else:
            committed = self._commit_each(items, chunk, last, result)
        done = {item.identity.scope_id for item in committed}
        for item in items:
            scope_id = item.identity.scope_id
            if scope_id not in done:
                pending.pop(scope_id, None)
                continue
            for start, end in chunk.periods:
                self._rated(item, start, end, chunk.count(scope_id, start), began, result)
            pending[scope_id] = dataclasses.replace(item, start=chunk.next_start, previous=last)
            self._committed_through[scope_id] = last
        periods = len(chunk.periods)
        chunk.clear()
        return len(committed) * periods

    def _commit_each(
        self,
        items: list[_Due],
        chunk: _Chunk,
        last: datetime.datetime,
        result: SweepResult,
    ) -> list[_Due]:
        """Commit each scope alone: one bad scope's data (or a lost state)
        fails alone and its error keeps its path."""
        committed = []
        for item in items:
            try:
                self._commit_one(item, chunk.frames_of(item.identity.scope_id), last)
            except exceptions.CloudkittyError as error:
                self._fail(dataclasses.replace(item, start=chunk.periods[0][0]), error, result)
                continue
            except _StateMoved:
                self._moved(1, result)
                continue
            committed.append(item)
        return committed

    def _collect(
        self, start: datetime.datetime, end: datetime.datetime, scope_ids: list[str]
    ) -> dict[str, dict[str, list[DataPoint]]]:
        """``{scope: {metric name: points}}``, one source query per metric."""
        definitions = list(self.deps.collector.metrics.values())
        per_scope: dict[str, dict[str, list[DataPoint]]] = {s: {} for s in scope_ids}
        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=min(self.deps.max_threads, max(len(definitions), 1))
        ) as pool:
            futures = {
                pool.submit(self.deps.collector.collect, d, start, end, scope_ids): d
                for d in definitions
            }
            done, not_done = concurrent.futures.wait(futures, timeout=self.deps.collect_timeout)
            if not_done:
                for future in not_done:
                    future.cancel()
                raise exceptions.SourceUnreachable(
                    f"collection of {len(not_done)} metric(s) for {start.isoformat()} did not "
                    f"finish within {self.deps.collect_timeout} s"
                )
            for future in futures:
                definition = futures[future]
                by_scope = future.result()  # re-raises the collector's error
                for scope_id, points in by_scope.items():
                    if points and scope_id in per_scope:
                        per_scope[scope_id].setdefault(definition.name, []).extend(
                            self._skip(definition.key, definition.name, points)
                        )
        tm.COLLECT_SECONDS.observe(time.monotonic() - began)
        return per_scope

    def _skip(self, key: str, name: str, points: list[DataPoint]) -> list[DataPoint]:
        evaluate = self._skip_by_metric.get(key, self._skip_default)
        if evaluate is skip.never:
            return points
        return [
            p
            for p in points
            if not evaluate({"datapoint": p.to_dict(), "usage_data_metric_name": name})
        ]

    @staticmethod
    def _rate(
        start: datetime.datetime,
        end: datetime.datetime,
        usage: Mapping[str, list[DataPoint]],
        pipeline: Pipeline,
        scope_id: str,
    ) -> DataFrame | None:
        """The scope's rated frame; None when it used nothing."""
        if not usage:
            return None
        return pipeline.rate(DataFrame(start, end, usage), scope_id)

    def _commit_together(
        self, items: list[_Due], chunk: _Chunk, last: datetime.datetime
    ) -> list[_Due]:
        """Advance every scope's state to ``last`` and write the chunk's
        data of those advanced, in ONE transaction; returns the committed.

        Exactly-once holds per scope as in ``_commit_one``: each advance is
        the compare-and-set, and the advances run FIRST, so a scope whose
        state moved (a lost lock, a reset) drops out before any of its data
        is written, while the others go on. The advances lock the state
        rows (read FOR UPDATE, or the INSERT of a new scope) until the
        commit, so no other writer can move them in between; the commit
        then makes each remaining scope's data visible with its advance,
        and a crash or error anywhere leaves neither for every scope of the
        batch. The rows are locked in one order (id, or scope id where
        advances go one by one): two processors advancing overlapping
        batches cannot deadlock; the only rows writers of different scopes
        share (the per-type rollups) are written after every advance, in
        key order.
        """
        committed: list[_Due] = []
        pushes = []
        ordered = sorted(items, key=lambda item: item.identity.scope_id)
        moves = [(item.identity, item.previous) for item in ordered]
        with self.deps.states.db.begin() as conn:
            advanced = self.deps.states.advance_many(moves, last, conn=conn)
            for item, moved_on in zip(ordered, advanced, strict=True):
                if not moved_on:
                    continue
                committed.append(item)
                frames = chunk.frames_of(item.identity.scope_id)
                if frames:
                    pushes.append((item.identity.scope_id, frames))
            if pushes:
                self.deps.storage.push_scopes(pushes, conn=conn)
        return committed

    @staticmethod
    def _warn_commit_together(count: int, last: datetime.datetime) -> None:
        # Nothing was written. Scope by scope, one bad scope's data (or a
        # lost state) fails alone and errors keep their path.
        LOG.warning(
            "Committing %d scopes through %s together failed; committing them one by one",
            count,
            last.isoformat(),
            exc_info=True,
        )

    def _commit_one(self, item: _Due, frames: list[DataFrame], last: datetime.datetime) -> None:
        """Write one scope's data and advance its state in one transaction
        (compare-and-set: _StateMoved rolls both back)."""
        with self.deps.states.db.begin() as conn:
            if frames:
                self.deps.storage.push(frames, item.identity.scope_id, conn=conn)
            if not self.deps.states.advance(item.identity, item.previous, last, conn=conn):
                raise _StateMoved()

    def _moved(self, count: int, result: SweepResult) -> None:
        """``count`` scopes were moved on by someone else: look again soon."""
        if count:
            _note_next(result, self.deps.clock())

    def _rated(
        self,
        item: _Due,
        start: datetime.datetime,
        end: datetime.datetime,
        count: int,
        began: float,
        result: SweepResult,
    ) -> None:
        LOG.info(
            "Rated scope %s for %s: %d points in %.3f s",
            item.identity.scope_id,
            start.isoformat(),
            count,
            time.monotonic() - began,
        )
        self._logged_errors.pop(item.identity.scope_id, None)
        tm.record_rated(item.identity.scope_id, start, end, count, self.deps.clock())
        self.periods_rated += 1
        result.periods_rated += 1
        result.points_rated += count

    def _fail(self, item: _Due, error: Exception, result: SweepResult) -> None:
        """Record the error on the scope's state (API, metrics), log it once."""
        result.scopes_failed += 1
        cause = getattr(error, "cause", None)
        # Sources put the cause's own words in their message; its repr would
        # repeat them with the request URL (a whole encoded query), so only
        # its type is added.
        message = f"{error} ({type(cause).__name__})" if cause is not None else str(error)
        scope_id = item.identity.scope_id
        # Once per scope, period and kind of error: the text may change from
        # one retry to the next (a query quoting the batch's scopes in
        # shuffled order), which used to log the same outage on every retry.
        log_key = f"{item.start.isoformat()} {type(error).__name__}"
        if self._logged_errors.get(scope_id) != log_key:
            LOG.error(
                "Scope %s, period %s not rated: %s", scope_id, item.start.isoformat(), message
            )
            self._logged_errors[scope_id] = log_key
        initial = item.previous
        if initial is None:
            initial = item.start - datetime.timedelta(seconds=self.deps.period)
        state = None
        try:
            state = self.deps.states.record_error(
                item.identity, message, initial_timestamp=initial, at=self.deps.clock()
            )
        except Exception:  # the DB may be the thing that is down
            LOG.warning("Could not record the error of scope %s", scope_id, exc_info=True)
        tm.record_failed(
            scope_id, type(error).__name__, state.error_count if state is not None else None
        )
        # Wake up for the retry: a sweep whose batches all failed used to
        # report nothing due and idle up to MAX_IDLE, far past the backoff.
        retry_at = self._backoff_until(state) if state is not None else None
        if retry_at is None:
            delay = min(FIRST_BACKOFF, self.deps.backoff_max)
            retry_at = self.deps.clock() + datetime.timedelta(seconds=delay)
        _note_next(result, retry_at)


def _database_lost(error: Exception) -> bool:
    """A dropped connection, or none to be had (no statement ran): the
    database went away (restart, failover, network)."""
    return isinstance(error, sa_exc.DBAPIError) and (
        error.connection_invalidated or error.statement is None
    )


class _Chunk:
    """Rated frames of consecutive periods of a batch, not committed yet."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.periods: list[tuple[datetime.datetime, datetime.datetime]] = []
        self.scope_ids: list[str] = []
        self._frames: dict[str, list[DataFrame]] = {}
        self._counts: dict[tuple[str, datetime.datetime], int] = {}
        self.points = 0
        self.began = 0.0

    def add(
        self,
        start: datetime.datetime,
        end: datetime.datetime,
        frames: Sequence[tuple[str, DataFrame | None]],
    ) -> None:
        if not self.periods:
            self.began = time.monotonic()
            self.scope_ids = [scope_id for scope_id, _ in frames]
        self.periods.append((start, end))
        for scope_id, frame in frames:
            held = self._frames.setdefault(scope_id, [])
            if frame is not None:
                held.append(frame)
                self._counts[scope_id, start] = len(frame)
                self.points += len(frame)

    @property
    def next_start(self) -> datetime.datetime:
        return self.periods[-1][1]

    def frames_of(self, scope_id: str) -> list[DataFrame]:
        return self._frames.get(scope_id, [])

    def count(self, scope_id: str, start: datetime.datetime) -> int:
        """Points of the scope in the period starting at ``start``."""
        return self._counts.get((scope_id, start), 0)


class _StateMoved(Exception):
    """The scope's state changed under us; the transaction was rolled back."""


def _note_next(result: SweepResult, when: datetime.datetime) -> None:
    if result.next_due is None or when < result.next_due:
        result.next_due = when
