"""Hashmap repository: rules over time (with an injected clock) and transactions."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db import migrate, tables
from cloudkitty.db.engine import Database
from cloudkitty.rating.hashmap import repository as repo
from cloudkitty.rating.hashmap import repository_mapping_updates as updates
from cloudkitty.rating.hashmap import repository_mappings as mappings
from cloudkitty.rating.hashmap import repository_thresholds as thresholds

UTC = datetime.timezone.utc
T0 = datetime.datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture(scope="module")
def _db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    url = f"sqlite:///{tmp_path_factory.mktemp('hashmap_repo')}/repo.sqlite"
    migrate.upgrade(url)
    return Database.from_url(url)


@pytest.fixture
def db(_db: Database) -> Iterator[Database]:
    with _db.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            if table.name.startswith("hashmap_"):
                conn.execute(table.delete())
    yield _db


def _count(db: Database, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_rule_lifecycle_over_time(db: Database) -> None:
    service = repo.create_service(db, "compute")
    rule = mappings.create_mapping(
        db, cost=Decimal("0.1"), user="alice", service_id=service.service_id,
        start=T0 + HOUR, now=T0,
    )  # fmt: skip
    assert rule.created_at == T0 and rule.start == T0 + HOUR
    assert rule.cost == Decimal("0.1") and str(rule.cost) == "0.1" + "0" * 27

    # Before its start everything but the parent may change.
    pending = updates.update_mapping(
        db, rule.mapping_id, {"cost": Decimal("0.2"), "map_type": "rate"}, "bob", now=T0
    )
    assert (pending.cost, pending.map_type, pending.updated_by) == (Decimal("0.2"), "rate", "bob")

    # Once started, only an end in the future is accepted.
    later = T0 + 2 * HOUR
    with pytest.raises(exceptions.InvalidInput, match=r"update only the attribute \[end\]"):
        updates.update_mapping(db, rule.mapping_id, {"cost": Decimal("1")}, "bob", now=later)
    with pytest.raises(exceptions.InvalidInput, match="End date must be in the future"):
        updates.update_mapping(db, rule.mapping_id, {"end": T0}, "bob", now=later)
    ended = updates.update_mapping(db, rule.mapping_id, {"end": later + HOUR}, "carol", now=later)
    assert (ended.end, ended.updated_by, ended.cost) == (later + HOUR, "carol", Decimal("0.2"))
    # The same state again is a no-op (the client repeats PUTs answered 302).
    same = updates.update_mapping(db, rule.mapping_id, {"end": later + HOUR}, "dave", now=later)
    assert same == ended
    with pytest.raises(exceptions.InvalidInput, match="already processed"):
        updates.update_mapping(db, rule.mapping_id, {"end": later + 2 * HOUR}, "x", now=later)

    def active(at: datetime.datetime) -> list[str]:
        flt = mappings.MappingFilter(is_active=True)
        return [m.mapping_id for m in mappings.list_mappings(db, flt, now=at)]

    assert active(T0) == []
    assert active(later) == [rule.mapping_id]
    assert active(later + HOUR) == []  # end is exclusive

    mappings.delete_mapping(db, rule.mapping_id, "erin", now=later)
    gone = mappings.get_mapping(db, rule.mapping_id)
    assert (gone.deleted, gone.deleted_by) == (later, "erin")
    with pytest.raises(exceptions.NotFound):
        updates.update_mapping(db, rule.mapping_id, {"end": None}, "x", now=later)


def test_default_start_is_the_creation_second(db: Database) -> None:
    service = repo.create_service(db, "compute")
    rule = mappings.create_mapping(
        db, cost=Decimal(1), user="u", service_id=service.service_id, now=T0
    )
    assert rule.created_at == T0
    assert rule.start == T0.replace(microsecond=0)


def test_rejected_creations_write_nothing(db: Database) -> None:
    service = repo.create_service(db, "compute")
    mappings.create_mapping(db, cost=Decimal(1), user="u", service_id=service.service_id, now=T0)
    with pytest.raises(exceptions.Conflict):
        mappings.create_mapping(
            db, cost=Decimal(2), user="u", service_id=service.service_id, now=T0
        )
    with pytest.raises(exceptions.InvalidInput):
        thresholds.create_threshold(
            db, level=Decimal(-1), cost=Decimal(1), service_id=service.service_id
        )
    assert _count(db, tables.hashmap_mappings) == 1
    assert _count(db, tables.hashmap_thresholds) == 0


def test_unique_key_race_is_a_conflict(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A duplicate slipping past the check (a concurrent request) is a 409."""
    repo.create_group(db, "g1")
    monkeypatch.setattr(repo, "_existing_by_name", lambda *args, **kwargs: None)
    with pytest.raises(exceptions.Conflict):
        repo.create_group(db, "g1")
    assert [g.name for g in repo.list_groups(db)] == ["g1"]


def test_amount_checks() -> None:
    assert repo.check_amount("cost", Decimal("-5")) == Decimal("-5")
    for bad in (None, Decimal("NaN"), Decimal("Infinity"), Decimal("1E12")):
        with pytest.raises(exceptions.InvalidInput):
            repo.check_amount("cost", bad)
    with pytest.raises(exceptions.InvalidInput, match="must not be negative"):
        repo.check_amount("level", Decimal("-0.1"), negative=False)


def test_threshold_update_keeps_omitted_attributes(db: Database) -> None:
    service = repo.create_service(db, "volume")
    group = repo.create_group(db, "g")
    created = thresholds.create_threshold(
        db, level=Decimal(50), cost=Decimal("0.98"), map_type="rate", tenant_id="T2",
        service_id=service.service_id, group_id=group.group_id,
    )  # fmt: skip
    updated = thresholds.update_threshold(db, created.threshold_id, {"cost": Decimal("0.97")})
    assert updated == thresholds.Threshold(
        threshold_id=created.threshold_id,
        level=Decimal("50.00000000"),
        map_type="rate",
        cost=Decimal("0.97"),
        service_id=service.service_id,
        field_id=None,
        group_id=group.group_id,
        tenant_id="T2",
    )
