"""Fixtures of the storage unit tests: a migrated SQLite file and helpers
that build small rated frames with the enrichment keys the collector adds."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
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
