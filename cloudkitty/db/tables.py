"""The one schema of the service: every table, under one naming convention.

Table and column names follow upstream CloudKitty so an operator's existing
database and SQL reports keep their meaning. The migrations in
``cloudkitty/db/migrations`` must produce exactly this (a test checks it).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

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
    sa.CheckConstraint("(service_id IS NULL) <> (field_id IS NULL)", name="one_parent"),
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
    sa.CheckConstraint("(service_id IS NULL) <> (field_id IS NULL)", name="one_parent"),
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

# --- scope state (processor progress) ----------------------------------------

# Columns and names as upstream's ``cloudkitty_storage_states`` so existing
# databases and operators' SQL keep working; the three ``last_error*`` columns
# are ours: a scope whose collection fails shows why in GET /v2/scope.
cloudkitty_storage_states = sa.Table(
    "cloudkitty_storage_states",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("identifier", sa.String(256), nullable=False),
    sa.Column("scope_key", sa.String(40), nullable=True),
    sa.Column("fetcher", sa.String(40), nullable=True),
    sa.Column("collector", sa.String(40), nullable=True),
    sa.Column("last_processed_timestamp", UTCDateTime, nullable=False),
    sa.Column(
        "scope_activation_toggle_date",
        UTCDateTime,
        nullable=False,
        server_default=sa.text("CURRENT_TIMESTAMP"),
    ),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_at", UTCDateTime, nullable=True),
    sa.Column("error_count", sa.Integer, nullable=False, server_default="0"),
    # Explicit name: the conventional one exceeds PostgreSQL's 63 characters.
    sa.UniqueConstraint(
        "identifier",
        "scope_key",
        "collector",
        "fetcher",
        name="uq_cloudkitty_storage_states_identifier",
    ),
)

storage_scope_reprocessing_schedule = sa.Table(
    "storage_scope_reprocessing_schedule",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("identifier", sa.String(256), nullable=False),
    sa.Column("start_reprocess_time", UTCDateTime, nullable=False),
    sa.Column("end_reprocess_time", UTCDateTime, nullable=False),
    sa.Column("current_reprocess_time", UTCDateTime, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
)
# Reprocessing workers and the overlap check look schedules up by scope.
sa.Index(None, storage_scope_reprocessing_schedule.c.identifier)

# --- rated data (v2 SQL storage) ---------------------------------------------
#
# A "series" is what does not change from one period to the next: scope,
# metric type, unit, groupby and metadata (minus the four time enrichment
# keys). A point is one period of one series: begin/end, qty, price. The
# split keeps the big table narrow (two ids, two times, two decimals), and
# lets a summary aggregate per series first, then join the few thousand
# series to their attributes to group by any key.
#
# Quantities: NUMERIC(38,16): 22 integer digits hold byte counters of any
# realistic resource, 16 decimals keep unit conversions (bytes -> GiB is
# ~1e-9 per byte) exact well below a cent. Prices: NUMERIC(40,28), the scale
# of hashmap costs, so a flat cost is stored digit for digit. The daily
# rollup sums 24-ish points per row: four more integer digits for headroom.
QTY = ExactDecimal(38, 16)
PRICE = ExactDecimal(40, 28)
SUM_QTY = ExactDecimal(42, 16)
SUM_PRICE = ExactDecimal(44, 28)

# 64-bit ids on servers; SQLite only auto-increments INTEGER PRIMARY KEY.
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# JSON documents of a series; TEXT caps at 64 KiB on MySQL.
_JSON_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql")
# MySQL's default collation is case-insensitive: grouping "ABC" and "abc"
# together would give other totals than PostgreSQL and SQLite. Binary
# collation makes comparisons, GROUP BY and ORDER BY byte-wise everywhere.
_BINARY_TEXT: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
# Rollup rows are updated by every push: room on their pages lets
# PostgreSQL update them in place, without index writes (migration 0005).
_ROLLUP_PAGES: dict[str, Any] = {"postgresql_with": {"fillfactor": 80}}

rated_series = sa.Table(
    "rated_series",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    # sha256 of the canonical identity, so pushes find a series in one lookup.
    sa.Column("series_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scope_id", sa.String(256), nullable=True),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("unit", sa.String(255), nullable=False),
    sa.Column("groupby", _JSON_TEXT, nullable=False),
    sa.Column("metadata", _JSON_TEXT, nullable=False),
    **_BINARY_TEXT,
)
sa.Index(None, rated_series.c.scope_id, rated_series.c.type)
sa.Index(None, rated_series.c.type)

# One row per (series, attribute): groupby keys, plus metadata keys that
# groupby does not shadow. Values as text (strings as is, other JSON values
# in their JSON spelling). Longer values than the column are left out: they
# stay in the series JSON but cannot be grouped or filtered on.
rated_series_attributes = sa.Table(
    "rated_series_attributes",
    metadata,
    sa.Column(
        "series_id",
        _BIGID,
        sa.ForeignKey("rated_series.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.String(512), nullable=False),
    **_BINARY_TEXT,
)
# Filters: key = ? AND value IN (...) -> series ids, without touching rows.
sa.Index(
    None,
    rated_series_attributes.c.key,
    rated_series_attributes.c.value,
    rated_series_attributes.c.series_id,
)


def _time_keys() -> list[sa.Column]:
    """The groupby time enrichment keys, stored per point (not per series:
    they change every day and would multiply the series)."""
    return [
        sa.Column("year", sa.String(32), nullable=True),
        sa.Column("month", sa.String(32), nullable=True),
        sa.Column("week_of_the_year", sa.String(32), nullable=True),
        sa.Column("day_of_the_year", sa.String(32), nullable=True),
    ]


rated_points = sa.Table(
    "rated_points",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column(
        "series_id",
        _BIGID,
        sa.ForeignKey("rated_series.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("begin", UTCDateTime, nullable=False),
    sa.Column("end", UTCDateTime, nullable=False),
    sa.Column("qty", QTY, nullable=False),
    sa.Column("price", PRICE, nullable=False),
    *_time_keys(),
    **_BINARY_TEXT,
)
# (series, begin): one scope's window (delete, filtered summaries);
# (begin): the window of every scope (admin summaries, dataframes).
sa.Index(None, rated_points.c.series_id, rated_points.c.begin)
sa.Index(None, rated_points.c.begin)

# Pre-aggregated points per series and UTC day, maintained by push and
# delete. A summary reads whole days here and only the partial days at the
# window edges from rated_points. ``time_key`` encodes the four time keys in
# one NOT NULL column so the unique key works on every backend (NULLs are
# never equal in a unique index).
rated_points_daily = sa.Table(
    "rated_points_daily",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column(
        "series_id",
        _BIGID,
        sa.ForeignKey("rated_series.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("day", UTCDateTime, nullable=False),
    sa.Column("time_key", sa.String(160), nullable=False),
    *_time_keys(),
    sa.Column("qty", SUM_QTY, nullable=False),
    sa.Column("price", SUM_PRICE, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.UniqueConstraint("series_id", "day", "time_key"),
    **_BINARY_TEXT,
    **_ROLLUP_PAGES,
)
sa.Index(None, rated_points_daily.c.day)

# Sums over a whole month of one series, or a day of every series: more
# integer digits than SUM_* (34 for quantities, 24 for prices), enough for
# any number of points a month or a day can hold.
TOTAL_QTY = ExactDecimal(50, 16)
TOTAL_PRICE = ExactDecimal(52, 28)

# Per series and UTC month (first instant of the month), without the time
# keys: serves summaries that neither group nor filter by them, which is
# every month-wide portal view (per project, per type, per resource). One
# row per series a month keeps a month query at "number of series" rows.
rated_points_monthly = sa.Table(
    "rated_points_monthly",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column(
        "series_id",
        _BIGID,
        sa.ForeignKey("rated_series.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("month", UTCDateTime, nullable=False),
    sa.Column("qty", TOTAL_QTY, nullable=False),
    sa.Column("price", TOTAL_PRICE, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.UniqueConstraint("series_id", "month"),
    **_BINARY_TEXT,
    **_ROLLUP_PAGES,
)
sa.Index(None, rated_points_monthly.c.month)

# Per UTC day, metric type and time keys, summed over every series: serves
# the summaries that need no series attribute (no attribute groupby or
# filter), e.g. an admin's costs per day or per type, in a few rows a day
# whatever the number of projects and resources. The unique key leads with
# the day, so it is also the index of day windows.
rated_types_daily = sa.Table(
    "rated_types_daily",
    metadata,
    sa.Column("id", _BIGID, primary_key=True, autoincrement=True),
    sa.Column("day", UTCDateTime, nullable=False),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("time_key", sa.String(160), nullable=False),
    *_time_keys(),
    sa.Column("qty", TOTAL_QTY, nullable=False),
    sa.Column("price", TOTAL_PRICE, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("day", "type", "time_key"),
    **_BINARY_TEXT,
    **_ROLLUP_PAGES,
)

# --- scope reset requests (PUT /v2/scope) -------------------------------------
#
# The API records a reset here and a processor performs it under the scope
# lock (cloudkitty/orchestrator/resets.py). A table instead of an RPC cast:
# the request survives a processor restart, any processor (on any host) can
# pick it up, and the API needs no message broker. ``done_at`` is NULL until
# the reset was applied; the scope columns are those of the state row the
# request was made for.
scope_reset_requests = sa.Table(
    "scope_reset_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("identifier", sa.String(256), nullable=False),
    sa.Column("scope_key", sa.String(40), nullable=True),
    sa.Column("fetcher", sa.String(40), nullable=True),
    sa.Column("collector", sa.String(40), nullable=True),
    # Rating restarts with the period starting at this time.
    sa.Column("reset_timestamp", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=True),
    sa.Column("done_at", UTCDateTime, nullable=True),
)
# Processors look for the pending requests (done_at IS NULL) every sweep.
sa.Index(None, scope_reset_requests.c.done_at)
