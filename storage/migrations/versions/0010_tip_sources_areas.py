"""tips.source, tip boxes and boards, box openings, area officers, report remarks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tips") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="bot")
        )
    op.create_table(
        "tip_points",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("box_since", sa.Date(), nullable=True),
        sa.Column("board_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["residential_groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id"),
    )
    op.create_table(
        "box_openings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("tips_found", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["residential_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recorded_by"], ["officers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_box_openings_group_id", "box_openings", ["group_id"])
    op.create_table(
        "area_officers",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("deputy_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["residential_groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["officers.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["deputy_id"], ["officers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("group_id"),
    )
    op.create_table(
        "report_remarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ward_id"], ["wards.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["written_by"], ["officers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ward_id", "period", name="uq_report_remarks_period"),
    )


def downgrade() -> None:
    op.drop_table("report_remarks")
    op.drop_table("area_officers")
    op.drop_index("ix_box_openings_group_id", table_name="box_openings")
    op.drop_table("box_openings")
    op.drop_table("tip_points")
    with op.batch_alter_table("tips") as batch:
        batch.drop_column("source")
