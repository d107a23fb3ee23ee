"""scope reset requests

Adds ``scope_reset_requests``: PUT /v2/scope records a reset there and a
processor applies it under the scope lock.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from cloudkitty.db import types as ck_types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scope_reset_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identifier", sa.String(length=256), nullable=False),
        sa.Column("scope_key", sa.String(length=40), nullable=True),
        sa.Column("fetcher", sa.String(length=40), nullable=True),
        sa.Column("collector", sa.String(length=40), nullable=True),
        sa.Column("reset_timestamp", ck_types.UTCDateTime(), nullable=False),
        sa.Column("created_at", ck_types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("done_at", ck_types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scope_reset_requests")),
    )
    op.create_index(
        op.f("ix_scope_reset_requests_done_at"),
        "scope_reset_requests",
        ["done_at"],
        unique=False,
    )


def downgrade() -> None:
    # Dropping the table drops its index.
    op.drop_table("scope_reset_requests")
