"""login_codes: the cabinet's one-time login codes (hashed) and their counters

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", shared.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_codes")),
    )
    op.create_index("ix_login_codes_phone_created", "login_codes", ["phone", "created_at"])
    op.create_index("ix_login_codes_ip_created", "login_codes", ["ip", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_login_codes_ip_created", table_name="login_codes")
    op.drop_index("ix_login_codes_phone_created", table_name="login_codes")
    op.drop_table("login_codes")
