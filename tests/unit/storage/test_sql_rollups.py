"""The rollup levels on SQLite: monthly and per-type sums answer exactly like
the points for random windows, filters and groupings, and stay equal to a
rebuild from the points through pushes, deletes and reprocessing."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest
import sqlalchemy as sa

from cloudkitty.dataframe import DataFrame
from cloudkitty.db import tables
from cloudkitty.storage.sql import query, rollup, windows
from cloudkitty.storage.sql.filters import Filters
from cloudkitty.storage.sqlalchemy import SQLStorage
from tests.unit.storage.conftest import (
    DAY,
    HOUR,
    ROLLUPS,
    UTC,
    D,
    assert_rollups_match_points,
    point,
    rollup_rows,
)

# Six weeks around a month boundary: April 25 to June 5, so windows can hold
# whole months, whole days and partial days.
START = datetime.datetime(2024, 4, 25, tzinfo=UTC)
HOURS = 41 * 24


def _frames(start: datetime.datetime, hours: int, step: int = 1) -> list[DataFrame]:
    """Three projects, three types; a legacy metric carries no time keys
    (NULLs in the rollup keys); quantities change with the hour."""
    frames = []
    for hour in range(0, hours, step):
        begin = start + hour * HOUR
        n = int((begin - START) / HOUR)
        usage = {
            "cpu": [
                point("p1", "vm1", "1", "0.5", start=begin, flavor="a"),
                point("p2", "vm2", "2", "0.25", start=begin, flavor="b"),
            ],
            "ram": [point("p2", "vm2", str(n % 7), f"0.{n % 10}1", start=begin, flavor="b")],
            "legacy": [point("p3", "x", "3", "0.3333333333333333333333333333")],
        }
        frames.append(DataFrame(begin, begin + step * HOUR, usage))
    return frames


@pytest.fixture
def filled(storage: SQLStorage) -> SQLStorage:
    storage.push(_frames(START, HOURS), "s")
    return storage


def _random_bound(rng: random.Random) -> datetime.datetime | None:
    choice = rng.random()
    if choice < 0.1:
        return None
    if choice < 0.4:  # midnight or month start: whole units
        return rng.choice([START + d * DAY for d in range(42)] + [windows.floor_month(START)])
    return START + rng.randrange(-30, HOURS + 30) * HOUR


GROUPBYS = (
    [],
    ["project_id"],
    ["type"],
    ["type", "project_id"],
    ["time-d"],
    ["time-w", "type"],
    ["time-m", "project_id"],
    ["id", "time-y"],
    ["flavor"],
    ["time"],
)
FILTERS: tuple[dict[str, Any] | None, ...] = (
    None,
    {"project_id": "p1"},
    {"type": "cpu"},
    {"type": ["ram", "legacy"]},
    {"day_of_the_year": "130"},
    {"project_id": ["p2", "p3"], "type": "ram"},
    {"month": "5"},
    {"flavor": "b", "week_of_the_year": "18"},
)


def _compare_random(storage: SQLStorage, raw: SQLStorage, seed: int, count: int) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        begin, end = _random_bound(rng), _random_bound(rng)
        groupby, filters = rng.choice(GROUPBYS), rng.choice(FILTERS)
        case = (groupby, begin, end, filters)
        fast = storage.total(groupby, begin, end, filters=filters, limit=None)
        assert fast == raw.total(groupby, begin, end, filters=filters, limit=None), case
        page = storage.total(groupby, begin, end, filters=filters, offset=1, limit=2)
        assert page["results"] == fast["results"][1:3], case
        assert page["total"] == fast["total"], case


def test_random_windows_filters_and_groupings(filled: SQLStorage, raw_storage: SQLStorage) -> None:
    _compare_random(filled, raw_storage, seed=7, count=150)


def test_a_whole_month_is_read_from_the_monthly_rows(filled: SQLStorage) -> None:
    may, june = datetime.datetime(2024, 5, 1, tzinfo=UTC), datetime.datetime(2024, 6, 1, tzinfo=UTC)
    with filled.database.begin() as conn:  # the points alone could not answer now
        conn.execute(tables.rated_points.delete())
        conn.execute(tables.rated_points_daily.delete())
    result = filled.total(["project_id"], may, june)
    assert [(r["project_id"], r["qty"]) for r in result["results"]] == [
        ("p1", D(31 * 24)),
        ("p2", D(31 * 24 * 2) + sum(D(n % 7) for n in range(6 * 24, 37 * 24))),
        ("p3", D(31 * 24 * 3)),
    ]


def test_attribute_free_days_are_read_from_the_type_rows(filled: SQLStorage) -> None:
    first, third = (
        datetime.datetime(2024, 5, 1, tzinfo=UTC),
        datetime.datetime(2024, 5, 3, tzinfo=UTC),
    )
    expected = filled.total(["type", "time-d"], first, third, filters={"type": ["cpu", "legacy"]})
    with filled.database.begin() as conn:
        conn.execute(tables.rated_points.delete())
        conn.execute(tables.rated_points_daily.delete())
        conn.execute(tables.rated_points_monthly.delete())
    assert expected["total"] == 3  # cpu twice, legacy once (no day key: None)
    again = filled.total(["type", "time-d"], first, third, filters={"type": ["cpu", "legacy"]})
    assert again == expected
    assert [(r["type"], r["day_of_the_year"]) for r in expected["results"]] == [
        ("cpu", "122"),
        ("cpu", "123"),
        ("legacy", None),
    ]


@pytest.mark.parametrize(
    ("groupby", "filters", "expected"),
    [
        (["project_id"], None, query.Plan(("month", "day", "period"), by_type=False)),
        (["time-d"], None, query.Plan(("day", "period"), by_type=True)),
        (["type"], {"type": "cpu"}, query.Plan(("day", "period"), by_type=True)),
        ([], {"project_id": "p1"}, query.Plan(("month", "day", "period"), by_type=False)),
        (["time-d"], {"project_id": "p1"}, query.Plan(("day", "period"), by_type=False)),
        (["id"], {"month": "5"}, query.Plan(("day", "period"), by_type=False)),
        (["time", "type"], None, query.Plan(("period",), by_type=False)),
    ],
)
def test_plan_picks_the_coarsest_exact_level(
    groupby: list[str], filters: dict[str, Any] | None, expected: query.Plan
) -> None:
    keys = query.plan_groupby(groupby)
    assert query.plan(keys, Filters.build(filters), use_rollups=True) == expected
    assert query.plan(keys, Filters.build(filters), use_rollups=False).units == ("period",)


def test_pushes_keep_the_levels_equal_to_points(storage: SQLStorage) -> None:
    storage.push(_frames(START, 30), "s")
    storage.push(_frames(START + 30 * HOUR, 40, step=2), "s")  # two-hour periods
    storage.push(_frames(START, 5), "s")  # the same periods again: sums add up
    assert_rollups_match_points(storage)


@pytest.mark.parametrize("seed", range(6))
def test_random_deletes_keep_the_levels_equal_to_points(
    filled: SQLStorage, raw_storage: SQLStorage, seed: int
) -> None:
    rng = random.Random(seed)
    for _ in range(3):
        begin, end = _random_bound(rng), _random_bound(rng)
        filters = rng.choice((None, {"project_id": "p2"}, {"type": "ram"}, {"month": "5"}))
        filled.delete(begin, end, filters)
    assert_rollups_match_points(filled)
    _compare_random(filled, raw_storage, seed=seed, count=20)


def test_reprocessing_a_period_restores_the_same_rollups(filled: SQLStorage) -> None:
    before = rollup_rows(filled)
    for hour in (0, 150, 151, HOURS - 1):  # period by period, as the reprocessor does
        begin = START + hour * HOUR
        filled.delete(begin, begin + HOUR, {"project_id": "p2"})
        frame = _frames(begin, 1)[0]
        only_p2 = {
            m: [p for p in pts if p.groupby["project_id"] == "p2"] for m, pts in frame.usage.items()
        }
        filled.push([frame.replace_usage({m: p for m, p in only_p2.items() if p})], "s")
    assert rollup_rows(filled) == before


def test_emptied_rows_are_removed(filled: SQLStorage) -> None:
    filled.delete(START + 3 * HOUR, START + 40 * HOUR, {"type": "legacy"})
    filled.delete(None, None, {"project_id": ["p1", "p3"]})
    filled.delete(None, None, {"type": "ram"})
    filled.delete(None, datetime.datetime(2024, 6, 4, 5, tzinfo=UTC))
    with filled.database.connect() as conn:
        types = conn.execute(sa.select(tables.rated_types_daily.c.type).distinct()).scalars().all()
        months = conn.execute(sa.select(tables.rated_points_monthly.c.month)).scalars().all()
        empty = [
            conn.execute(sa.select(sa.func.count()).where(t.c.points == 0)).scalar()
            for t in ROLLUPS
        ]
    assert types == ["cpu"]
    assert set(months) == {datetime.datetime(2024, 6, 1, tzinfo=UTC)}
    assert empty == [0, 0, 0]
    assert_rollups_match_points(filled)


def test_rebuild_of_some_series_equals_a_full_rebuild(filled: SQLStorage) -> None:
    expected = rollup_rows(filled)
    with filled.database.begin() as conn:
        # Damage the rollups of two series (and the shared per-type rows of
        # their days), drop the points of one, then repair those two only.
        for table in ROLLUPS[:2]:
            conn.execute(table.update().where(table.c.series_id.in_([1, 2])).values(points=99))
        conn.execute(tables.rated_types_daily.update().values(points=99))
        conn.execute(tables.rated_points.delete().where(tables.rated_points.c.series_id == 2))
        written = rollup.rebuild(conn, [2, 1, 2])
    assert written > 0
    assert rollup_rows(filled) != expected  # series 2 lost its points
    assert_rollups_match_points(filled)
