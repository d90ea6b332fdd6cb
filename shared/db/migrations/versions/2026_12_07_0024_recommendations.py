"""Recommendations: basket associations and each member's recommended items

Revision ID: 0024
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db.types import UTCDateTime

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recommend_associations",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("antecedent", sa.String(64), nullable=False),
        sa.Column("consequent", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("pair_baskets", sa.BigInteger(), nullable=False),
        sa.Column("antecedent_baskets", sa.BigInteger(), nullable=False),
        sa.Column("consequent_baskets", sa.BigInteger(), nullable=False),
        sa.Column("baskets", sa.BigInteger(), nullable=False),
        sa.Column("support", sa.Double(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("lift", sa.Double(), nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "antecedent", "consequent", name=op.f("pk_recommend_associations")),
    )
    op.create_table(
        "member_recommendations",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_recommendations_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "kind", "item", name=op.f("pk_member_recommendations")),
    )
    op.create_index("ix_member_recommendations_kind_item", "member_recommendations", ["kind", "item"])


def downgrade() -> None:
    op.drop_index("ix_member_recommendations_kind_item", table_name="member_recommendations")
    op.drop_table("member_recommendations")
    op.drop_table("recommend_associations")
