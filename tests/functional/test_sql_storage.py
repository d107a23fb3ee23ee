"""The SQL storage on SQLite, PostgreSQL and MariaDB: the same exact
decimals everywhere, push and state advance in one transaction, deletes
limited to one scope's window, concurrent pushes of one series, rollup
levels equal to the points (and filled by the migration that adds them)."""

from __future__ import annotations

import datetime
import decimal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import migrate
from cloudkitty.db.engine import Database
from cloudkitty.storage.sqlalchemy import SQLStorage
from cloudkitty.storage.state import ScopeIdentity, StateRepository
from tests.conftest import BACKENDS, create_database, drop_database
from tests.unit.storage.conftest import assert_rollups_match_points, rollup_rows

D = decimal.Decimal
UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 5, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


def _frames(scope: str, hours: int, start: datetime.datetime = T0) -> list[DataFrame]:
    """Prices with 28 decimals and quantities that floats cannot hold."""
    frames = []
    for hour in range(hours):
        begin = start + hour * HOUR
        day = str(begin.timetuple().tm_yday)
        frames.append(
            DataFrame(
                begin,
                begin + HOUR,
                {
                    "cpu": [
                        DataPoint.create(
                            "instance",
                            "0.1",
                            "0.3333333333333333333333333333",
                            {"project_id": scope, "id": f"{scope}-vm", "day_of_the_year": day},
                            {"flavor": "m1.tiny"},
                        )
                    ],
                    "image.size": [
                        DataPoint.create(
                            "MiB",
                            "12345678901234567890.1234567890123456",
                            "1234567890.0000000000000000000000000001",
                            {"project_id": scope, "id": f"{scope}-img", "day_of_the_year": day},
                            {},
                        )
                    ],
                },
            )
        )
    return frames


@pytest.fixture
def storage(db_url: str) -> SQLStorage:
    return SQLStorage(None, Database.from_url(db_url))


@pytest.fixture
def filled(storage: SQLStorage) -> SQLStorage:
    storage.push(_frames("A", 30), "A")
    storage.push(_frames("b", 30), "b")
    return storage


def test_exact_decimals_identical_on_every_backend(filled: SQLStorage) -> None:
    result = filled.total(["project_id", "type"], T0 + 2 * HOUR, T0 + 28 * HOUR)
    assert result["total"] == 4
    rows = [(r["project_id"], r["type"], str(r["qty"]), str(r["rate"])) for r in result["results"]]
    assert rows == [
        ("A", "cpu", "2.6000000000000000", "8.6666666666666666666666666658"),
        (
            "A",
            "image.size",
            "320987651432098765143.2098765143209856",
            "32098765140.0000000000000000000000000026",
        ),
        ("b", "cpu", "2.6000000000000000", "8.6666666666666666666666666658"),
        (
            "b",
            "image.size",
            "320987651432098765143.2098765143209856",
            "32098765140.0000000000000000000000000026",
        ),
    ]


def test_groupings_and_pagination_identical(filled: SQLStorage) -> None:
    by_day = filled.total(["time-d", "project_id"], None, None, offset=1, limit=2)
    assert by_day["total"] == 4
    assert [(r["day_of_the_year"], r["project_id"], str(r["qty"])) for r in by_day["results"]] == [
        ("122", "b", "296296293629629629365.3629629362962944"),  # 24 x (0.1 + 12345...3456)
        ("123", "A", "74074073407407407341.3407407340740736"),  # 6 periods
    ]
    by_time = filled.total(["time"], T0 + 23 * HOUR, T0 + 25 * HOUR, filters={"type": "cpu"})
    assert [(r["begin"], str(r["rate"])) for r in by_time["results"]] == [
        (T0 + 23 * HOUR, "0.6666666666666666666666666666"),
        (T0 + 24 * HOUR, "0.6666666666666666666666666666"),
    ]
    raw = SQLStorage(None, filled.database, use_rollups=False)
    for begin, end in ((None, None), (T0 + 3 * HOUR, T0 + 29 * HOUR)):
        assert raw.total(["project_id"], begin, end) == filled.total(["project_id"], begin, end)


def test_retrieve_round_trip(filled: SQLStorage) -> None:
    page = filled.retrieve(T0, T0 + HOUR, filters={"project_id": "A"}, limit=10)
    assert page["total"] == 2
    (frame,) = page["dataframes"]
    image = frame.points("image.size")[0]
    assert str(image.qty) == "12345678901234567890.1234567890123456"
    assert str(image.price) == "1234567890.0000000000000000000000000001"
    assert image.groupby == {"project_id": "A", "id": "A-img", "day_of_the_year": "122"}


