"""rollup tables leave room for in-place updates (PostgreSQL)

Every processor push adds its sums to one daily and one monthly rollup row
per series: the same rows are updated every period (24 times a day, ~720
times a month). On full pages PostgreSQL writes each new row version to
another page and updates every index of the table; with free room on the
page it updates in place (a HOT update: no index write). Fill factor 80:
measured over 24 hourly pushes of 24,000 series, the two rollup upserts
take 0.35 -> 0.16 s of server CPU per push, for 25% more pages.

Applies to the pages written from now on; ``VACUUM FULL`` repacks the
existing ones if wanted. Other backends have no such setting: no-op.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 01:00:00.000000
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("rated_points_daily", "rated_points_monthly", "rated_types_daily")
FILLFACTOR = 80


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
