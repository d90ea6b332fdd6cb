"""google wallet notices

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallet_google_notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("sent_at", shared.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_google_notices")),
    )
    op.create_index(op.f("ix_wallet_google_notices_member_id"), "wallet_google_notices", ["member_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_wallet_google_notices_member_id"), table_name="wallet_google_notices")
    op.drop_table("wallet_google_notices")
