"""The one schema of the service: every table, under one naming convention.

Table and column names follow upstream CloudKitty so an operator's existing
database and SQL reports keep their meaning. The migrations in
``cloudkitty/db/migrations`` must produce exactly this (a test checks it).
"""

from __future__ import annotations

import sqlalchemy as sa

from cloudkitty.db.types import ExactDecimal, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# Money: 12 integer digits and 28 decimals, as upstream (NUMERIC(40,28)).
COST = ExactDecimal(40, 28)
# Threshold levels: NUMERIC(20,8).
LEVEL = ExactDecimal(20, 8)

MAP_TYPES = ("flat", "rate")


def _map_type(name: str) -> sa.Enum:
    return sa.Enum(*MAP_TYPES, name=name, native_enum=False, create_constraint=True, length=8)


# --- core -----------------------------------------------------------------

modules_state = sa.Table(
    "modules_state",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("state", sa.Boolean, nullable=False),
    sa.Column("priority", sa.Integer, nullable=True),
)

# Legacy key/value table kept for compatibility of existing databases.
states = sa.Table(
    "states",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("state", sa.BigInteger, nullable=False),
    sa.Column("s_metadata", sa.Text, nullable=True),
)

service_to_collector_mappings = sa.Table(
    "service_to_collector_mappings",
    metadata,
    sa.Column("service", sa.String(255), primary_key=True),
    sa.Column("collector", sa.String(255), nullable=False),
)

# --- hashmap ---------------------------------------------------------------

hashmap_services = sa.Table(
    "hashmap_services",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_id", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
)

hashmap_fields = sa.Table(
    "hashmap_fields",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("field_id", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column(
        "service_id",
        sa.Integer,
        sa.ForeignKey("hashmap_services.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.UniqueConstraint("service_id", "name"),
)

hashmap_groups = sa.Table(
    "hashmap_groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("group_id", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
)


def _parents() -> list[sa.Column]:
    return [
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("hashmap_services.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "field_id",
            sa.Integer,
            sa.ForeignKey("hashmap_fields.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey("hashmap_groups.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("tenant_id", sa.String(255), nullable=True),
    ]


def _versioned() -> list[sa.Column]:
    """Time-versioning and audit columns of mappings and scripts."""
    return [
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("start", UTCDateTime, nullable=False),
        sa.Column("end", UTCDateTime, nullable=True),
        sa.Column("description", sa.String(256), nullable=True),
        sa.Column("deleted", UTCDateTime, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=True),
        sa.Column("deleted_by", sa.String(255), nullable=True),
    ]


hashmap_mappings = sa.Table(
    "hashmap_mappings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("mapping_id", sa.String(36), nullable=False, unique=True),
    sa.Column("value", sa.String(255), nullable=True),
    sa.Column("cost", COST, nullable=False),
    sa.Column("map_type", _map_type("enum_map_type"), nullable=False),
    *_parents(),
    sa.Column("name", sa.String(255), nullable=False),
    *_versioned(),
    sa.CheckConstraint(
        "(service_id IS NULL) <> (field_id IS NULL)", name="one_parent"
    ),
)

hashmap_thresholds = sa.Table(
    "hashmap_thresholds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("threshold_id", sa.String(36), nullable=False, unique=True),
    sa.Column("level", LEVEL, nullable=False),
    sa.Column("cost", COST, nullable=False),
    sa.Column("map_type", _map_type("enum_hashmap_type"), nullable=False),
    *_parents(),
    sa.CheckConstraint(
        "(service_id IS NULL) <> (field_id IS NULL)", name="one_parent"
    ),
    sa.UniqueConstraint("level", "field_id", "tenant_id"),
    sa.UniqueConstraint("level", "service_id", "tenant_id"),
)

# Mapping and threshold lookups by parent are what the API lists and the
# rating index loads; keep them indexed.
sa.Index(None, hashmap_mappings.c.service_id)
sa.Index(None, hashmap_mappings.c.field_id)
sa.Index(None, hashmap_mappings.c.group_id)
sa.Index(None, hashmap_thresholds.c.service_id)
sa.Index(None, hashmap_thresholds.c.field_id)
sa.Index(None, hashmap_thresholds.c.group_id)

# --- pyscripts -------------------------------------------------------------

pyscripts_scripts = sa.Table(
    "pyscripts_scripts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("script_id", sa.String(36), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("checksum", sa.String(128), nullable=False),
    *_versioned(),
)
sa.Index(None, pyscripts_scripts.c.name)
