"""Coalition partners: partners, agreements, settlements; stores, API keys and staff bound to a partner

Revision ID: 0025
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db.types import UTCDateTime

revision = "0025"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("code", name=op.f("uq_partners_code")),
    )
    op.create_table(
        "partner_agreements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issue_price", sa.Integer(), nullable=False),
        sa.Column("redeem_price", sa.Integer(), nullable=False),
        sa.Column("earn_percent", sa.Integer(), nullable=True),
        sa.Column("valid_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_agreements_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_agreements")),
    )
    op.create_index("ix_partner_agreements_partner_valid", "partner_agreements", ["partner_id", "valid_from"])
    op.create_table(
        "settlement_periods",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(254), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_settlement_periods")),
    )
    op.create_table(
        "settlement_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("origin", sa.String(7), nullable=True),
        sa.Column("partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("agreement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("issued", sa.BigInteger(), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.Column("expired", sa.BigInteger(), nullable=False),
        sa.Column("reversed", sa.BigInteger(), nullable=False),
        sa.Column("restored", sa.BigInteger(), nullable=False),
        sa.Column("other", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period"], ["settlement_periods.period"], name=op.f("fk_settlement_lines_period_settlement_periods")
        ),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], name=op.f("fk_settlement_lines_partner_id_partners")),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["partner_agreements.id"],
            name=op.f("fk_settlement_lines_agreement_id_partner_agreements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_lines")),
    )
    op.create_index("ix_settlement_lines_period", "settlement_lines", ["period"])
    op.create_index("ix_settlement_lines_origin", "settlement_lines", ["origin"])
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.create_foreign_key(op.f("fk_stores_partner_id_partners"), "partners", ["partner_id"], ["id"])
        batch.create_index("ix_stores_partner_id", ["partner_id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.create_foreign_key(op.f("fk_api_keys_partner_id_partners"), "partners", ["partner_id"], ["id"])
    with op.batch_alter_table("staff_accounts") as batch:
        batch.add_column(sa.Column("partner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.create_foreign_key(op.f("fk_staff_accounts_partner_id_partners"), "partners", ["partner_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("staff_accounts") as batch:
        batch.drop_constraint(op.f("fk_staff_accounts_partner_id_partners"), type_="foreignkey")
        batch.drop_column("partner_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("fk_api_keys_partner_id_partners"), type_="foreignkey")
        batch.drop_column("partner_id")
    with op.batch_alter_table("stores") as batch:
        batch.drop_index("ix_stores_partner_id")
        batch.drop_constraint(op.f("fk_stores_partner_id_partners"), type_="foreignkey")
        batch.drop_column("partner_id")
    op.drop_index("ix_settlement_lines_origin", table_name="settlement_lines")
    op.drop_index("ix_settlement_lines_period", table_name="settlement_lines")
    op.drop_table("settlement_lines")
    op.drop_table("settlement_periods")
    op.drop_index("ix_partner_agreements_partner_valid", table_name="partner_agreements")
    op.drop_table("partner_agreements")
    op.drop_table("partners")
