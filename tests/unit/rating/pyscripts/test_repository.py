"""Script storage rules on SQLite: validation, messages, versioning, filters."""

from __future__ import annotations

import datetime
import hashlib
import zlib

import pytest
import sqlalchemy as sa

from cloudkitty import exceptions
from cloudkitty.db import tables
from cloudkitty.rating.pyscripts import repository as repo

UTC = datetime.timezone.utc
NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
LATER = datetime.datetime(2030, 7, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


def _create(db, name="policy1", data="a = 0", now=NOW, **kwargs):
    with db.begin() as conn:
        return repo.create(conn, name=name, data=data, now=now, **kwargs)


def _count(db) -> int:
    with db.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(tables.pyscripts_scripts)
        ).scalar()


def test_create_defaults(db):
    script = _create(db, data="print('é')", created_by="alice")
    assert script.name == "policy1"
    assert script.data == "print('é')"
    assert script.checksum == hashlib.sha512("print('é')".encode()).hexdigest()
    assert (script.created_at, script.start, script.end) == (NOW, NOW, None)
    assert (script.description, script.deleted) == (None, None)
    assert (script.created_by, script.updated_by, script.deleted_by) == ("alice", None, None)
    with db.connect() as conn:
        row = conn.execute(sa.select(tables.pyscripts_scripts)).mappings().one()
        assert zlib.decompress(row["data"]).decode() == "print('é')"
        assert repo.get(conn, script.script_id) == script


def test_start_defaults_to_the_time_of_creation(db):
    # Upstream bug 20: the default was the API process start time.
    first = _create(db, name="a", now=NOW)
    second = _create(db, name="b", now=NOW + HOUR)
    assert (first.start, second.start) == (NOW, NOW + HOUR)


def test_start_in_the_past_needs_force(db):
    with pytest.raises(exceptions.InvalidInput) as info:
        _create(db, start="2030-06-01T11:00:00")
    assert str(info.value) == (
        "Cannot create a rule with start in the past. "
        "start=[2030-06-01 11:00:00] current time=[2030-06-01 12:00:00]."
    )
    assert _count(db) == 0
    script = _create(db, start="2030-06-01T11:00:00", force=True)
    assert script.start == NOW - HOUR


def test_end_before_start_is_rejected_even_with_force(db):
    with pytest.raises(exceptions.InvalidInput) as info:
        _create(db, start=LATER, end=LATER - HOUR, force=True)
    assert str(info.value) == (
        "Cannot create a rule with start after end. "
        "start=[2030-07-01 00:00:00] end=[2030-06-30 23:00:00]."
    )
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ("2030-08-01", datetime.datetime(2030, 8, 1, 23, 59, 59, tzinfo=UTC)),
        (datetime.date(2030, 8, 1), datetime.datetime(2030, 8, 1, 23, 59, 59, tzinfo=UTC)),
        ("2030-08-01T10:00:00", datetime.datetime(2030, 8, 1, 10, tzinfo=UTC)),
        ("2030-08-01 10:00:00+02:00", datetime.datetime(2030, 8, 1, 8, tzinfo=UTC)),
    ],
)
def test_end_parsing(db, end, expected):
    assert _create(db, end=end).end == expected


def test_name_is_unique_among_live_scripts(db):
    first = _create(db)
    with pytest.raises(exceptions.Conflict) as info:
        _create(db, data="other")
    assert str(info.value) == f"Script policy1 already exists (UUID: {first.script_id})"
    assert _count(db) == 1
    # Exact match on every backend: another case is another name.
    _create(db, name="Policy1")
    with db.begin() as conn:
        repo.delete(conn, first.script_id, now=NOW)
    assert _create(db).script_id != first.script_id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name must be a non-empty string"),
        ({"name": "n" * 256}, "name is too long (256 > 255 characters)"),
        ({"data": None}, "data must be a string"),
        ({"description": "d" * 257}, "description is too long (257 > 256 characters)"),
        ({"start": "not a date"}, "Invalid start: 'not a date' is not a date"),
    ],
)
def test_create_validation(db, kwargs, message):
    with pytest.raises(exceptions.InvalidInput) as info:
        _create(db, **kwargs)
    assert str(info.value) == message
    assert _count(db) == 0


