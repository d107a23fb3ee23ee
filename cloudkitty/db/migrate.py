"""Schema migrations through alembic, driven from Python (cloudkitty-dbsync)."""

from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cloudkitty.db import engine as ck_engine

_HERE = os.path.dirname(os.path.abspath(__file__))
VERSION_TABLE = "cloudkitty_schema_version"


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(_HERE, "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    engine = ck_engine.create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = _config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    engine = ck_engine.create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = _config(url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
    finally:
        engine.dispose()


def stamp(url: str, revision: str = "head") -> None:
    engine = ck_engine.create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = _config(url)
            cfg.attributes["connection"] = conn
            command.stamp(cfg, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None when never migrated."""
    engine = ck_engine.create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return ctx.get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config("sqlite://")).get_current_head()


def revision(url: str, message: str, autogenerate: bool = False) -> None:
    """Create a new revision file (developers only)."""
    engine = ck_engine.create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = _config(url)
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=autogenerate)
    finally:
        engine.dispose()
