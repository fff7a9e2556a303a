"""the outbox's status index only for rows a job looks for: sending and held

ix_outbound_messages_due (status, next_attempt_at) took an entry for every row a launch queued
and every row sent, but only two lookups use a status alone: rows left 'sending' by a dead
sender (by claimed_at) and WhatsApp rows 'held' for their resident. The claim has its own
partial index. A launch of 100,000 now writes four index entries per outbox row instead of five.

Revision ID: 0008
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

WAITING = "status IN ('sending', 'held')"


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_messages_due")
        batch_op.create_index(
            "ix_outbound_messages_waiting",
            ["status", "claimed_at"],
            unique=False,
            sqlite_where=sa.text(WAITING),
            postgresql_where=sa.text(WAITING),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_messages_waiting")
        batch_op.create_index(
            "ix_outbound_messages_due", ["status", "next_attempt_at"], unique=False
        )
