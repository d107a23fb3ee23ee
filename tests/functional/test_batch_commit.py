"""The processor's batch commit on SQLite, PostgreSQL and MariaDB: many
scopes' points in one push, many compare-and-set state advances in a few
statements, both answering exactly like their one-scope counterparts."""

from __future__ import annotations

import datetime
import decimal
import threading

import pytest
import sqlalchemy as sa

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db.engine import Database
from cloudkitty.db.tables import cloudkitty_storage_states as STATES
from cloudkitty.storage.sqlalchemy import SQLStorage
from cloudkitty.storage.state import ScopeIdentity, StateRepository
from tests.unit.storage.conftest import assert_rollups_match_points

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


def _scenario(db: Database) -> list[tuple[ScopeIdentity, datetime.datetime | None]]:
    """States: A at T0, b at T0 + 1h (moved on), legacy row of c at T0,
    nothing for d; the moves of a batch rating T0 + 1h."""
    states = StateRepository(db)
    states.set_last_processed_timestamp(_identity("A"), T0)
    states.set_last_processed_timestamp(_identity("b"), T0 + HOUR)
    with db.begin() as conn:
        conn.execute(
            STATES.insert().values(
                identifier="c",
                last_processed_timestamp=T0,
                active=True,
                scope_activation_toggle_date=T0,
            )
        )
    return [
        (_identity("A"), T0),
        (_identity("b"), T0),  # lost: already at T0 + 1h
        (_identity("c"), T0),  # adopts the legacy row
        (_identity("d"), None),  # first period of a new scope
        (_identity("e"), T0),  # lost: its state was removed
    ]


def _snapshot(db: Database) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(STATES).order_by(STATES.c.identifier)).all()
    return [
        (r.identifier, r.scope_key, r.fetcher, r.collector, r.last_processed_timestamp)
        for r in rows
    ]


def test_advance_many_answers_like_one_advance_per_scope(db: Database) -> None:
    states = StateRepository(db)
    moves = _scenario(db)
    with db.begin() as conn:
        one_by_one = [states.advance(i, prev, T0 + HOUR, conn=conn) for i, prev in moves]
        expected = _snapshot_in(conn)
        conn.rollback()
    with db.begin() as conn:
        assert states.advance_many(moves, T0 + HOUR, conn=conn) == one_by_one
    assert one_by_one == [True, False, True, True, False]
    assert _snapshot(db) == expected
    got = states.get_states([i for i, _ in moves])
    assert got == [states.get_state(i) for i, _ in moves]
    assert [s and s.last_processed_timestamp for s in got] == [T0 + HOUR] * 4 + [None]


def _snapshot_in(conn: sa.Connection) -> list[tuple[object, ...]]:
    rows = conn.execute(sa.select(STATES).order_by(STATES.c.identifier)).all()
    return [
        (r.identifier, r.scope_key, r.fetcher, r.collector, r.last_processed_timestamp)
        for r in rows
    ]


def test_advance_many_waits_for_a_concurrent_batch_and_loses_its_scopes(
    db: Database, db_url: str
) -> None:
    """Two processors advance overlapping batches: the second waits for the
    first's row locks, then loses exactly the scopes the first advanced."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: no row locks to wait on")
    states = StateRepository(db)
    for scope in ("A", "b", "c"):
        states.set_last_processed_timestamp(_identity(scope), T0)
    outcome: list[object] = []

    def second() -> None:
        try:
            with db.begin() as conn:
                moves = [(_identity(s), T0) for s in ("c", "b", "z")]
                outcome.append(states.advance_many(moves, T0 + HOUR, conn=conn))
        except BaseException as err:  # surfaced in the main thread
            outcome.append(err)

    thread = threading.Thread(target=second)
    with db.begin() as conn:
        moves = [(_identity(s), T0) for s in ("A", "b")]
        assert states.advance_many(moves, T0 + HOUR, conn=conn) == [True, True]
        thread.start()
        thread.join(0.5)
        assert outcome == []  # waiting on our locked rows
    thread.join(30)
    assert outcome == [[True, False, False]]
    got = states.get_states([_identity(s) for s in ("A", "b", "c", "z")])
    assert [s and s.last_processed_timestamp for s in got] == [T0 + HOUR] * 3 + [None]


def _large_push(scopes: tuple[str, ...], points: int) -> list[tuple[str, list[DataFrame]]]:
    """Two periods either side of a month boundary; quantities and prices
    with more digits than their columns keep (hashmap prices are computed
    with 60 digits), so rounding must happen where the points round."""
    rate = D("0.0416666666666666666666666667")
    pushes = []
    for scope in scopes:
        frames = []
        for begin in (MAY - HOUR, MAY):
            usage = []
            for index in range(points):
                qty = D(f"{index + 1}.00000000000000005")
                usage.append(
                    DataPoint.create(
                        "instance",
                        qty,
                        qty.fma(rate, 0, decimal.Context(prec=60)),
                        {"project_id": scope, "id": f"{scope}-{index}"},
                        {"flavor": f"m1.{index % 3}"},
                    )
                )
            frames.append(DataFrame(begin, begin + HOUR, {"instance": usage}))
        pushes.append((scope, frames))
    return pushes


MAY = datetime.datetime(2024, 5, 1, tzinfo=UTC)


def test_a_large_push_adds_to_the_rollups_what_its_points_hold(db: Database) -> None:
    """240 points in one push: on PostgreSQL they go through the COPY stage
    and SQL sums, elsewhere through the Python sums; either way the rollups
    equal a rebuild from the stored points and answer like the points."""
    storage = SQLStorage(None, db)
    with db.begin() as conn:
        assert storage.push_scopes(_large_push(("A", "b", "c"), 40), conn=conn) == 240
    with db.begin() as conn:  # the next period adds to the same rows
        storage.push_scopes(_large_push(("A", "b", "c"), 40), conn=conn)
    assert_rollups_match_points(storage)
    raw = SQLStorage(None, db, use_rollups=False)
    for groupby in (["project_id"], ["type"], ["time-d"], ["time-m", "type"], []):
        for begin, end in ((MAY - HOUR, MAY + HOUR), (MAY, MAY + 24 * HOUR), (None, None)):
            fast = storage.total(groupby, begin, end, limit=None)
            assert fast == raw.total(groupby, begin, end, limit=None), (groupby, begin, end)
