"""rate_counters.not_before: a growing wait instead of a lock-out

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rate_counters") as batch:
        batch.add_column(sa.Column("not_before", sa.DateTime(), nullable=True))
    # Probed tip codes were kept in clear ("code:XXXXXXX"); they are keyed now, and the
    # old rows only counted the last two days: dropped rather than carried over.
    op.execute("DELETE FROM rate_counters WHERE subject LIKE 'code:%'")


def downgrade() -> None:
    with op.batch_alter_table("rate_counters") as batch:
        batch.drop_column("not_before")
