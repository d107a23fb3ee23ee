"""The processor's batch commit on SQLite, PostgreSQL and MariaDB: many
scopes' points in one push, answering exactly like one push per scope."""

from __future__ import annotations

import datetime
import decimal

import pytest

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.storage.sqlalchemy import SQLStorage
from cloudkitty.storage.state import ScopeIdentity

D = decimal.Decimal
UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 5, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


def _identity(scope: str) -> ScopeIdentity:
    return ScopeIdentity(scope, "project_id", "source", "prometheus")


def _frame(scope: str, begin: datetime.datetime) -> DataFrame:
    points = [
        DataPoint.create(
            "GiB",
            f"{size}.5",
            f"0.333333333333333333333333333{size}",
            {"project_id": scope, "id": f"{scope}-vol{size}", "day_of_the_year": "122"},
            {"volume_type": "ssd" if size % 2 else "hdd"},
        )
        for size in range(1, 4)
    ]
    return DataFrame(begin, begin + HOUR, {"volume.size": points})


@pytest.fixture
def db(db_url: str) -> Database:
    return Database.from_url(db_url)


def test_push_scopes_stores_what_scope_by_scope_pushes_store(db: Database) -> None:
    storage = SQLStorage(None, db)
    with db.begin() as conn:
        stored = storage.push_scopes(
            [(s, [_frame(s, T0), _frame(s, T0 + HOUR)]) for s in ("A", "b", "c")], conn=conn
        )
    assert stored == 18
    batched = storage.retrieve(T0, T0 + 2 * HOUR, limit=None)
    totals = storage.total(["project_id", "id", "time"], T0, T0 + 2 * HOUR, limit=None)
    by_type = storage.total(["type"], T0, T0 + 24 * HOUR)  # through the rollups
    assert storage.delete() == 18
    for scope in ("A", "b", "c"):
        storage.push([_frame(scope, T0), _frame(scope, T0 + HOUR)], scope)
    assert storage.retrieve(T0, T0 + 2 * HOUR, limit=None) == batched
    assert storage.total(["project_id", "id", "time"], T0, T0 + 2 * HOUR, limit=None) == totals
    assert storage.total(["type"], T0, T0 + 24 * HOUR) == by_type
