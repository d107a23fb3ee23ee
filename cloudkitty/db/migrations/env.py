"""Alembic environment of the one migration tree.

Run through ``cloudkitty-dbsync`` (``cloudkitty.db.migrate``), which passes the
connection in ``config.attributes``; plain ``alembic`` works too with
``sqlalchemy.url`` set.
"""

from alembic import context

from cloudkitty.db import engine as ck_engine
from cloudkitty.db import tables

config = context.config
VERSION_TABLE = "cloudkitty_schema_version"


def _configure(connection):
    context.configure(
        connection=connection,
        target_metadata=tables.metadata,
        version_table=VERSION_TABLE,
        user_module_prefix="ck_types.",
        render_as_batch=True,
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = ck_engine.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
