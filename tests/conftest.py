"""Shared test fixtures: markers by folder and databases on real servers.

Functional tests get a fresh database per backend and per test session on the
servers named by ``CK_TEST_PG_URL`` and ``CK_TEST_MYSQL_URL`` (server URLs
without a database name), migrated with the real alembic tree.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_SERVER = os.environ.get("CK_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432")
MYSQL_SERVER = os.environ.get("CK_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
BACKENDS = ("sqlite", "postgresql", "mysql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if f"{os.sep}unit{os.sep}" in path:
            item.add_marker(pytest.mark.unit)
        elif f"{os.sep}functional{os.sep}" in path:
            item.add_marker(pytest.mark.functional)


def _admin_engine(server: str, dbname: str) -> sa.Engine:
    return sa.create_engine(f"{server}/{dbname}", isolation_level="AUTOCOMMIT")


def create_database(backend: str, tmp_dir: str, prefix: str = "ck") -> str:
    """Create an empty database on ``backend`` and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        return f"sqlite:///{os.path.join(tmp_dir, name)}.sqlite"
    if backend == "postgresql":
        with _admin_engine(PG_SERVER, "postgres").connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return f"{PG_SERVER}/{name}"
    if backend == "mysql":
        with _admin_engine(MYSQL_SERVER, "").connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        return f"{MYSQL_SERVER}/{name}?charset=utf8mb4"
    raise ValueError(backend)


def drop_database(url: str) -> None:
    from cloudkitty.db import engine as ck_engine

    ck_engine.dispose_all()
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{parsed.database}{suffix}")
            except FileNotFoundError:
                pass
    elif backend == "postgresql":
        with _admin_engine(PG_SERVER, "postgres").connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    elif backend == "mysql":
        with _admin_engine(MYSQL_SERVER, "").connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))


@pytest.fixture(scope="session")
def migrated_db_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Lazily created, migrated databases, one per backend, for the session."""
    from cloudkitty.db import migrate

    tmp_dir = str(tmp_path_factory.mktemp("db"))
    urls: dict[str, str] = {}

    class _Lazy(dict):
        def __missing__(self, backend: str) -> str:
            url = create_database(backend, tmp_dir)
            migrate.upgrade(url)
            urls[backend] = url
            self[backend] = url
            return url

    yield _Lazy()
    for url in urls.values():
        drop_database(url)


def truncate_all(url: str) -> None:
    """Empty every table (children first) so each test starts clean."""
    from cloudkitty.db import engine as ck_engine
    from cloudkitty.db import tables

    engine = ck_engine.get_engine(url)
    with engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, migrated_db_urls: dict[str, str]) -> Iterator[str]:
    """A migrated, empty database on each backend in turn (functional tests)."""
    url = migrated_db_urls[request.param]
    truncate_all(url)
    yield url


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite file migrated to head per session; tests get a copy."""
    from cloudkitty.db import migrate

    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def sqlite_url(tmp_path, _migrated_sqlite_template: str) -> str:  # type: ignore[no-untyped-def]
    """A migrated SQLite file database (allowed in unit tests: no server).

    Copying the migrated template is ~100 times faster than running the
    migrations for every test; the migrations themselves are tested in
    tests/functional/test_migrations.py and tests/unit/cmd.
    """
    import shutil

    path = tmp_path / "unit.sqlite"
    shutil.copyfile(_migrated_sqlite_template, path)
    return f"sqlite:///{path}"


def make_conf(db_url: str, **groups: dict[str, object]):  # type: ignore[no-untyped-def]
    """A fresh, fully registered ConfigOpts for tests (noauth by default).

    ``groups`` maps a group name (``DEFAULT`` for the default group) to
    option overrides.
    """
    from oslo_config import cfg

    from cloudkitty import conf as ck_conf

    conf = cfg.ConfigOpts()
    ck_conf.register_all(conf)
    conf([], project="cloudkitty", default_config_files=[])
    conf.set_override("auth_strategy", "noauth")
    conf.set_override("connection", db_url, group="database")
    for group, values in groups.items():
        for name, value in values.items():
            conf.set_override(name, value, group=None if group == "DEFAULT" else group)
    return conf


@pytest.fixture
def api_app(sqlite_url: str):  # type: ignore[no-untyped-def]
    """A WebTest client on the full paste pipeline (noauth, SQLite file)."""
    import webtest

    from cloudkitty.api import app

    return webtest.TestApp(app.load_app(make_conf(sqlite_url)))
