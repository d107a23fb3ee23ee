"""pyscripts storage on SQLite, PostgreSQL and MySQL: CRUD, filters, load_active."""

from __future__ import annotations

import datetime
import decimal

import pytest

from cloudkitty import exceptions
from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.rating.pyscripts import module, repository, sandbox

UTC = datetime.timezone.utc
NOW = datetime.datetime(2030, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
LIMITS = sandbox.Limits(cpu_time=2, wall_time=10, memory_mb=256)


@pytest.fixture
def db(db_url: str) -> Database:
    return Database.from_url(db_url)


def test_crud_round_trip(db):
    text = "# é ünïcode\n" + "from decimal import Decimal\n" * 50
    with db.begin() as conn:
        created = repository.create(
            conn, name="policy1", data=text, description="First", created_by="alice", now=NOW
        )
    with db.connect() as conn:
        fetched = repository.get(conn, created.script_id)
    assert fetched == created
    assert fetched.start == NOW  # microseconds survive on every backend
    assert fetched.data == text
    assert fetched.checksum == repository.checksum_of(text)

    with db.begin() as conn, pytest.raises(exceptions.Conflict):
        repository.create(conn, name="policy1", data="x", now=NOW)
    with db.begin() as conn:
        # Exact names on every backend, MySQL's case-insensitive collation included.
        repository.create(conn, name="POLICY1", data="x", now=NOW)

    with db.begin() as conn:
        updated = repository.update(
            conn, created.script_id, {"end": "2030-07-01"}, updated_by="bob", now=NOW + HOUR
        )
    assert updated.end == datetime.datetime(2030, 7, 1, 23, 59, 59, tzinfo=UTC)

    with db.connect() as conn:
        assert [s.name for s in repository.list_scripts(conn, description="FIRST")] == ["policy1"]
        assert repository.list_scripts(conn, created_by="ALICE") == []
        assert [s.name for s in repository.list_scripts(conn, updated_by="bob")] == ["policy1"]

    with db.begin() as conn:
        deleted = repository.delete(conn, created.script_id, deleted_by="carol", now=NOW + HOUR)
    with db.connect() as conn:
        assert repository.get(conn, created.script_id) == deleted
        assert [s.name for s in repository.list_scripts(conn)] == ["POLICY1"]
        assert [s.name for s in repository.list_scripts(conn, deleted=True)] == [
            "POLICY1",
            "policy1",
        ]
    with db.begin() as conn, pytest.raises(exceptions.NotFound):
        repository.delete(conn, created.script_id)


def test_failed_validation_writes_nothing(db):
    with db.begin() as conn:
        pending = repository.create(conn, name="p", data="a", start=NOW + HOUR, now=NOW)
    with db.begin() as conn, pytest.raises(exceptions.InvalidInput):
        repository.update(conn, pending.script_id, {"data": "b", "end": NOW}, now=NOW)
    with db.connect() as conn:
        assert repository.get(conn, pending.script_id) == pending


def test_load_active_and_rate(db):
    price = "from decimal import Decimal\nfor p in data['usage']['cpu']:\n"
    with db.begin() as conn:
        repository.create(conn, name="b", data=price + "    p['rating']['price'] *= 2\n", now=NOW)
        repository.create(
            conn, name="a", data=price + "    p['rating']['price'] = Decimal('0.1')\n", now=NOW
        )
        repository.create(
            conn, name="future", data="raise RuntimeError", start=NOW + 2 * HOUR, now=NOW
        )
    with db.connect() as conn:
        assert [s.name for s in repository.load_active(conn, NOW + HOUR)] == ["a", "b"]
        assert [s.name for s in repository.load_active(conn)] == ["a", "b", "future"]
        assert repository.load_active(conn, NOW - HOUR) == []

    scripts = [s for s in module.PyScripts(None, db).load().scripts]  # type: ignore[arg-type]
    rater = module.ScriptRater(scripts, LIMITS)
    frame = DataFrame(NOW + HOUR, NOW + 2 * HOUR, {"cpu": [DataPoint.create("core", 4)]})
    rated = rater.rate(frame, "scope")
    assert rated.points("cpu")[0].price == decimal.Decimal("0.2")
