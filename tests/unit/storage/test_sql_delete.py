"""SQLStorage.delete on SQLite: exactly the window and scope asked for,
rollups kept equal to the points."""

from __future__ import annotations

from typing import Any

import pytest

from cloudkitty.storage.sqlalchemy import SQLStorage
from tests.unit.storage.conftest import DAY, HOUR, T0, D, assert_rollups_match_points, hourly

USAGE = {
    "cpu": [("p1", "vm1", "1", "1"), ("p2", "vm2", "10", "1")],
    "ram": [("p1", "vm1", "100", "1")],
}


@pytest.fixture
def filled(storage: SQLStorage) -> SQLStorage:
    storage.push(hourly(72, USAGE), "p1")
    return storage


def _per_project(storage: SQLStorage, begin: Any = None, end: Any = None) -> dict:
    result = storage.total(["project_id"], begin, end, limit=None)
    return {r["project_id"]: r["qty"] for r in result["results"]}


def test_delete_one_scope_window(filled: SQLStorage, raw_storage: SQLStorage) -> None:
    deleted = filled.delete(T0 + 5 * HOUR, T0 + 50 * HOUR, {"project_id": "p1"})
    assert deleted == 45 * 2
    assert _per_project(filled) == {"p1": D(101 * 27), "p2": D(10 * 72)}
    remaining = filled.retrieve(T0 + 5 * HOUR, T0 + 50 * HOUR, filters={"project_id": "p1"})
    assert remaining["total"] == 0
    assert filled.retrieve(T0 + 4 * HOUR, T0 + 5 * HOUR, filters={"project_id": "p1"})["total"] == 2
    assert (
        filled.retrieve(T0 + 50 * HOUR, T0 + 51 * HOUR, filters={"project_id": "p1"})["total"] == 2
    )
    assert_rollups_match_points(filled)
    for begin, end in ((T0, T0 + 3 * DAY), (T0 + 3 * HOUR, T0 + 60 * HOUR)):
        assert filled.total(["project_id"], begin, end) == raw_storage.total(
            ["project_id"], begin, end
        )


def test_delete_until_the_end_of_time(filled: SQLStorage) -> None:
    assert filled.delete(T0 + 30 * HOUR, None, {"project_id": "p2"}) == 42
    assert _per_project(filled) == {"p1": D(101 * 72), "p2": D(10 * 30)}
    assert_rollups_match_points(filled)


def test_delete_everything_of_a_scope(filled: SQLStorage) -> None:
    filled.delete(None, None, {"project_id": ["p2"]})
    assert _per_project(filled) == {"p1": D(101 * 72)}
    assert_rollups_match_points(filled)


def test_delete_by_type_and_time_key(filled: SQLStorage) -> None:
    filled.delete(None, None, {"type": "ram", "day_of_the_year": "123"})
    result = filled.total(["type", "time-d"], None, None, limit=None)
    rows = {(r["type"], r["day_of_the_year"]): r["qty"] for r in result["results"]}
    assert ("ram", "123") not in rows
    assert rows[("ram", "122")] == D(2400)
    assert rows[("cpu", "123")] == D(11 * 24)
    assert_rollups_match_points(filled)


def test_delete_whole_days_only(filled: SQLStorage) -> None:
    filled.delete(T0 + DAY, T0 + 2 * DAY)
    assert _per_project(filled) == {"p1": D(101 * 48), "p2": D(10 * 48)}
    assert_rollups_match_points(filled)


def test_delete_nothing(filled: SQLStorage) -> None:
    assert filled.delete(T0 + 100 * DAY, None) == 0
    assert filled.delete(None, None, {"project_id": "nobody"}) == 0
    assert filled.retrieve(None, None)["total"] == 216


def test_delete_inside_the_callers_transaction(filled: SQLStorage) -> None:
    with pytest.raises(RuntimeError):
        with filled.database.begin() as conn:
            filled.delete(None, None, {"project_id": "p1"}, conn=conn)
            raise RuntimeError("state update failed")
    assert filled.retrieve(None, None)["total"] == 216
    assert _per_project(filled) == {"p1": D(101 * 72), "p2": D(720)}


def test_push_after_delete_restores_the_same_totals(filled: SQLStorage) -> None:
    before = filled.total(["project_id", "type"], None, None)
    filled.delete(T0 + 10 * HOUR, T0 + 20 * HOUR, {"project_id": "p1"})
    frames = hourly(
        10, {k: [s for s in v if s[0] == "p1"] for k, v in USAGE.items()}, T0 + 10 * HOUR
    )
    filled.push(frames, "p1")
    assert filled.total(["project_id", "type"], None, None) == before
    assert_rollups_match_points(filled)
