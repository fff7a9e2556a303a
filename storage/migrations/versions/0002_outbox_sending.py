"""outbox sending: claims, campaign fan-out marker, WhatsApp template

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_outbound_messages_due", ["status", "next_attempt_at"], unique=False)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fanned_out_at", sa.DateTime(), nullable=True))
    # Campaigns already running reached residents the old way (when they texted in): do not
    # message every resident of them now. Scheduled ones fan out when they start.
    op.execute("UPDATE campaigns SET fanned_out_at = starts_at WHERE status = 'active'")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("whatsapp_content_sid", sa.String(length=64), nullable=True))
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index("ix_residents_community_status", ["community_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_community_status")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("whatsapp_content_sid")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("fanned_out_at")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_messages_due")
        batch_op.drop_column("claimed_at")
