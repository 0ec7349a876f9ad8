"""tip intake

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_route", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_reply", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["channel", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_recipient"), ["recipient"], unique=False)

    op.create_table(
        "rate_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_counters")),
        sa.UniqueConstraint("subject", "kind", "hour", name="uq_rate_counters_subject_kind_hour"),
    )
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_counters_hour"), ["hour"], unique=False)

    op.create_table(
        "draft_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("sealed_data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_draft_files_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_files")),
    )
    with op.batch_alter_table("draft_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_draft_files_conversation_id"), ["conversation_id"], unique=False
        )

    op.create_table(
        "tip_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("sealed_data", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_tip_attachments_tip_id_tips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_attachments")),
    )
    with op.batch_alter_table("tip_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_attachments_tip_id"), ["tip_id"], unique=False)

    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority_hint", sa.Integer(), nullable=False, server_default="2")
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=24), nullable=True))
        batch_op.create_index(batch_op.f("ix_tips_closed_at"), ["closed_at"], unique=False)

    with op.batch_alter_table("wards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hotlines", sa.JSON(), nullable=False, server_default="[]"))

    with op.batch_alter_table("tip_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tip_events_reply_to_id_tip_events"),
            "tip_events",
            ["reply_to_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("tip_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tip_events_reply_to_id_tip_events"), type_="foreignkey"
        )
        batch_op.drop_column("reply_to_id")

    with op.batch_alter_table("wards", schema=None) as batch_op:
        batch_op.drop_column("hotlines")

    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tips_closed_at"))
        batch_op.drop_column("outcome")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("priority_hint")

    with op.batch_alter_table("tip_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_attachments_tip_id"))

    op.drop_table("tip_attachments")
    with op.batch_alter_table("draft_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draft_files_conversation_id"))

    op.drop_table("draft_files")
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_counters_hour"))

    op.drop_table("rate_counters")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_recipient"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