def test_push_and_state_advance_commit_or_roll_back_together(storage: SQLStorage) -> None:
    states = StateRepository(storage.database)
    scope = ScopeIdentity("A", "project_id", "keystone", "gnocchi")
    with pytest.raises(RuntimeError):
        with storage.database.begin() as conn:
            storage.push(_frames("A", 1), "A", conn=conn)
            states.set_last_processed_timestamp(scope, T0, conn=conn)
            raise RuntimeError("crash after push and state update")
    assert storage.retrieve()["total"] == 0
    assert states.get_last_processed_timestamp(scope) is None
    with storage.database.begin() as conn:
        storage.push(_frames("A", 1), "A", conn=conn)
        states.set_last_processed_timestamp(scope, T0, conn=conn)
    assert storage.retrieve()["total"] == 2
    assert states.get_last_processed_timestamp(scope) == T0


def test_delete_exactly_one_scope_window(filled: SQLStorage) -> None:
    before_b = filled.total(["project_id"], None, None, filters={"project_id": "b"})
    deleted = filled.delete(T0 + 5 * HOUR, T0 + 26 * HOUR, {"project_id": "A"})
    assert deleted == 21 * 2
    assert filled.total(["project_id"], None, None, filters={"project_id": "b"}) == before_b
    kept = filled.retrieve(None, None, filters={"project_id": "A"}, paginate=False)
    assert sorted({f.start for f in kept["dataframes"]}) == [
        T0 + h * HOUR for h in (*range(5), *range(26, 30))
    ]
    (row,) = filled.total([], None, None, filters={"project_id": "A"})["results"]
    assert str(row["qty"]) == "111111110111111111012.0111111011111104"  # 9 periods
    filled.delete(T0 + 28 * HOUR, None, {"project_id": "A"})
    assert filled.retrieve(T0 + 28 * HOUR, None, filters={"project_id": "A"})["total"] == 0
    assert filled.retrieve(T0 + 28 * HOUR, None, filters={"project_id": "b"})["total"] == 4


def test_case_sensitive_groups_on_every_backend(storage: SQLStorage) -> None:
    storage.push(_frames("A", 1), "A")
    storage.push(_frames("a", 1), "a")
    result = storage.total(["project_id"], None, None)
    assert [r["project_id"] for r in result["results"]] == ["A", "a"]
    assert storage.get_tenants() == ["A", "a"]


def test_concurrent_pushes_of_the_same_series(storage: SQLStorage) -> None:
    """A second writer blocked on the first one's new series still resolves
    its id once the first commits (MySQL needs a locking read for this)."""
    started = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            started.wait(5)
            storage.push(_frames("A", 1, T0 + HOUR), "A")
        except BaseException as err:  # surfaced in the main thread
            errors.append(err)

    thread = threading.Thread(target=second)
    with storage.database.begin() as conn:
        storage.push(_frames("A", 1), "A", conn=conn)
        thread.start()
        started.set()
        thread.join(0.5)  # let it reach the conflicting insert and block
    thread.join(30)
    assert not errors
    assert storage.retrieve(None, None)["total"] == 4
    assert storage.total(["id"], None, None)["total"] == 2


def test_awkward_text_survives_bulk_paths(storage: SQLStorage) -> None:
    """Tabs, newlines, backslashes and non-ASCII go through COPY intact."""
    groupby = {"project_id": "p\\1", "name": "tab\there\nnew ligne é ☃", "n": None}
    metadata = {"path": "C:\\temp\\x", "nested": {"a": [1, "\\N"]}}
    dp = DataPoint.create("u\tnit", "1", "0.5", groupby, metadata)
    storage.push([DataFrame(T0, T0 + HOUR, {"cpu": [dp]})], "p\\1")
    (frame,) = storage.retrieve()["dataframes"]
    assert frame.points("cpu")[0] == dp
    result = storage.total(["name"], None, None, filters={"project_id": "p\\1"})
    assert result["results"][0]["name"] == "tab\there\nnew ligne é ☃"
    assert storage.get_tenants() == ["p\\1"]


def test_several_pushes_in_one_transaction(storage: SQLStorage) -> None:
    """The rollup stage is reused within a transaction (PostgreSQL)."""
    with storage.database.begin() as conn:
        storage.push(_frames("A", 2), "A", conn=conn)
        storage.push(_frames("A", 2, T0 + 2 * HOUR), "A", conn=conn)
        storage.push(_frames("b", 1), "b", conn=conn)
    raw = SQLStorage(None, storage.database, use_rollups=False)
    assert storage.total(["project_id"], T0, T0 + 24 * HOUR) == raw.total(
        ["project_id"], T0, T0 + 24 * HOUR
    )
    (row_a, _) = storage.total(["project_id"], T0, T0 + 24 * HOUR)["results"]
    assert str(row_a["rate"]) == "4938271561.3333333333333333333333333336"


