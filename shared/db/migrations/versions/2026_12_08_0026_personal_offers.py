"""Personal offers: each member's boosted item under a "personal" promotion, and the campaign that issues them

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db.types import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "personal_offers",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("promotion_id", PK, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("multiplier", sa.Integer(), nullable=False),
        sa.Column("extra_percent", sa.Integer(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("valid_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("purchase_id", sa.Uuid(), nullable=True),
        sa.Column("receipts", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_personal_offers_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_personal_offers_promotion_id_promotions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_offers")),
        sa.UniqueConstraint("member_id", "promotion_id", name="uq_personal_offers_member_promotion"),
    )
    op.create_index("ix_personal_offers_promotion_campaign", "personal_offers", ["promotion_id", "campaign_id"])
    with op.batch_alter_table("promotions") as batch:
        batch.add_column(sa.Column("offer_days", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("promotions") as batch:  # the model writes it; the default only filled old rows
        batch.alter_column("offer_days", server_default=None)
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("promotion_id", PK, nullable=True))
        batch.create_foreign_key(op.f("fk_campaigns_promotion_id_promotions"), "promotions", ["promotion_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(op.f("fk_campaigns_promotion_id_promotions"), type_="foreignkey")
        batch.drop_column("promotion_id")
    with op.batch_alter_table("promotions") as batch:
        batch.drop_column("offer_days")
    op.drop_index("ix_personal_offers_promotion_campaign", table_name="personal_offers")
    op.drop_table("personal_offers")