def test_data_size_limit(db):
    import os

    with pytest.raises(exceptions.InvalidInput, match="Script data is too large"):
        _create(db, data=os.urandom(80000).hex())
    assert _create(db, data="x = 1\n" * 20000).data == "x = 1\n" * 20000


def test_get_unknown(db):
    with db.connect() as conn, pytest.raises(exceptions.NotFound) as info:
        repo.get(conn, "nope")
    assert str(info.value) == "No such script: None (UUID: nope)"


def test_delete_is_soft(db):
    script = _create(db)
    with db.begin() as conn:
        deleted = repo.delete(conn, script.script_id, deleted_by="bob", now=NOW + HOUR)
    assert (deleted.deleted, deleted.deleted_by) == (NOW + HOUR, "bob")
    with db.connect() as conn:
        assert repo.get(conn, script.script_id) == deleted
        assert repo.load_active(conn) == []
    for script_id in (script.script_id, "unknown"):
        with db.begin() as conn, pytest.raises(exceptions.NotFound) as info:
            repo.delete(conn, script_id)
        assert str(info.value) == f"No such script: None (UUID: {script_id})"


def _seed(db):
    a = _create(db, name="a", description="Rates GPU flavors", created_by="alice")
    b = _create(db, name="b", start=LATER, end="2030-08-01", created_by="bob")
    c = _create(db, name="c", description="100% off", created_by="alice")
    with db.begin() as conn:
        c = repo.delete(conn, c.script_id, deleted_by="carol", now=NOW)
        a = repo.update(conn, a.script_id, {"end": LATER}, updated_by="dave", now=NOW + HOUR)
    return a, b, c


def _names(db, **filters):
    with db.connect() as conn:
        return [s.name for s in repo.list_scripts(conn, **filters)]


def test_list_filters(db):
    a, b, c = _seed(db)
    assert _names(db) == ["a", "b"]
    assert _names(db, deleted=True) == ["a", "b", "c"]
    assert _names(db, start=LATER) == ["b"]
    assert _names(db, end="2030-07-02") == ["a"]
    assert _names(db, created_by="alice") == ["a"]
    assert _names(db, created_by="ALICE") == []
    assert _names(db, updated_by="dave") == ["a"]
    assert _names(db, deleted_by="carol", deleted=True) == ["c"]
    assert _names(db, description="gpu") == ["a"]
    assert _names(db, description="%", deleted=True) == ["c"]
    assert _names(db, description="_") == []
    assert _names(db, is_active=True, now=NOW + HOUR) == ["a"]
    assert _names(db, is_active=True, now=LATER) == ["b"]
    with db.connect() as conn:
        listed = repo.list_scripts(conn, no_data=True)
    assert [s.data for s in listed] == [None, None]
    assert listed[0].checksum == a.checksum


def test_load_active(db):
    a, b, _c = _seed(db)
    with db.connect() as conn:
        assert repo.load_active(conn) == [a, b]
        assert repo.load_active(conn, NOW + HOUR) == [a]
        assert repo.load_active(conn, LATER) == [b]  # a ends exactly then
        assert repo.load_active(conn, datetime.datetime(2030, 8, 2, tzinfo=UTC)) == []
    assert a.is_active(NOW) and not a.is_active(LATER) and not b.is_active(NOW)


def test_execution_order_is_name_then_id(db):
    for name in ("zeta", "Alpha", "alpha", "beta"):
        _create(db, name=name)
    with db.connect() as conn:
        assert [s.name for s in repo.load_active(conn)] == ["Alpha", "alpha", "beta", "zeta"]


# --- update -----------------------------------------------------------------


def _echo(script: repo.Script, **changes):
    """The full object as a client sends it back, minus the checksum."""
    body = {
        "script_id": script.script_id,
        "name": script.name,
        "data": script.data,
        "created_at": script.created_at.replace(tzinfo=None).isoformat(),
        "start": script.start.replace(tzinfo=None).isoformat(),
        "end": None,
        "description": script.description,
        "deleted": None,
        "created_by": script.created_by,
        "updated_by": script.updated_by,
        "deleted_by": None,
    }
    body.update(changes)
    return body


