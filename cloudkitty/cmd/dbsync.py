"""cloudkitty-dbsync: create or upgrade the database schema.

One migration tree covers the whole service (core, hashmap, pyscripts,
storage and scope state), so ``--module`` is accepted for compatibility with
upstream's command line and ignored.
"""

from __future__ import annotations

import argparse
import sys

import sqlalchemy.exc

from cloudkitty import service
from cloudkitty.db import migrate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudkitty-dbsync", description=__doc__)
    parser.add_argument("--config-file", action="append", default=[], help="config file")
    parser.add_argument("--config-dir", action="append", default=[], help="config directory")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("upgrade", "stamp", "version", "revision"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--module", help="ignored: one migration tree serves every module")
        if name in ("upgrade", "stamp"):
            cmd.add_argument("--revision", default="head")
        if name == "revision":
            cmd.add_argument("-m", "--message", default="new revision")
            cmd.add_argument("--autogenerate", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    oslo_args: list[str] = []
    for path in args.config_file:
        oslo_args += ["--config-file", path]
    for path in args.config_dir:
        oslo_args += ["--config-dir", path]
    conf = service.prepare_service(oslo_args)
    url = conf.database.connection
    try:
        if args.command == "upgrade":
            migrate.upgrade(url, args.revision)
            print(f"database upgraded to {migrate.current_revision(url)}")
        elif args.command == "stamp":
            migrate.stamp(url, args.revision)
            print(f"database stamped at {migrate.current_revision(url)}")
        elif args.command == "version":
            print(migrate.current_revision(url) or "None")
        else:
            migrate.revision(url, args.message, args.autogenerate)
    except (sqlalchemy.exc.SQLAlchemyError, OSError) as error:
        print(
            f"cloudkitty-dbsync: database error on [database] connection: {error}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
