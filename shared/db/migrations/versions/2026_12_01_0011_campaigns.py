"""campaigns: variants, per-member assignment (incl. control group), trigger chains and progress

Revision ID: 0011
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import shared.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = shared.db.types.UTCDateTime(timezone=True)
JSON = shared.db.types.JSONType


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("segment_id", BIG_ID, nullable=False),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("control_percent", sa.Integer(), nullable=False),
        sa.Column("attribution_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", WHEN, nullable=True),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("audience_count", sa.BigInteger(), nullable=False),
        sa.Column("expanded_count", sa.BigInteger(), nullable=False),
        sa.Column("cursor", sa.Uuid(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], name=op.f("fk_campaigns_segment_id_segments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "campaign_variants",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BIG_ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("templates", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            ondelete="CASCADE",
            name=op.f("fk_campaign_variants_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_variants")),
        sa.UniqueConstraint("campaign_id", "code", name="uq_campaign_variants_campaign_code"),
    )
    op.create_table(
        "campaign_members",
        sa.Column("campaign_id", BIG_ID, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("variant", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            ondelete="CASCADE",
            name=op.f("fk_campaign_members_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", "member_id", name=op.f("pk_campaign_members")),
    )
    op.create_index("ix_campaign_members_campaign_variant", "campaign_members", ["campaign_id", "variant"])
    op.create_table(
        "trigger_chains",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("no_purchase_days", sa.Integer(), nullable=False),
        sa.Column("segment_id", BIG_ID, nullable=True),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], name=op.f("fk_trigger_chains_segment_id_segments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_chains")),
    )
    op.create_table(
        "chain_progress",
        sa.Column("chain_id", BIG_ID, nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entered_at", WHEN, nullable=False),
        sa.Column("next_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["trigger_chains.id"],
            ondelete="CASCADE",
            name=op.f("fk_chain_progress_chain_id_trigger_chains"),
        ),
        sa.PrimaryKeyConstraint("chain_id", "member_id", name=op.f("pk_chain_progress")),
    )
    op.create_index("ix_chain_progress_due", "chain_progress", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_chain_progress_due", table_name="chain_progress")
    op.drop_table("chain_progress")
    op.drop_table("trigger_chains")
    op.drop_index("ix_campaign_members_campaign_variant", table_name="campaign_members")
    op.drop_table("campaign_members")
    op.drop_table("campaign_variants")
    op.drop_table("campaigns")