def _update(db, script, changes, now=NOW + HOUR, **kwargs):
    with db.begin() as conn:
        return repo.update(conn, script.script_id, changes, now=now, **kwargs)


def test_running_script_only_accepts_an_end(db):
    script = _create(db, description="d")
    for changes in ({"data": "b = 1"}, _echo(script, description="new"), {"start": LATER}):
        with pytest.raises(exceptions.InvalidInput) as info:
            _update(db, script, changes)
        assert str(info.value) == (
            "You are allowed to update only the attribute [end] as this rule is "
            "already running as it started on [2030-06-01 12:00:00]"
        )
    updated = _update(db, script, _echo(script, end="2030-09-01"), updated_by="eve")
    assert updated.end == datetime.datetime(2030, 9, 1, 23, 59, 59, tzinfo=UTC)
    assert (updated.updated_by, updated.data, updated.description) == ("eve", "a = 0", "d")
    with db.connect() as conn:
        assert repo.get(conn, script.script_id) == updated
    with pytest.raises(exceptions.InvalidInput) as info:
        _update(db, updated, {"end": "2030-10-01"})
    assert str(info.value) == (
        "Cannot update a rule that was already processed and has a defined end date."
    )


def test_running_script_end_must_be_in_the_future(db):
    script = _create(db)
    with pytest.raises(exceptions.InvalidInput) as info:
        _update(db, script, {"end": NOW})
    assert str(info.value) == (
        "End date must be in the future. "
        "end=[2030-06-01 12:00:00] current time=[2030-06-01 13:00:00]."
    )
    with db.connect() as conn:
        assert repo.get(conn, script.script_id) == script


def test_running_script_echo_without_end_changes_nothing_but_updated_by(db):
    script = _create(db)
    updated = _update(db, script, _echo(script), updated_by="eve")
    assert updated == script.__class__(**{**script.__dict__, "updated_by": "eve"})


def test_pending_script_is_rewritten(db):
    script = _create(db, start=LATER, description="old", name="p")
    changes = {"name": "ignored", "data": "b = 2", "start": LATER + HOUR, "end": "2030-12-31"}
    updated = _update(db, script, changes, updated_by="eve")
    assert updated.name == "p"
    assert updated.data == "b = 2"
    assert updated.checksum == repo.checksum_of("b = 2")
    assert updated.start == LATER + HOUR
    assert updated.end == datetime.datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert updated.description is None  # absent description is cleared
    assert updated.updated_by == "eve"
    with db.connect() as conn:
        assert repo.get(conn, script.script_id) == updated
    # Absent data and start are kept; absent end is cleared.
    again = _update(db, updated, {"description": "new"})
    assert (again.data, again.start, again.end, again.description) == (
        "b = 2",
        LATER + HOUR,
        None,
        "new",
    )


def test_pending_script_checks_like_create(db):
    script = _create(db, start=LATER)
    with pytest.raises(exceptions.InvalidInput, match="start in the past"):
        _update(db, script, {"start": NOW, "data": "changed"})
    with pytest.raises(exceptions.InvalidInput, match="start after end"):
        _update(db, script, {"end": LATER - HOUR, "data": "changed"})
    with pytest.raises(exceptions.InvalidInput, match="Unknown attribute: colour"):
        _update(db, script, {"colour": "red"})
    with db.connect() as conn:
        assert repo.get(conn, script.script_id) == script


def test_update_unknown_or_deleted(db):
    script = _create(db)
    with db.begin() as conn:
        repo.delete(conn, script.script_id, now=NOW)
    for script_id in (script.script_id, "nope"):
        with db.begin() as conn, pytest.raises(exceptions.NotFound) as info:
            repo.update(conn, script_id, {"end": LATER})
        assert str(info.value) == f"No such script: None (UUID: {script_id})"
