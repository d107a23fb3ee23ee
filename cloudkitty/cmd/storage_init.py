"""cloudkitty-storage-init: prepare the rated-data storage.

Runs the schema migrations to head (the storage tables live in the one
migration tree) and lets the configured storage driver check its backend.
Prints what it did; a bad database URL is reported in one line.
"""

from __future__ import annotations

import sys

import sqlalchemy.exc

from cloudkitty import exceptions, service
from cloudkitty.db import migrate
from cloudkitty.db.engine import Database
from cloudkitty.storage import base

PROG = "cloudkitty-storage-init"


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return "<unparsable URL>"


def main(argv: list[str] | None = None) -> int:
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    url = conf.database.connection
    shown = _safe_url(url)
    try:
        # Resolve the driver first: a typo in [storage] backend must not
        # leave a half-prepared deployment behind.
        driver = base.get_storage(conf, Database.from_url(url))
        before = migrate.current_revision(url)
        migrate.upgrade(url)
        after = migrate.current_revision(url)
        if before == after:
            print(f"{PROG}: schema of {shown} already at revision {after}")
        else:
            print(f"{PROG}: schema of {shown} upgraded from {before or 'empty'} to {after}")
        driver.init()
        print(f"{PROG}: storage backend '{driver.name}' ready")
    except exceptions.CloudkittyError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    except (sqlalchemy.exc.SQLAlchemyError, OSError, ImportError) as error:
        # SQLAlchemy errors carry the statement and a doc link; the first
        # line says what is wrong (bad URL, unknown host, access denied).
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        print(f"{PROG}: cannot use database {shown}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
