"""police triage

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=True),
        sa.Column("tip_id", sa.Integer(), nullable=True),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("prev_mac", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_tip_id"), ["tip_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_ward_id"), ["ward_id"], unique=False)

    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ward_id"], ["wards.id"], name=op.f("fk_digests_ward_id_wards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("ward_id", "day", name="uq_digests_ward_day"),
    )
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_open", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("assigned_officer_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("ack_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("close_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("ack_escalated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("close_escalated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tips_assigned_officer_id_officers"),
            "officers",
            ["assigned_officer_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tips_merged_into_id_tips"),
            "tips",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_tips_open_queue",
            ["ward_id", "is_open", "priority", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_tips_ack_due", ["is_open", "ack_due_at"], unique=False)
        batch_op.create_index("ix_tips_close_due", ["is_open", "close_due_at"], unique=False)
    op.execute("UPDATE tips SET is_open = (status <> 'closed')")


def downgrade() -> None:
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.drop_index("ix_tips_close_due")
        batch_op.drop_index("ix_tips_ack_due")
        batch_op.drop_index("ix_tips_open_queue")
        batch_op.drop_constraint(batch_op.f("fk_tips_merged_into_id_tips"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_tips_assigned_officer_id_officers"), type_="foreignkey"
        )
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("close_escalated_at")
        batch_op.drop_column("ack_escalated_at")
        batch_op.drop_column("close_due_at")
        batch_op.drop_column("ack_due_at")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("assigned_officer_id")
        batch_op.drop_column("is_open")

    op.drop_table("digests")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_ward_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_tip_id"))

    op.drop_table("audit_log")
