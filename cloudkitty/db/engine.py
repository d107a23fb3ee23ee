"""Engines and transactions: the only place that creates database connections."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # Foreign keys carry the cascades of hashmap deletes; WAL lets the API
    # read while a processor writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> Engine:
    """A new engine for ``url`` with backend-specific settings applied."""
    parsed = sa.engine.make_url(url)
    options: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "mysql":
        options["pool_pre_ping"] = True
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    if parsed.get_backend_name() != "sqlite":
        options["pool_pre_ping"] = True
    options.update(kwargs)
    engine = sa.create_engine(parsed, **options)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_engine(url: str) -> Engine:
    """The process-wide engine of ``url`` (created once, then shared)."""
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = create_engine(url)
        return engine


def dispose_all() -> None:
    """Drop pooled connections, e.g. after a fork."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


class Database:
    """A handle on the service database handed to the layers that need it.

    ``begin()`` yields a connection inside one transaction: committed when the
    block ends, rolled back on any exception, so nothing is half-written.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(get_engine(url))

    @classmethod
    def from_conf(cls, conf: Any) -> Database:
        return cls.from_url(conf.database.connection)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads (autobegin; rolled back on exit)."""
        with self.engine.connect() as conn:
            yield conn
