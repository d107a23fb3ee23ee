"""Fixtures of the storage unit tests: a migrated SQLite file and helpers
that build small rated frames with the enrichment keys the collector adds."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import tables
from cloudkitty.db.engine import Database
from cloudkitty.storage.sql import rollup
from cloudkitty.storage.sqlalchemy import SQLStorage

D = decimal.Decimal
UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 5, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def enrichment(start: datetime.datetime) -> dict[str, str]:
    """The time keys a collector adds to every point's groupby."""
    return {
        "year": str(start.year),
        "month": str(start.month),
        "week_of_the_year": start.strftime("%U"),
        "day_of_the_year": str(start.timetuple().tm_yday),
    }


def point(
    project: str,
    resource: str,
    qty: str,
    price: str,
    *,
    start: datetime.datetime | None = None,
    unit: str = "instance",
    metadata: Mapping[str, Any] | None = None,
    **groupby: Any,
) -> DataPoint:
    dims = {"project_id": project, "id": resource, **groupby}
    if start is not None:
        dims.update(enrichment(start))
    return DataPoint.create(unit, qty, price, dims, metadata or {})


def hourly(
    hours: int,
    usage: Mapping[str, Sequence[tuple[str, str, str, str]]],
    start: datetime.datetime = T0,
) -> list[DataFrame]:
    """``hours`` one-hour frames, each with the same points:
    ``usage = {type: [(project, resource, qty, price), ...]}``."""
    frames = []
    for hour in range(hours):
        begin = start + hour * HOUR
        frames.append(
            DataFrame(
                begin,
                begin + HOUR,
                {
                    metric: [point(*spec, start=begin, metadata={"flavor": "m1"}) for spec in specs]
                    for metric, specs in usage.items()
                },
            )
        )
    return frames


ROLLUPS = (tables.rated_points_daily, tables.rated_points_monthly, tables.rated_types_daily)


def rollup_rows(storage: SQLStorage) -> list[list[tuple]]:
    """Every row of the three rollup levels without its id, in key order."""
    result = []
    with storage.database.connect() as conn:
        for table in ROLLUPS:
            cols = [c for c in table.c if c.name != "id"]
            rows = conn.execute(sa.select(*cols).order_by(*cols))
            result.append([tuple(r) for r in rows])
    return result


def assert_rollups_match_points(storage: SQLStorage) -> None:
    """The rollups are what a rebuild from the points gives, to the digit."""
    before = rollup_rows(storage)
    with storage.database.begin() as conn:
        rollup.rebuild(conn)
    assert rollup_rows(storage) == before


@pytest.fixture
def db(sqlite_url: str) -> Database:
    return Database.from_url(sqlite_url)


@pytest.fixture
def storage(db: Database) -> SQLStorage:
    return SQLStorage(None, db)


@pytest.fixture
def raw_storage(db: Database) -> SQLStorage:
    """The same data read without rollups: every answer must be equal."""
    return SQLStorage(None, db, use_rollups=False)
