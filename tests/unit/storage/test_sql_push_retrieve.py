"""SQLStorage.push and .retrieve on SQLite: round trip, pagination, filters."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import tables
from cloudkitty.storage.sqlalchemy import SQLStorage
from tests.unit.storage.conftest import HOUR, T0, D, hourly, point


def _count(storage: SQLStorage, table: sa.Table) -> int:
    with storage.database.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_push_returns_number_of_points(storage: SQLStorage) -> None:
    frames = hourly(3, {"cpu": [("p1", "vm1", "1", "0.5"), ("p2", "vm2", "2", "1")]})
    assert storage.push(frames, "p1") == 6


def test_push_nothing(storage: SQLStorage) -> None:
    assert storage.push([], "p1") == 0
    assert storage.push([DataFrame(T0, T0 + HOUR, {})], "p1") == 0


def test_round_trip_keeps_every_field_and_digit(storage: SQLStorage) -> None:
    original = point(
        "p1",
        "vm1",
        "0.1",
        "0.3333333333333333333333333333",
        start=T0,
        unit="GiB",
        metadata={"flavor": "m1.small", "tags": ["a", "b"], "ok": True},
        size=3,
    )
    storage.push([DataFrame(T0, T0 + HOUR, {"volume": [original]})], "p1")
    result = storage.retrieve(T0, T0 + HOUR)
    assert result["total"] == 1
    (frame,) = result["dataframes"]
    assert (frame.start, frame.end) == (T0, T0 + HOUR)
    (stored,) = frame.points("volume")
    assert stored == original  # Decimal equality, same dicts
    assert str(stored.qty) == "0.1000000000000000"
    assert str(stored.price) == "0.3333333333333333333333333333"
    assert stored.groupby["day_of_the_year"] == "122"
    assert stored.metadata["tags"] == ["a", "b"]


def test_one_series_per_resource_across_periods(storage: SQLStorage) -> None:
    storage.push(hourly(48, {"cpu": [("p1", "vm1", "1", "1")]}), "p1")
    storage.push(hourly(2, {"cpu": [("p1", "vm1", "1", "1")]}, start=T0 + 48 * HOUR), "p1")
    assert _count(storage, tables.rated_series) == 1
    assert _count(storage, tables.rated_points) == 50
    # one rollup row per UTC day (the time keys do not split a day)
    assert _count(storage, tables.rated_points_daily) == 3


def test_series_differ_by_scope_type_unit_and_metadata(storage: SQLStorage) -> None:
    base = point("p1", "vm1", "1", "1")
    frame = DataFrame(
        T0,
        T0 + HOUR,
        {
            "cpu": [base, base._replace(unit="core"), base._replace(metadata={"x": 1})],
            "ram": [base],
        },
    )
    storage.push([frame], "p1")
    storage.push([frame], "p2")
    assert _count(storage, tables.rated_series) == 8


def test_retrieve_paginates_points_and_regroups_frames(storage: SQLStorage) -> None:
    storage.push(
        hourly(3, {"cpu": [("p1", "vm1", "1", "1")], "ram": [("p1", "vm1", "2", "1")]}), "p1"
    )
    page = storage.retrieve(T0, T0 + 3 * HOUR, offset=1, limit=3)
    assert page["total"] == 6
    frames = page["dataframes"]
    assert [(f.start, len(f)) for f in frames] == [(T0, 1), (T0 + HOUR, 2)]
    assert frames[0].metric_types() == ["ram"]  # cpu (offset 0) skipped
    everything = storage.retrieve(T0, T0 + 3 * HOUR, paginate=False)
    assert sum(len(f) for f in everything["dataframes"]) == 6


def test_retrieve_window_is_on_period_start(storage: SQLStorage) -> None:
    storage.push(hourly(4, {"cpu": [("p1", "vm1", "1", "1")]}), "p1")
    result = storage.retrieve(T0 + HOUR, T0 + 3 * HOUR)
    assert [f.start for f in result["dataframes"]] == [T0 + HOUR, T0 + 2 * HOUR]
    assert storage.retrieve(None, None)["total"] == 4


@pytest.mark.parametrize(
    ("filters", "metric_types", "expected"),
    [
        ({"project_id": "p1"}, None, 4),
        ({"project_id": ["p1", "p2"]}, None, 6),
        ({"project_id": "nope"}, None, 0),
        ({"type": "ram"}, None, 2),
        ({"type": ["ram", "cpu"]}, None, 6),
        ({}, "cpu", 4),
        ({}, ["cpu"], 4),
        ({"type": "cpu"}, ["ram"], 0),
        ({"flavor": "m1"}, None, 6),  # metadata is filterable too
        ({"project_id": "p1", "id": "vm2"}, None, 0),
        ({"day_of_the_year": "122"}, None, 6),
        ({"day_of_the_year": "999"}, None, 0),
    ],
)
def test_retrieve_filters(
    storage: SQLStorage, filters: dict, metric_types: object, expected: int
) -> None:
    storage.push(
        hourly(
            2,
            {
                "cpu": [("p1", "vm1", "1", "1"), ("p2", "vm2", "1", "1")],
                "ram": [("p1", "vm1", "1", "1")],
            },
        ),
        "p1",
    )
    result = storage.retrieve(T0, T0 + 2 * HOUR, filters=filters, metric_types=metric_types)
    assert result["total"] == expected


def test_retrieve_empty(storage: SQLStorage) -> None:
    assert storage.retrieve(T0, T0 + HOUR) == {"total": 0, "dataframes": []}


def test_non_string_groupby_values_are_matched_by_their_json_text(storage: SQLStorage) -> None:
    dp = DataPoint.create("u", "1", "1", {"project_id": "p1", "size": 2, "on": True}, {})
    storage.push([DataFrame(T0, T0 + HOUR, {"cpu": [dp]})], "p1")
    assert storage.retrieve(filters={"size": "2", "on": "true"})["total"] == 1
    assert storage.retrieve()["dataframes"][0].points("cpu")[0].groupby["size"] == 2


def test_values_too_long_to_index_are_kept_but_not_filterable(storage: SQLStorage) -> None:
    long = "x" * 600
    dp = DataPoint.create("u", "1", "1", {"project_id": "p1"}, {"note": long})
    storage.push([DataFrame(T0, T0 + HOUR, {"cpu": [dp]})], "p1")
    assert storage.retrieve()["dataframes"][0].points("cpu")[0].metadata["note"] == long
    assert storage.retrieve(filters={"note": long})["total"] == 0


def test_oversized_names_are_refused(storage: SQLStorage) -> None:
    dp = DataPoint.create("u" * 300, "1", "1", {"project_id": "p1"}, {})
    with pytest.raises(exceptions.InvalidInput):
        storage.push([DataFrame(T0, T0 + HOUR, {"cpu": [dp]})], "p1")
    with pytest.raises(exceptions.InvalidInput):
        storage.push([], "s" * 300)


def test_push_joins_the_callers_transaction(storage: SQLStorage) -> None:
    frames = hourly(2, {"cpu": [("p1", "vm1", "1", "1")]})
    with pytest.raises(RuntimeError):
        with storage.database.begin() as conn:
            storage.push(frames, "p1", conn=conn)
            assert storage.retrieve()["total"] == 0  # not visible before commit
            raise RuntimeError("collector failed after push")
    assert storage.retrieve()["total"] == 0
    assert _count(storage, tables.rated_series) == 0
    with storage.database.begin() as conn:
        storage.push(frames, "p1", conn=conn)
    assert storage.retrieve()["total"] == 2


def test_decimal_values_are_quantized_to_the_column_scale(storage: SQLStorage) -> None:
    dp = DataPoint.create("u", "1.00000000000000004", "2.5", {"project_id": "p1"}, {})
    storage.push([DataFrame(T0, T0 + HOUR, {"cpu": [dp]})], "p1")
    stored = storage.retrieve()["dataframes"][0].points("cpu")[0]
    assert stored.qty == D("1.0000000000000000")
    assert stored.price == D("2.5")


def test_get_tenants(storage: SQLStorage) -> None:
    storage.push(hourly(1, {"cpu": [("b", "vm1", "1", "1")]}), "b")
    storage.push(hourly(1, {"cpu": [("a", "vm2", "1", "1")]}, start=T0 + HOUR), "a")
    storage.push(hourly(1, {"cpu": [("x", "vm3", "1", "1")]}), None)
    assert storage.get_tenants() == ["a", "b"]
    assert storage.get_tenants(T0 + HOUR, T0 + 2 * HOUR) == ["a"]
    assert storage.get_tenants(T0 + 5 * HOUR, None) == []
