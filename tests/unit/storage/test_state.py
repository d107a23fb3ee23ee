"""Scope state repository on SQLite."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db.engine import Database
from cloudkitty.db.tables import cloudkitty_storage_states as STATES
from cloudkitty.storage.state import ScopeDefaults, ScopeIdentity, StateRepository
from cloudkitty.utils import tz
from tests.unit.storage.conftest import HOUR, T0

IDENT = ScopeIdentity("p1", "project_id", "keystone", "prometheus")


@pytest.fixture
def states(db: Database) -> StateRepository:
    return StateRepository(db, ScopeDefaults("project_id", "keystone", "prometheus"))


def _insert_raw(db: Database, **values: object) -> None:
    row = {"identifier": "p1", "last_processed_timestamp": T0, "active": True}
    row.update(values)
    row.setdefault("scope_activation_toggle_date", T0)
    with db.begin() as conn:
        conn.execute(STATES.insert().values(**row))


def test_new_scope_has_no_timestamp(states: StateRepository) -> None:
    assert states.get_last_processed_timestamp(IDENT) is None
    assert states.get_state(IDENT) is None


def test_set_creates_then_advances(states: StateRepository) -> None:
    created = states.set_last_processed_timestamp(IDENT, T0)
    assert created.active and created.last_processed_timestamp == T0
    assert (created.scope_key, created.fetcher, created.collector) == (
        "project_id",
        "keystone",
        "prometheus",
    )
    advanced = states.set_last_processed_timestamp(IDENT, T0 + HOUR)
    assert advanced.id == created.id
    assert states.get_last_processed_timestamp(IDENT) == T0 + HOUR
    assert states.get_last_processed_timestamp(IDENT).tzinfo is not None


def test_state_advance_rolls_back_with_the_transaction(states: StateRepository) -> None:
    states.set_last_processed_timestamp(IDENT, T0)
    with pytest.raises(RuntimeError):
        with states.db.begin() as conn:
            states.set_last_processed_timestamp(IDENT, T0 + HOUR, conn=conn)
            assert states.get_last_processed_timestamp(IDENT, conn=conn) == T0 + HOUR
            raise RuntimeError("boom")
    assert states.get_last_processed_timestamp(IDENT) == T0


def test_legacy_row_with_nulls_is_adopted(states: StateRepository, db: Database) -> None:
    _insert_raw(db, scope_key=None, fetcher=None, collector=None)
    assert states.get_last_processed_timestamp(IDENT) == T0
    state = states.set_last_processed_timestamp(IDENT, T0 + HOUR)
    assert (state.scope_key, state.fetcher, state.collector) == (
        "project_id",
        "keystone",
        "prometheus",
    )
    assert len(states.list_states()) == 1


def test_fetcher_change_continues_instead_of_restarting(
    states: StateRepository, db: Database
) -> None:
    _insert_raw(db, scope_key="tenant_id", fetcher="gnocchi", collector="prometheus")
    assert states.get_last_processed_timestamp(IDENT) == T0
    states.set_last_processed_timestamp(IDENT, T0 + HOUR)
    (only,) = states.list_states()
    assert (only.fetcher, only.scope_key) == ("keystone", "project_id")


def test_other_collector_is_another_pipeline(states: StateRepository, db: Database) -> None:
    _insert_raw(db, scope_key="project_id", fetcher="keystone", collector="gnocchi")
    assert states.get_last_processed_timestamp(IDENT) is None
    states.set_last_processed_timestamp(IDENT, T0 + 5 * HOUR)
    assert len(states.list_states()) == 2


def test_exact_row_wins_over_legacy_ones(states: StateRepository, db: Database) -> None:
    _insert_raw(
        db, scope_key=None, fetcher=None, collector=None, last_processed_timestamp=T0 + 9 * HOUR
    )
    states.create("p2", T0)  # another scope, ignored
    _insert_raw(db, scope_key="project_id", fetcher="keystone", collector="prometheus")
    assert states.get_last_processed_timestamp(IDENT) == T0


def test_record_and_clear_error(states: StateRepository) -> None:
    assert states.record_error(IDENT, "no state yet") is None
    first = states.record_error(IDENT, "prometheus: 503", initial_timestamp=T0 - HOUR)
    assert first is not None
    assert first.last_processed_timestamp == T0 - HOUR
    assert (first.last_error, first.error_count) == ("prometheus: 503", 1)
    second = states.record_error(IDENT, "x" * 5000)
    assert second is not None and second.error_count == 2
    assert len(second.last_error or "") == 4000
    assert second.last_error_at is not None
    cleared = states.set_last_processed_timestamp(IDENT, T0)
    assert (cleared.last_error, cleared.last_error_at, cleared.error_count) == (None, None, 0)
    states.record_error(IDENT, "again")
    kept = states.set_last_processed_timestamp(IDENT, T0 + HOUR, clear_error=False)
    assert kept.last_error == "again"
    states.clear_error(IDENT)
    assert states.get_state(IDENT).last_error is None  # type: ignore[union-attr]


def test_create_fills_defaults_instead_of_nulls(states: StateRepository) -> None:
    state = states.create("p9", T0)
    assert (state.scope_key, state.fetcher, state.collector) == (
        "project_id",
        "keystone",
        "prometheus",
    )
    assert state.active is True
    explicit = states.create("p8", T0, scope_key="k", fetcher="f", collector="c", active=False)
    assert (explicit.scope_key, explicit.fetcher, explicit.collector, explicit.active) == (
        "k",
        "f",
        "c",
        False,
    )


def test_create_refuses_an_existing_scope(states: StateRepository) -> None:
    states.create("p9", T0)
    with pytest.raises(exceptions.Conflict, match="already existing scope_id: p9."):
        states.create("p9", T0)


def test_list_filters_and_paginates_in_creation_order(states: StateRepository) -> None:
    for index in range(5):
        states.create(f"s{index}", T0, collector="c1" if index % 2 else "c2", active=index != 3)
    assert [s.scope_id for s in states.list_states()] == ["s0", "s1", "s2", "s3", "s4"]
    assert [s.scope_id for s in states.list_states(offset=1, limit=2)] == ["s1", "s2"]
    assert [s.scope_id for s in states.list_states(collectors="c1")] == ["s1", "s3"]
    assert [s.scope_id for s in states.list_states(active=False)] == ["s3"]
    assert [s.scope_id for s in states.list_states(active=[1])] == ["s0", "s1", "s2", "s4"]
    assert [s.scope_id for s in states.list_states(scope_ids=["s4", "s0"])] == ["s0", "s4"]
    assert states.list_states(offset=10) == []
    assert len(states.list_states(limit=None)) == 5
    assert states.identifiers() == ["s0", "s1", "s2", "s3", "s4"]


def test_patch_updates_columns_and_toggle_date(states: StateRepository) -> None:
    created = states.create("p9", T0)
    same = states.patch("p9", active=True)
    assert same.scope_activation_toggle_date == created.scope_activation_toggle_date
    before = tz.utcnow() - datetime.timedelta(seconds=1)
    patched = states.patch("p9", active=False, fetcher="source")
    assert patched.active is False and patched.fetcher == "source"
    assert patched.scope_activation_toggle_date >= before
    assert patched.collector == "prometheus"


def test_patch_errors(states: StateRepository, db: Database) -> None:
    with pytest.raises(exceptions.NotFound, match="No resource found for provided filters."):
        states.patch("ghost", active=False)
    _insert_raw(db, collector="a")
    _insert_raw(db, collector="b")
    with pytest.raises(exceptions.NotFound, match="Too many resources found"):
        states.patch("p1", active=False)


def test_defaults_from_conf() -> None:
    class Group:
        def __init__(self, **kw: str) -> None:
            self.__dict__.update(kw)

    class Conf:
        collect = Group(scope_key="tenant_id", collector="gnocchi")
        fetcher = Group(backend="source")

    assert ScopeDefaults.from_conf(Conf()) == ScopeDefaults("tenant_id", "source", "gnocchi")
    assert ScopeDefaults.from_conf(object()) == ScopeDefaults()


def test_server_default_toggle_date(db: Database) -> None:
    with db.begin() as conn:
        conn.execute(STATES.insert().values(identifier="raw", last_processed_timestamp=T0))
        row = conn.execute(sa.select(STATES).where(STATES.c.identifier == "raw")).one()
    assert row.active is True and row.scope_activation_toggle_date is not None
    assert row.error_count == 0


def test_advance_is_a_compare_and_set(states: StateRepository) -> None:
    assert states.advance(IDENT, T0, T0 + HOUR) is False  # no state yet
    assert states.advance(IDENT, None, T0) is True
    assert states.advance(IDENT, None, T0 + HOUR) is False  # it exists now
    assert states.advance(IDENT, T0 + 5 * HOUR, T0 + 6 * HOUR) is False
    states.record_error(IDENT, "boom")
    assert states.advance(IDENT, T0, T0 + HOUR) is True
    state = states.get_state(IDENT)
    assert state is not None
    assert (state.last_processed_timestamp, state.last_error) == (T0 + HOUR, None)


def test_advance_adopts_a_legacy_row(states: StateRepository, db: Database) -> None:
    _insert_raw(db, scope_key=None, fetcher=None, collector=None)
    assert states.advance(IDENT, T0, T0 + HOUR) is True
    (only,) = states.list_states()
    assert (only.collector, only.last_processed_timestamp) == ("prometheus", T0 + HOUR)


def test_advance_loses_the_race_without_breaking_the_transaction(
    states: StateRepository,
) -> None:
    with states.db.begin() as conn:
        assert states.get_state(IDENT, conn=conn) is None
        states.set_last_processed_timestamp(IDENT, T0)  # another writer, committed
        assert states.advance(IDENT, None, T0 + HOUR, conn=conn) is False
        states.create("other", T0, conn=conn)  # the transaction is still usable
    assert states.get_last_processed_timestamp(IDENT) == T0
    assert [s.scope_id for s in states.list_states()] == ["p1", "other"]


def test_record_error_at_a_given_time(states: StateRepository) -> None:
    state = states.record_error(IDENT, "x", initial_timestamp=T0, at=T0 + 3 * HOUR)
    assert state is not None and state.last_error_at == T0 + 3 * HOUR
