"""monthly and per-type rollups of rated data

Adds ``rated_points_monthly`` (per series and UTC month) and
``rated_types_daily`` (per UTC day, metric type and time keys, over every
series), and fills them from ``rated_points_daily``, which holds the same
sums a day at a time: an upgraded database answers summaries exactly as
before, from its first request.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:00:00.000000
"""

import decimal

import sqlalchemy as sa
from alembic import op

from cloudkitty.db import types as ck_types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BINARY_TEXT = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
TIME_KEYS = ("year", "month", "week_of_the_year", "day_of_the_year")
# Exact sums of NUMERIC(44,28) values need more digits than the default 28.
EXACT = decimal.Context(prec=96)
CHUNK = 1000


def _time_keys():
    return [sa.Column(key, sa.String(length=32), nullable=True) for key in TIME_KEYS]


def _sums():
    return [
        sa.Column("qty", ck_types.ExactDecimal(precision=50, scale=16), nullable=False),
        sa.Column("price", ck_types.ExactDecimal(precision=52, scale=28), nullable=False),
    ]


def upgrade() -> None:
    monthly = op.create_table(
        "rated_points_monthly",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("series_id", BIGID, nullable=False),
        sa.Column("month", ck_types.UTCDateTime(), nullable=False),
        *_sums(),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["rated_series.id"],
            name=op.f("fk_rated_points_monthly_series_id_rated_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rated_points_monthly")),
        sa.UniqueConstraint(
            "series_id", "month", name=op.f("uq_rated_points_monthly_series_id_month")
        ),
        **BINARY_TEXT,
    )
    op.create_index(op.f("ix_rated_points_monthly_month"), "rated_points_monthly", ["month"])
    types = op.create_table(
        "rated_types_daily",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("day", ck_types.UTCDateTime(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("time_key", sa.String(length=160), nullable=False),
        *_time_keys(),
        *_sums(),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rated_types_daily")),
        sa.UniqueConstraint(
            "day", "type", "time_key", name=op.f("uq_rated_types_daily_day_type_time_key")
        ),
        **BINARY_TEXT,
    )
    _backfill(monthly, types)
    if op.get_bind().dialect.name == "postgresql":
        # Fresh statistics now rather than at autovacuum's next visit: the
        # planner would otherwise take the filled tables for empty ones.
        op.execute("ANALYZE rated_points_monthly")
        op.execute("ANALYZE rated_types_daily")


def _add(sums: dict, key: tuple, row, extra: dict) -> None:
    entry = sums.get(key)
    if entry is None:
        sums[key] = {**extra, "qty": row.qty, "price": row.price, "points": row.points}
    else:
        entry["qty"] = EXACT.add(entry["qty"], row.qty)
        entry["price"] = EXACT.add(entry["price"], row.price)
        entry["points"] += row.points


def _backfill(monthly: sa.Table, types: sa.Table) -> None:
    """Sum the daily rollups into the two new levels.

    Done in Python so the sums stay exact on SQLite (decimals are text
    there) and the month of a day needs no dialect-specific SQL; a daily
    row is one series-day, so even large databases have few of them.
    """
    conn = op.get_bind()
    daily = sa.table(
        "rated_points_daily",
        sa.column("series_id", BIGID),
        sa.column("day", ck_types.UTCDateTime()),
        sa.column("time_key", sa.String()),
        *(sa.column(key, sa.String()) for key in TIME_KEYS),
        sa.column("qty", ck_types.ExactDecimal(42, 16)),
        sa.column("price", ck_types.ExactDecimal(44, 28)),
        sa.column("points", sa.Integer()),
    )
    series = sa.table("rated_series", sa.column("id", BIGID), sa.column("type", sa.String()))
    rows = conn.execute(
        sa.select(daily, series.c.type.label("series_type")).join(
            series, series.c.id == daily.c.series_id
        )
    )
    per_month: dict = {}
    per_type: dict = {}
    for row in rows:
        month = row.day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        _add(per_month, (row.series_id, month), row, {"series_id": row.series_id, "month": month})
        extra = {"day": row.day, "type": row.series_type, "time_key": row.time_key}
        extra.update({key: getattr(row, key) for key in TIME_KEYS})
        _add(per_type, (row.day, row.series_type, row.time_key), row, extra)
    for table, sums in ((monthly, per_month), (types, per_type)):
        values = [sums[key] for key in sorted(sums)]
        for start in range(0, len(values), CHUNK):
            conn.execute(table.insert(), values[start : start + CHUNK])


def downgrade() -> None:
    # Tables only: dropping a table drops its indexes (an index backing a
    # foreign key cannot be dropped first on MariaDB).
    op.drop_table("rated_types_daily")
    op.drop_table("rated_points_monthly")
