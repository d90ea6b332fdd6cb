"""promotions: mechanics, promo codes, gift certificates, bonus grants

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = shared.db.types.JSONType


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, shared.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("combinable", sa.Boolean(), nullable=False),
        sa.Column("code_only", sa.Boolean(), nullable=False),
        _time("starts_at", True),
        _time("ends_at", True),
        *(
            sa.Column(name, JSON, nullable=False)
            for name in ("store_ids", "tier_codes", "segment_ids", "skus", "categories", "with_skus", "with_categories")
        ),
        sa.Column("min_total", sa.BigInteger(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("multiplier", sa.Integer(), nullable=False),
        sa.Column("extra_percent", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("max_uses", sa.BigInteger(), nullable=True),
        sa.Column("max_uses_per_member", sa.Integer(), nullable=True),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    op.create_index("ix_promotions_active_ends_at", "promotions", ["active", "ends_at"])
    op.create_table(
        "promotion_uses",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("promotion_id", PK, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("purchase_id", sa.Uuid(), nullable=False),
        _time("created_at"),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_promotion_uses_promotion_id_promotions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_promotion_uses_purchase_id_purchases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_uses")),
        sa.UniqueConstraint("promotion_id", "purchase_id", name="uq_promotion_uses_promotion_purchase"),
    )
    op.create_index("ix_promotion_uses_promotion_member", "promotion_uses", ["promotion_id", "member_id"])
    op.create_table(
        "promo_code_batches",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("promotion_id", PK, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total_limit", sa.BigInteger(), nullable=True),
        sa.Column("per_member_limit", sa.Integer(), nullable=True),
        _time("created_at"),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_promo_code_batches_promotion_id_promotions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_code_batches")),
    )
    op.create_table(
        "promo_codes",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("batch_id", PK, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.Column("max_uses", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["promo_code_batches.id"],
            name=op.f("fk_promo_codes_batch_id_promo_code_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_promo_codes_code")),
    )
    op.create_index("ix_promo_codes_batch_id", "promo_codes", ["batch_id"])
    op.create_table(
        "promo_code_uses",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("code_id", PK, nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("purchase_id", sa.Uuid(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        _time("created_at"),
        sa.ForeignKeyConstraint(
            ["code_id"], ["promo_codes.id"], name=op.f("fk_promo_code_uses_code_id_promo_codes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_promo_code_uses_purchase_id_purchases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_code_uses")),
        sa.UniqueConstraint("code_id", "purchase_id", name="uq_promo_code_uses_code_purchase"),
    )
    op.create_index("ix_promo_code_uses_batch_member", "promo_code_uses", ["batch_id", "member_id"])
    op.create_index("ix_promo_code_uses_purchase_id", "promo_code_uses", ["purchase_id"])
    op.create_table(
        "gift_certificates",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("initial", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("expires_at", True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_gift_certificates_number")),
    )
    op.create_table(
        "certificate_operations",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("certificate_id", PK, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.Uuid(), nullable=True),
        sa.Column("refund_id", sa.String(length=64), nullable=True),
        _time("created_at"),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["gift_certificates.id"],
            name=op.f("fk_certificate_operations_certificate_id_gift_certificates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_operations")),
    )
    op.create_index("ix_certificate_operations_certificate_id", "certificate_operations", ["certificate_id"])
    op.create_index("ix_certificate_operations_purchase_id", "certificate_operations", ["purchase_id"])
    op.create_table(
        "bonus_grants",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        _time("expires_at", True),
        sa.Column("expires_days", sa.Integer(), nullable=True),
        sa.Column("segment_id", sa.BigInteger(), nullable=True),
        sa.Column("members", JSON, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("granted", sa.BigInteger(), nullable=False),
        sa.Column("skipped", JSON, nullable=False),
        _time("created_at"),
        _time("finished_at", True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bonus_grants")),
    )
    op.create_table(
        "bonus_grant_members",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("grant_id", PK, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        _time("created_at"),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["bonus_grants.id"],
            name=op.f("fk_bonus_grant_members_grant_id_bonus_grants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_bonus_grant_members_member_id_members"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bonus_grant_members")),
        sa.UniqueConstraint("grant_id", "member_id", name="uq_bonus_grant_members_grant_member"),
    )
    op.create_index("ix_bonus_grant_members_member_id", "bonus_grant_members", ["member_id"])


def downgrade() -> None:
    op.drop_table("bonus_grant_members")
    op.drop_table("bonus_grants")
    op.drop_table("certificate_operations")
    op.drop_table("gift_certificates")
    op.drop_table("promo_code_uses")
    op.drop_table("promo_codes")
    op.drop_table("promo_code_batches")
    op.drop_table("promotion_uses")
    op.drop_table("promotions")
