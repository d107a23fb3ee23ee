"""rated data storage (v2 SQL backend) and scope state

Adds the per-scope processing state and reprocessing schedules (upstream
names and columns, plus error reporting columns) and the rated data tables:
series, series attributes, points and daily rollups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:09:47.908928
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from cloudkitty.db import types as ck_types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql")
BINARY_TEXT = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _time_keys():
    return [
        sa.Column("year", sa.String(length=32), nullable=True),
        sa.Column("month", sa.String(length=32), nullable=True),
        sa.Column("week_of_the_year", sa.String(length=32), nullable=True),
        sa.Column("day_of_the_year", sa.String(length=32), nullable=True),
    ]


def _series_fk(table):
    return sa.ForeignKeyConstraint(
        ["series_id"],
        ["rated_series.id"],
        name=op.f(f"fk_{table}_series_id_rated_series"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "cloudkitty_storage_states",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identifier", sa.String(length=256), nullable=False),
        sa.Column("scope_key", sa.String(length=40), nullable=True),
        sa.Column("fetcher", sa.String(length=40), nullable=True),
        sa.Column("collector", sa.String(length=40), nullable=True),
        sa.Column("last_processed_timestamp", ck_types.UTCDateTime(), nullable=False),
        sa.Column(
            "scope_activation_toggle_date",
            ck_types.UTCDateTime(),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", ck_types.UTCDateTime(), nullable=True),
        sa.Column("error_count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloudkitty_storage_states")),
        sa.UniqueConstraint(
            "identifier",
            "scope_key",
            "collector",
            "fetcher",
            name="uq_cloudkitty_storage_states_identifier",
        ),
    )
    op.create_table(
        "storage_scope_reprocessing_schedule",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identifier", sa.String(length=256), nullable=False),
        sa.Column("start_reprocess_time", ck_types.UTCDateTime(), nullable=False),
        sa.Column("end_reprocess_time", ck_types.UTCDateTime(), nullable=False),
        sa.Column("current_reprocess_time", ck_types.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_scope_reprocessing_schedule")),
    )
    op.create_index(
        op.f("ix_storage_scope_reprocessing_schedule_identifier"),
        "storage_scope_reprocessing_schedule",
        ["identifier"],
    )

    op.create_table(
        "rated_series",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("series_hash", sa.String(length=64), nullable=False),
        sa.Column("scope_id", sa.String(length=256), nullable=True),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("unit", sa.String(length=255), nullable=False),
        sa.Column("groupby", JSON_TEXT, nullable=False),
        sa.Column("metadata", JSON_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rated_series")),
        sa.UniqueConstraint("series_hash", name=op.f("uq_rated_series_series_hash")),
        **BINARY_TEXT,
    )
    op.create_index(op.f("ix_rated_series_scope_id_type"), "rated_series", ["scope_id", "type"])
    op.create_index(op.f("ix_rated_series_type"), "rated_series", ["type"])

    op.create_table(
        "rated_series_attributes",
        sa.Column("series_id", BIGID, nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        _series_fk("rated_series_attributes"),
        sa.PrimaryKeyConstraint("series_id", "key", name=op.f("pk_rated_series_attributes")),
        **BINARY_TEXT,
    )
    op.create_index(
        op.f("ix_rated_series_attributes_key_value_series_id"),
        "rated_series_attributes",
        ["key", "value", "series_id"],
    )

    op.create_table(
        "rated_points",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("series_id", BIGID, nullable=False),
        sa.Column("begin", ck_types.UTCDateTime(), nullable=False),
        sa.Column("end", ck_types.UTCDateTime(), nullable=False),
        sa.Column("qty", ck_types.ExactDecimal(precision=38, scale=16), nullable=False),
        sa.Column("price", ck_types.ExactDecimal(precision=40, scale=28), nullable=False),
        *_time_keys(),
        _series_fk("rated_points"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rated_points")),
        **BINARY_TEXT,
    )
    op.create_index(op.f("ix_rated_points_begin"), "rated_points", ["begin"])
    op.create_index(op.f("ix_rated_points_series_id_begin"), "rated_points", ["series_id", "begin"])

    op.create_table(
        "rated_points_daily",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("series_id", BIGID, nullable=False),
        sa.Column("day", ck_types.UTCDateTime(), nullable=False),
        sa.Column("time_key", sa.String(length=160), nullable=False),
        *_time_keys(),
        sa.Column("qty", ck_types.ExactDecimal(precision=42, scale=16), nullable=False),
        sa.Column("price", ck_types.ExactDecimal(precision=44, scale=28), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        _series_fk("rated_points_daily"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rated_points_daily")),
        sa.UniqueConstraint(
            "series_id",
            "day",
            "time_key",
            name=op.f("uq_rated_points_daily_series_id_day_time_key"),
        ),
        **BINARY_TEXT,
    )
    op.create_index(op.f("ix_rated_points_daily_day"), "rated_points_daily", ["day"])


def downgrade() -> None:
    # Tables only, children first: dropping a table drops its indexes, while
    # dropping an index that backs a foreign key first fails on MariaDB.
    op.drop_table("rated_points_daily")
    op.drop_table("rated_points")
    op.drop_table("rated_series_attributes")
    op.drop_table("rated_series")
    op.drop_table("storage_scope_reprocessing_schedule")
    op.drop_table("cloudkitty_storage_states")
