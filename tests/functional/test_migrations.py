"""Migrations and models cannot drift: ``upgrade head`` on an empty database
gives exactly ``tables.metadata`` on SQLite, PostgreSQL and MariaDB, and the
tree goes down to base and up again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cloudkitty.db import migrate, tables
from cloudkitty.db.types import ExactDecimal
from tests.conftest import BACKENDS, create_database, drop_database

# Spellings one backend reflects differently from what it was asked to create.
_SAME = {
    ("mysql", "BOOL"): "TINYINT(1)",
    ("mysql", "BOOLEAN"): "TINYINT(1)",
}


def _ddl(type_: Any, dialect: sa.engine.Dialect) -> str:
    """The column type as the backend spells it, without collation noise
    (collation is a table option here, checked separately)."""
    text = type_.compile(dialect=dialect).upper()
    text = re.sub(r"\s+COLLATE\s+\S+", "", text)
    text = re.sub(r"\s+CHARACTER SET\s+\S+", "", text)
    text = re.sub(r",\s+", ",", text)
    # MySQL reflects display widths (INT(11)) and says DECIMAL for NUMERIC.
    text = re.sub(r"^(BIGINT|INTEGER|SMALLINT)\(\d+\)$", r"\1", text)
    text = re.sub(r"^NUMERIC\(", "DECIMAL(", text)
    return _SAME.get((dialect.name, text), text)


def strict_compare_type(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool:
    """True when the database column type differs from the model's.

    Alembic's default comparison is lenient (it ignores NUMERIC scale, and
    sees a TypeDecorator's generic impl rather than the dialect one, e.g.
    ExactDecimal is text on SQLite). Compare the DDL each side compiles to.
    """
    dialect = context.dialect
    return _ddl(inspected_type, dialect) != _ddl(metadata_type, dialect)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    url = create_database(request.param, str(tmp_path), prefix="ck_storage_mig")
    yield url
    drop_database(url)


def _diff(url: str, metadata: sa.MetaData) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": strict_compare_type,
                    "version_table": migrate.VERSION_TABLE,
                },
            )
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_upgrade_head_matches_models(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert migrate.current_revision(empty_url) == migrate.head_revision()
    assert _diff(empty_url, tables.metadata) == []


def test_comparison_is_strict(empty_url: str) -> None:
    """A model whose decimal differs only in precision and scale is reported
    (SQLite stores these as text: only the length shows there)."""
    migrate.upgrade(empty_url)
    altered = sa.MetaData(naming_convention=tables.NAMING_CONVENTION)
    for table in tables.metadata.sorted_tables:
        table.to_metadata(altered)
    points = altered.tables["rated_points"]
    points.c.qty.type = ExactDecimal(37, 15)
    diff = _diff(empty_url, altered)
    assert [d[0][0] for d in diff] == ["modify_type"]
    assert diff[0][0][3] == "qty"


def test_downgrade_to_base_and_up_again(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")
    engine = sa.create_engine(empty_url)
    try:
        remaining = set(sa.inspect(engine).get_table_names()) - {migrate.VERSION_TABLE}
    finally:
        engine.dispose()
    assert remaining == set()
    migrate.upgrade(empty_url)
    assert _diff(empty_url, tables.metadata) == []


def test_storage_downgrade_to_0001_keeps_other_tables(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "0001")
    engine = sa.create_engine(empty_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "hashmap_mappings" in names
    assert not names & {"rated_points", "rated_series", "cloudkitty_storage_states"}
    migrate.upgrade(empty_url)


def test_mysql_rated_tables_compare_bytes(empty_url: str) -> None:
    """Grouping must be case-sensitive on MariaDB too (binary collation)."""
    if not empty_url.startswith("mysql"):
        pytest.skip("collation is a MySQL/MariaDB concern")
    migrate.upgrade(empty_url)
    engine = sa.create_engine(empty_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT table_name, table_collation FROM information_schema.tables "
                    "WHERE table_schema = DATABASE() AND table_name LIKE 'rated%'"
                )
            ).all()
    finally:
        engine.dispose()
    assert {r[0]: r[1] for r in rows} == dict.fromkeys(
        (
            "rated_series",
            "rated_series_attributes",
            "rated_points",
            "rated_points_daily",
            "rated_points_monthly",
            "rated_types_daily",
        ),
        "utf8mb4_bin",
    )


def _fillfactors(url: str) -> dict[str, list[str] | None]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT relname, reloptions FROM pg_class "
                    "WHERE relkind = 'r' AND relname LIKE 'rated%'"
                )
            ).all()
    finally:
        engine.dispose()
    return {r[0]: r[1] for r in rows}


def test_postgresql_rollup_tables_leave_room_for_updates(empty_url: str) -> None:
    """Migration 0005 and the models agree: fill factor 80 on the rollups
    (in-place updates), the default elsewhere; downgrading resets it."""
    if not empty_url.startswith("postgresql"):
        pytest.skip("fill factor is a PostgreSQL setting")
    rollups = {"rated_points_daily", "rated_points_monthly", "rated_types_daily"}
    migrate.upgrade(empty_url)
    options = _fillfactors(empty_url)
    assert {name for name, opts in options.items() if opts == ["fillfactor=80"]} == rollups
    assert all(options[name] is None for name in set(options) - rollups)
    migrate.downgrade(empty_url, "0004")
    assert all(opts is None for opts in _fillfactors(empty_url).values())
    migrate.upgrade(empty_url)
    created = sa.MetaData()
    for table in tables.metadata.sorted_tables:
        table.to_metadata(created)
    engine = sa.create_engine(empty_url)
    try:
        for table in rollups:
            ddl = str(sa.schema.CreateTable(created.tables[table]).compile(engine))
            assert "WITH (fillfactor = 80)" in ddl  # fresh installs from the models too
    finally:
        engine.dispose()
