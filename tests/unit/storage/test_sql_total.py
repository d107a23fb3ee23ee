"""SQLStorage.total on SQLite: groupings, filters, pagination, rollups."""

from __future__ import annotations

from typing import Any

import pytest

from cloudkitty.dataframe import DataFrame
from cloudkitty.storage.sqlalchemy import SQLStorage
from tests.unit.storage.conftest import DAY, HOUR, T0, D, hourly, point

# Two projects over three days: p1 has a VM (1 x 0.5 per hour) and a volume
# (2 x 0.1), p2 a VM (4 x 0.25).
USAGE = {
    "cpu": [("p1", "vm1", "1", "0.5"), ("p2", "vm2", "4", "0.25")],
    "volume": [("p1", "vol1", "2", "0.1")],
}
HOURS = 72


@pytest.fixture
def filled(storage: SQLStorage) -> SQLStorage:
    storage.push(hourly(HOURS, USAGE), "p1")
    return storage


def _rows(result: dict[str, Any], *keys: str) -> list[tuple]:
    return [tuple(r[k] for k in keys) for r in result["results"]]


def test_group_by_project(filled: SQLStorage) -> None:
    result = filled.total(["project_id"], T0, T0 + 3 * DAY)
    assert result["total"] == 2
    assert _rows(result, "project_id", "qty", "rate") == [
        ("p1", D(3 * HOURS), D("0.6") * HOURS),
        ("p2", D(4 * HOURS), D("0.25") * HOURS),
    ]
    first = result["results"][0]
    assert list(first) == ["begin", "end", "qty", "rate", "project_id"]
    assert (first["begin"], first["end"]) == (T0, T0 + 3 * DAY)
    assert str(first["qty"]) == "216.0000000000000000"
    assert str(first["rate"]) == "43.2000000000000000000000000000"


def test_no_groupby_is_one_row(filled: SQLStorage) -> None:
    result = filled.total([], T0, T0 + DAY)
    assert result["total"] == 1
    assert _rows(result, "qty", "rate") == [(D(7 * 24), D("0.85") * 24)]


def test_no_data_is_no_row(storage: SQLStorage) -> None:
    assert storage.total([], T0, T0 + DAY) == {"total": 0, "results": []}
    assert storage.total(["project_id"], T0, T0 + DAY) == {"total": 0, "results": []}


def test_group_by_type_and_project_in_request_order(filled: SQLStorage) -> None:
    result = filled.total(["type", "project_id"], T0, T0 + DAY)
    assert list(result["results"][0])[4:] == ["type", "project_id"]
    assert _rows(result, "type", "project_id", "qty") == [
        ("cpu", "p1", D(24)),
        ("cpu", "p2", D(96)),
        ("volume", "p1", D(48)),
    ]


def test_group_by_time_gives_one_row_per_period(filled: SQLStorage) -> None:
    result = filled.total(["time"], T0 + HOUR, T0 + 4 * HOUR)
    assert result["total"] == 3
    assert [(r["begin"], r["end"], r["qty"]) for r in result["results"]] == [
        (T0 + h * HOUR, T0 + (h + 1) * HOUR, D(7)) for h in (1, 2, 3)
    ]


@pytest.mark.parametrize(
    ("groupby", "key", "values"),
    [
        ("time-d", "day_of_the_year", ["122", "123", "124"]),
        ("time-w", "week_of_the_year", ["17"]),
        ("time-m", "month", ["5"]),
        ("time-y", "year", ["2024"]),
    ],
)
def test_group_by_time_options(filled: SQLStorage, groupby: str, key: str, values: list) -> None:
    result = filled.total([groupby], T0, T0 + 3 * DAY)
    assert [r[key] for r in result["results"]] == values
    assert sum(r["qty"] for r in result["results"]) == D(7 * HOURS)


def test_time_d_with_project(filled: SQLStorage) -> None:
    result = filled.total(["time-d", "project_id"], T0 + 12 * HOUR, T0 + 36 * HOUR)
    assert _rows(result, "day_of_the_year", "project_id", "qty") == [
        ("122", "p1", D(36)),
        ("122", "p2", D(48)),
        ("123", "p1", D(36)),
        ("123", "p2", D(48)),
    ]


