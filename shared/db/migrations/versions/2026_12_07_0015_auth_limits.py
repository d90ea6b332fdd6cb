"""Staff session generation, shared rate-limit counters, API key last use

staff_accounts.session_generation: signing out, a password or role change and a deactivation move it,
which ends every copy of that person's console session. rate_limits: one row per counter key (sign-in
failures, code guesses, PassKit log posts) shared by every process; expired rows are swept.
api_keys.last_used_at: written at most every few minutes per key, shown by `loyalty apikey list`.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_accounts") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("resets_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )
    op.create_index("ix_rate_limits_resets_at", "rate_limits", ["resets_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limits_resets_at", table_name="rate_limits")
    op.drop_table("rate_limits")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
    with op.batch_alter_table("staff_accounts") as batch:
        batch.drop_column("session_generation")