def test_first_state_advance_race_is_lost_cleanly(storage: SQLStorage) -> None:
    """Two writers create the same scope state: the second gets False (not
    an exception) once the first commits, on every backend."""
    states = StateRepository(storage.database)
    scope = ScopeIdentity("A", "project_id", "keystone", "gnocchi")
    outcome: list[object] = []

    def second() -> None:
        try:
            outcome.append(states.advance(scope, None, T0 + HOUR))
        except BaseException as err:  # surfaced in the main thread
            outcome.append(err)

    thread = threading.Thread(target=second)
    with storage.database.begin() as conn:
        assert states.advance(scope, None, T0, conn=conn) is True
        thread.start()
        thread.join(0.5)  # the second writer now waits on our uncommitted row
    thread.join(30)
    assert outcome == [False]
    assert states.get_last_processed_timestamp(scope) == T0


# -- rollup levels ---------------------------------------------------------------

APRIL_28 = datetime.datetime(2024, 4, 28, tzinfo=UTC)
MAY = datetime.datetime(2024, 5, 1, tzinfo=UTC)
JUNE = datetime.datetime(2024, 6, 1, tzinfo=UTC)


def _fill_around_may(storage: SQLStorage) -> None:
    """April 28 to June 3, two scopes: whole months, days and edges."""
    hours = int((JUNE - APRIL_28) / HOUR) + 2 * 24 + 5
    storage.push(_frames("A", hours, APRIL_28), "A")
    storage.push(_frames("b", hours - 30, APRIL_28 + 30 * HOUR), "b")


WINDOWS = (
    (MAY, JUNE),
    (APRIL_28 + 5 * HOUR, JUNE + 29 * HOUR),
    (MAY + 3 * HOUR, MAY + 50 * HOUR),
    (None, JUNE + 7 * HOUR),
    (APRIL_28 + 26 * HOUR, None),
    (None, None),
)
GROUPBYS = (["project_id"], ["type", "project_id"], ["time-d"], ["type", "time-m"], [])


def _assert_rollups_answer_like_points(storage: SQLStorage) -> None:
    raw = SQLStorage(None, storage.database, use_rollups=False)
    for begin, end in WINDOWS:
        for groupby in GROUPBYS:
            for filters in (None, {"project_id": "A"}, {"type": "cpu"}):
                fast = storage.total(groupby, begin, end, filters=filters, limit=None)
                assert fast == raw.total(groupby, begin, end, filters=filters, limit=None), (
                    groupby,
                    begin,
                    end,
                    filters,
                )


def test_rollup_levels_answer_like_points_through_deletes(storage: SQLStorage) -> None:
    _fill_around_may(storage)
    _assert_rollups_answer_like_points(storage)
    (month,) = storage.total([], MAY, JUNE, filters={"project_id": "b"})["results"]
    # 744 periods x (1234567890.0...01 + 0.33...33): exact on every backend
    assert str(month["rate"]) == "918518510408.0000000000000000000000000496"
    # a scope reset across the month boundary, a reprocessed period, a type
    storage.delete(MAY - 20 * HOUR, None, {"project_id": "A"})
    storage.delete(MAY + 7 * HOUR, MAY + 8 * HOUR, {"project_id": "b"})
    storage.push(_frames("b", 1, MAY + 7 * HOUR), "b")
    storage.delete(JUNE - 3 * HOUR, JUNE + 2 * HOUR, {"type": "image.size"})
    _assert_rollups_answer_like_points(storage)
    assert_rollups_match_points(storage)


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    url = create_database(request.param, str(tmp_path), prefix="ck_storage_roll")
    yield url
    drop_database(url)


def test_upgrade_fills_the_new_rollups_from_the_daily_ones(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    storage = SQLStorage(None, Database.from_url(fresh_url))
    _fill_around_may(storage)
    expected = rollup_rows(storage)
    migrate.downgrade(fresh_url, "0003")
    migrate.upgrade(fresh_url)
    assert rollup_rows(storage) == expected
    _assert_rollups_answer_like_points(storage)


def test_concurrent_writers_of_other_scopes_share_the_type_rows(storage: SQLStorage) -> None:
    """Scopes written at once (each push or reprocessed period in its own
    transaction) add to the same per-type rows: no deadlock, exact sums."""
    errors: list[BaseException] = []

    def writer(scope: str) -> None:
        try:
            for hour in range(12):
                with storage.database.begin() as conn:
                    storage.push(_frames(scope, 1, T0 + hour * HOUR), scope, conn=conn)
                if hour % 4 == 3:  # reprocess the previous period
                    with storage.database.begin() as conn:
                        begin = T0 + (hour - 1) * HOUR
                        storage.delete(begin, begin + HOUR, {"project_id": scope}, conn=conn)
                        storage.push(_frames(scope, 1, begin), scope, conn=conn)
        except BaseException as err:  # surfaced in the main thread
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(f"s{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert storage.retrieve(None, None)["total"] == 4 * 12 * 2
    assert_rollups_match_points(storage)
