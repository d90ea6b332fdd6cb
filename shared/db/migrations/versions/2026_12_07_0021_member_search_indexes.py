"""Indexes for support's member search at millions of members: e-mail, and last-name prefix

Without them every search by e-mail or by the start of a last name (shared/support.find_members) reads
the whole members table: 1.9 s (e-mail) and 1.3 s (last name) per search at 10 million members, 10 ms
and 3 ms with them (bench/scale.py's database, docs/scaling.md).
On PostgreSQL the last-name index uses varchar_pattern_ops so that LIKE 'prefix%' can use it whatever
the database's collation. Building them locks writes to members while it runs (12.6 s at
10 million members on 2 shared cores).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_email", "members", ["email"])
    op.create_index(
        "ix_members_last_name", "members", ["last_name"], postgresql_ops={"last_name": "varchar_pattern_ops"}
    )


def downgrade() -> None:
    op.drop_index("ix_members_last_name", table_name="members")
    op.drop_index("ix_members_email", table_name="members")
