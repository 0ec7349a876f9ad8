"""drops (sealed tips on their way to the mixer); tip and event times to the hour

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drops",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code_key", sa.String(64), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_payload", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_drops"),
    )
    op.create_index("ix_drops_due", "drops", ["due_at"])
    op.create_index("ix_drops_code_key", "drops", ["code_key"])
    # Times kept before this revision lose what is finer than the hour (tips, their
    # events) or the minute (officers' actions). Audit rows keep theirs: their MACs cover
    # them, and the chain must still verify.
    _floor("tips", ("created_at", "updated_at"), _hour)
    _floor(
        "tips", ("closed_at", "acknowledged_at", "ack_escalated_at", "close_escalated_at"), _minute
    )
    _floor("tip_events", ("created_at",), _hour)
    if op.get_bind().dialect.name == "postgresql":
        # Old row versions (an updated conversation, a mixed drop) stay in the relation
        # files until vacuum removes them, each with its transaction ids: vacuum these
        # tables after a few changes instead of after a fifth of the table has changed.
        for table in HURRIED:
            op.execute(
                f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = 0, "
                "autovacuum_vacuum_threshold = 20, autovacuum_vacuum_insert_threshold = 20, "
                "autovacuum_vacuum_cost_delay = 0)"
            )


HURRIED = (
    "conversations",
    "drops",
    "draft_files",
    "tips",
    "tip_events",
    "subscribers",
    "pledges",
    "quiz_answers",
    "rate_counters",
    "outbox",
)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _floor(table: str, columns: tuple[str, ...], floor) -> None:  # type: ignore[no-untyped-def]
    bind = op.get_bind()
    t = sa.table(table, sa.column("id"), *(sa.column(c, sa.DateTime()) for c in columns))
    for row in bind.execute(sa.select(t)).all():
        values = {c: floor(v) for c, v in zip(columns, row[1:], strict=True) if v is not None}
        if any(values[c] != v for c, v in zip(columns, row[1:], strict=True) if v is not None):
            bind.execute(sa.update(t).where(t.c.id == row[0]).values(**values))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in HURRIED:
            op.execute(
                f"ALTER TABLE {table} RESET (autovacuum_vacuum_scale_factor, "
                "autovacuum_vacuum_threshold, autovacuum_vacuum_insert_threshold, "
                "autovacuum_vacuum_cost_delay)"
            )
    op.drop_index("ix_drops_code_key", table_name="drops")
    op.drop_index("ix_drops_due", table_name="drops")
    op.drop_table("drops")
