"""Fixtures of the pyscripts tests: frames, small sandbox limits, one SQLite DB."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from cloudkitty.dataframe import DataFrame, DataPoint
from cloudkitty.db import engine as ck_engine
from cloudkitty.db import migrate, tables
from cloudkitty.rating.pyscripts import sandbox

UTC = datetime.timezone.utc
BEGIN = datetime.datetime(2024, 1, 1, tzinfo=UTC)
END = datetime.datetime(2024, 1, 1, 1, tzinfo=UTC)
#: Small enough that a runaway script fails within seconds.
SMALL = sandbox.Limits(cpu_time=1, wall_time=3, memory_mb=256)


def make_frame() -> DataFrame:
    """Points shaped like the contract's example (compute and instance_status)."""
    return DataFrame(
        BEGIN,
        END,
        {
            "compute": [
                DataPoint.create("instance", 1, groupby={"flavor": "m1.nano", "id": "a"}),
                DataPoint.create("instance", 2, groupby={"flavor": "m1.tiny", "id": "b"}),
            ],
            "instance_status": [
                DataPoint.create(
                    "instance",
                    1,
                    groupby={"flavor": "m1.ultra", "id": "c"},
                    metadata={"memory": "512"},
                ),
                DataPoint.create(
                    "instance",
                    1,
                    groupby={"flavor": "m1.small", "id": "d"},
                    metadata={"memory": "2048"},
                ),
            ],
        },
    )


@pytest.fixture
def frame() -> DataFrame:
    return make_frame()


@pytest.fixture(scope="module")
def _module_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ck_engine.Database]:
    # One migrated file per test module (migrating per test costs ~50 ms);
    # each test empties the table instead.
    url = f"sqlite:///{tmp_path_factory.mktemp('pyscripts')}/pyscripts.sqlite"
    migrate.upgrade(url)
    yield ck_engine.Database.from_url(url)


@pytest.fixture
def db(_module_db: ck_engine.Database) -> ck_engine.Database:
    with _module_db.begin() as conn:
        conn.execute(tables.pyscripts_scripts.delete())
    return _module_db
