"""Fixtures of the v2 API tests: a noauth app and rated data on its SQLite."""

from __future__ import annotations

import datetime
import decimal

import pytest

from cloudkitty.collector.base import time_groupby
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.storage.sqlalchemy import SQLStorage

D = decimal.Decimal
UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 1, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
BEGIN, END = "2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"
WINDOW = "begin=2024-01-01T00:00:00Z&end=2024-02-01T00:00:00Z"


def frame(start: datetime.datetime, project: str, cpu_qty: str, price: str) -> DataFrame:
    """One hour of one project: an instance and a volume, priced as given."""
    groupby = {"project_id": project, **time_groupby(start)}
    return DataFrame(
        start,
        start + HOUR,
        {
            "instance": [
                DataPoint.create(
                    "instance",
                    D(cpu_qty),
                    D(price),
                    groupby={**groupby, "id": f"vm-{project}"},
                    metadata={"flavor": "m1.small"},
                )
            ],
            "volume.size": [
                DataPoint.create(
                    "GiB", D("10"), D("0.1"), groupby={**groupby, "id": f"vol-{project}"}
                )
            ],
        },
    )


@pytest.fixture
def storage(sqlite_url: str) -> SQLStorage:
    return SQLStorage(None, Database.from_url(sqlite_url))


@pytest.fixture
def rated(storage: SQLStorage) -> SQLStorage:
    """p1: 3 hours on Jan 1st + 1 hour on Jan 2nd; p2: 1 hour on Jan 1st.
    Instance prices 0.1 per hour for p1, 1.5 for p2; volumes 0.1 each."""
    frames = [frame(T0 + i * HOUR, "p1", "1", "0.1") for i in range(3)]
    frames.append(frame(T0 + 24 * HOUR, "p1", "2", "0.1"))
    storage.push(frames[:3], "p1")
    storage.push(frames[3:], "p1")
    storage.push([frame(T0, "p2", "4", "1.5")], "p2")
    return storage
