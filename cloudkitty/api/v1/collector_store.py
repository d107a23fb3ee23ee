"""The two rows the deprecated collector API edits: service-to-collector
mappings (table ``service_to_collector_mappings``) and collector states
(``modules_state`` rows named ``collector_<name>``).

Nothing in the processor reads either; they are kept so existing tools
that write and read them back keep working.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from cloudkitty import exceptions
from cloudkitty.db import tables
from cloudkitty.db.engine import Database
from cloudkitty.rating import state as module_state

MAPPINGS = tables.service_to_collector_mappings
STATE_PREFIX = "collector_"


@dataclasses.dataclass(frozen=True)
class CollectorMapping:
    service: str
    collector: str


def _not_found(service: str) -> exceptions.NotFound:
    return exceptions.NotFound(f"No mapping for service: {service}")


def list_mappings(db: Database, collector: str | None = None) -> list[CollectorMapping]:
    """Every mapping (of ``collector`` when given), ordered by service."""
    stmt = sa.select(MAPPINGS.c.service, MAPPINGS.c.collector).order_by(MAPPINGS.c.service)
    if collector:
        stmt = stmt.where(MAPPINGS.c.collector == collector)
    with db.connect() as conn:
        return [CollectorMapping(row.service, row.collector) for row in conn.execute(stmt)]


def get_mapping(db: Database, service: str) -> CollectorMapping:
    stmt = sa.select(MAPPINGS.c.collector).where(MAPPINGS.c.service == service)
    with db.connect() as conn:
        collector = conn.execute(stmt).scalar_one_or_none()
    if collector is None:
        raise _not_found(service)
    return CollectorMapping(service, collector)


def set_mapping(db: Database, service: str, collector: str) -> CollectorMapping:
    """Create or replace the mapping of ``service``."""
    update = MAPPINGS.update().where(MAPPINGS.c.service == service).values(collector=collector)
    try:
        with db.begin() as conn:
            if not conn.execute(update).rowcount:
                conn.execute(MAPPINGS.insert().values(service=service, collector=collector))
    except sa_exc.IntegrityError:
        # A concurrent request inserted the same service between our UPDATE
        # and INSERT: the row exists now, so the update wins.
        with db.begin() as conn:
            conn.execute(update)
    return CollectorMapping(service, collector)


def delete_mapping(db: Database, service: str) -> None:
    with db.begin() as conn:
        deleted = conn.execute(MAPPINGS.delete().where(MAPPINGS.c.service == service)).rowcount
    if not deleted:
        raise _not_found(service)


def get_state(db: Database, name: str) -> bool:
    """Whether collector ``name`` is enabled; unknown names are disabled."""
    with db.connect() as conn:
        return bool(module_state.get_raw(conn, STATE_PREFIX + name))


def set_state(db: Database, name: str, enabled: bool) -> bool:
    with db.begin() as conn:
        return module_state.set_state(conn, STATE_PREFIX + name, enabled=enabled).enabled
