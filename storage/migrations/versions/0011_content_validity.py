"""awareness messages: the days they are true on (valid_from, valid_until)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("awareness_messages") as batch:
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("awareness_messages") as batch:
        batch.drop_column("valid_until")
        batch.drop_column("valid_from")