@pytest.mark.parametrize(
    ("filters", "metric_types", "expected"),
    [
        ({"project_id": "p1"}, None, [("p1", D(72))]),
        ({"project_id": ["p1", "p2"]}, None, [("p1", D(72)), ("p2", D(96))]),
        ({"type": "cpu"}, None, [("p1", D(24)), ("p2", D(96))]),
        ({"id": ["vol1", "vm2"]}, None, [("p1", D(48)), ("p2", D(96))]),
        ({}, ["volume"], [("p1", D(48))]),
        ({"day_of_the_year": "122"}, None, [("p1", D(72)), ("p2", D(96))]),
        ({"day_of_the_year": "123"}, None, []),
        ({"project_id": "unknown"}, None, []),
    ],
)
def test_filters(filled: SQLStorage, filters: dict, metric_types: object, expected: list) -> None:
    result = filled.total(["project_id"], T0, T0 + DAY, filters=filters, metric_types=metric_types)
    assert _rows(result, "project_id", "qty") == expected
    assert result["total"] == len(expected)


def test_pagination_in_sql_with_total_of_groups(filled: SQLStorage) -> None:
    everything = filled.total(["time"], T0, T0 + DAY, limit=None)
    assert everything["total"] == 24
    page = filled.total(["time"], T0, T0 + DAY, offset=5, limit=3)
    assert page["total"] == 24
    assert page["results"] == everything["results"][5:8]
    beyond = filled.total(["time"], T0, T0 + DAY, offset=30, limit=3)
    assert beyond == {"total": 24, "results": []}
    unpaged = filled.total(["time"], T0, T0 + DAY, offset=5, limit=3, paginate=False)
    assert len(unpaged["results"]) == 24


def test_missing_attribute_groups_last_as_none(storage: SQLStorage) -> None:
    storage.push(
        hourly(1, {"cpu": [("p1", "vm1", "1", "1")], "ram": [("p1", "vm1", "1", "1")]}), "p1"
    )
    extra = point("p1", "vm9", "5", "1", flavor_id="B")
    other = point("p1", "vm8", "6", "1", flavor_id="a")
    storage.push([DataFrame(T0, T0 + HOUR, {"cpu": [extra, other]})], "p1")
    result = storage.total(["flavor_id"], T0, T0 + HOUR)
    # byte order (uppercase first), NULL last, on every backend
    assert _rows(result, "flavor_id", "qty") == [("B", D(5)), ("a", D(6)), (None, D(2))]


def test_grouping_is_case_sensitive(storage: SQLStorage) -> None:
    storage.push(hourly(1, {"cpu": [("ABC", "vm1", "1", "1"), ("abc", "vm2", "2", "1")]}), "x")
    result = storage.total(["project_id"], T0, T0 + HOUR)
    assert _rows(result, "project_id", "qty") == [("ABC", D(1)), ("abc", D(2))]


@pytest.mark.parametrize(
    ("begin", "end"),
    [
        (T0, T0 + 3 * DAY),  # whole days: rollups only
        (T0 + 5 * HOUR, T0 + 50 * HOUR),  # partial edges + one whole day
        (T0 + 5 * HOUR, T0 + 7 * HOUR),  # inside one day
        (T0 + 23 * HOUR, T0 + 25 * HOUR),  # across midnight, no whole day
        (None, T0 + 30 * HOUR),
        (T0 + 30 * HOUR, None),
        (None, None),
    ],
)
def test_rollups_give_the_same_answers(
    filled: SQLStorage, raw_storage: SQLStorage, begin: Any, end: Any
) -> None:
    for groupby in (["project_id"], ["type", "time-d"], []):
        assert filled.total(groupby, begin, end) == raw_storage.total(groupby, begin, end)


def test_custom_fields_are_ignored(filled: SQLStorage) -> None:
    assert filled.total(["project_id"], T0, T0 + DAY, custom_fields="DROP TABLE x") == (
        filled.total(["project_id"], T0, T0 + DAY)
    )


def test_duplicate_and_rewritten_groupby_keys(filled: SQLStorage) -> None:
    result = filled.total(["time-d", "day_of_the_year", "type", "type"], T0, T0 + DAY)
    assert list(result["results"][0])[4:] == ["day_of_the_year", "type"]
