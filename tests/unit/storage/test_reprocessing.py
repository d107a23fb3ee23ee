"""Reprocessing schedule repository on SQLite."""

from __future__ import annotations

import datetime

import pytest

from cloudkitty import exceptions
from cloudkitty.db.engine import Database
from cloudkitty.storage import reprocessing
from cloudkitty.storage.reprocessing import ReprocessingRepository
from cloudkitty.storage.state import StateRepository
from tests.unit.storage.conftest import HOUR, T0

PERIOD = 3600


@pytest.fixture
def schedules(db: Database) -> ReprocessingRepository:
    states = StateRepository(db)
    states.create("aaaa", T0 + 10 * HOUR)
    states.create("bbbb", T0 + 10 * HOUR)
    states.create("off", T0 + 10 * HOUR, active=False)
    return ReprocessingRepository(db)


def test_create_one_schedule_per_scope(schedules: ReprocessingRepository) -> None:
    created = schedules.create(["aaaa", "bbbb"], T0, T0 + 2 * HOUR, "price fix", PERIOD)
    assert [(s.scope_id, s.current_reprocess_time) for s in created] == [
        ("aaaa", None),
        ("bbbb", None),
    ]
    assert created[0].start_reprocess_time == T0
    assert created[0].end_reprocess_time == T0 + 2 * HOUR


def test_all_means_every_active_scope(schedules: ReprocessingRepository) -> None:
    created = schedules.create("ALL", T0, T0, "r", PERIOD)
    assert sorted(s.scope_id for s in created) == ["aaaa", "bbbb"]


@pytest.mark.parametrize(
    ("scope_ids", "start", "end", "reason", "message"),
    [
        (["ALL", "aaaa"], T0, T0, "r", "Cannot use 'ALL' with scope ID"),
        ("aaaa", T0, T0, "  ", "Empty or blank reason text is not allowed."),
        ("aaaa", T0 + HOUR, T0, "r", "cannot be less than start reprocessing timestamp"),
        (
            "aaaa",
            T0 + datetime.timedelta(minutes=5),
            T0 + HOUR,
            "r",
            "A valid time window near the provided one is "
            "['2024-05-01 00:00:00+00:00', '2024-05-01 01:00:00+00:00']",
        ),
        ("zzzz", T0, T0, "r", "Scopes ['zzzz'] scheduled to reprocess"),
        ("off", T0, T0, "r", "Scopes ['off'] scheduled to reprocess"),
        ("aaaa", T0 + 11 * HOUR, T0 + 11 * HOUR, "r", "[start=2024-05-01 11:00:00+00:00]"),
        ("aaaa", T0, T0 + 11 * HOUR, "r", "ending after the last possible timestamp"),
    ],
)
def test_create_validations(
    schedules: ReprocessingRepository,
    scope_ids: object,
    start: datetime.datetime,
    end: datetime.datetime,
    reason: str,
    message: str,
) -> None:
    with pytest.raises(exceptions.InvalidInput) as err:
        schedules.create(scope_ids, start, end, reason, PERIOD)  # type: ignore[arg-type]
    assert message in str(err.value)


def test_near_window_when_both_ends_round_to_the_same_period() -> None:
    with pytest.raises(exceptions.InvalidInput) as err:
        reprocessing.validate_window(T0, T0 + datetime.timedelta(minutes=1), "r", PERIOD)
    assert "['2024-05-01 00:00:00+00:00', '2024-05-01 01:00:00+00:00']" in str(err.value)


def test_overlap_with_unfinished_schedule_is_refused(schedules: ReprocessingRepository) -> None:
    (first,) = schedules.create("aaaa", T0, T0 + 2 * HOUR, "r", PERIOD)
    with pytest.raises(exceptions.InvalidInput, match="already has a schedule"):
        schedules.create("aaaa", T0 + 2 * HOUR, T0 + 4 * HOUR, "r", PERIOD)  # touches
    schedules.create("aaaa", T0 + 3 * HOUR, T0 + 4 * HOUR, "r", PERIOD)
    schedules.create("bbbb", T0, T0 + 2 * HOUR, "r", PERIOD)
    for hour in (0, 1, 2):
        schedules.mark_progress(first.id, T0 + hour * HOUR)
    schedules.create("aaaa", T0, T0 + 2 * HOUR, "again", PERIOD)  # first one finished


def test_list_order_is_validated_never_interpolated(schedules: ReprocessingRepository) -> None:
    schedules.create("aaaa", T0, T0, "one", PERIOD)
    schedules.create("bbbb", T0, T0, "two", PERIOD)
    assert [s.reason for s in schedules.list_schedules()] == ["two", "one"]
    assert [s.reason for s in schedules.list_schedules(order="ASC")] == ["one", "two"]
    assert [s.reason for s in schedules.list_schedules(scope_ids=["bbbb"])] == ["two"]
    assert [s.reason for s in schedules.list_schedules(scope_ids="aaaa")] == ["one"]
    assert [s.reason for s in schedules.list_schedules(offset=1, limit=1)] == ["one"]
    with pytest.raises(exceptions.InvalidInput) as err:
        schedules.list_schedules(order="id; DROP TABLE x")
    assert str(err.value) == (
        "The order [id; DROP TABLE x] is not valid. Accepted values are ['asc', 'desc']."
    )


def test_next_timestamp_progress_and_inclusive_end(schedules: ReprocessingRepository) -> None:
    (schedule,) = schedules.create("aaaa", T0, T0 + 2 * HOUR, "r", PERIOD)
    seen = []
    while (ts := schedule.next_timestamp(PERIOD)) is not None:
        seen.append(ts)
        schedule = schedules.mark_progress(schedule.id, ts)
    assert seen == [T0, T0 + HOUR, T0 + 2 * HOUR]
    assert schedule.purge_window(PERIOD) == (T0, T0 + 3 * HOUR)
    assert schedules.unfinished() == []


def test_unfinished_newest_first(schedules: ReprocessingRepository) -> None:
    (a,) = schedules.create("aaaa", T0, T0 + HOUR, "a", PERIOD)
    (b,) = schedules.create("bbbb", T0, T0 + HOUR, "b", PERIOD)
    assert [s.id for s in schedules.unfinished()] == [b.id, a.id]
    schedules.mark_progress(b.id, T0 + HOUR)
    assert [s.id for s in schedules.unfinished(limit=5)] == [a.id]
    assert schedules.get(a.id) == a


def test_unknown_schedule(schedules: ReprocessingRepository) -> None:
    with pytest.raises(exceptions.NotFound):
        schedules.get(42)
    with pytest.raises(exceptions.NotFound):
        schedules.mark_progress(42, T0)


def test_mark_progress_compare_and_set(schedules: ReprocessingRepository) -> None:
    (schedule,) = schedules.create("aaaa", T0, T0 + 2 * HOUR, "r", PERIOD)
    schedules.mark_progress(schedule.id, T0, expected=None)
    with pytest.raises(exceptions.Conflict):
        schedules.mark_progress(schedule.id, T0 + HOUR, expected=None)
    with pytest.raises(exceptions.Conflict):
        schedules.mark_progress(schedule.id, T0 + HOUR, expected=T0 + 5 * HOUR)
    moved = schedules.mark_progress(schedule.id, T0 + HOUR, expected=T0)
    assert moved.current_reprocess_time == T0 + HOUR
    with pytest.raises(exceptions.NotFound):
        schedules.mark_progress(999, T0, expected=None)
