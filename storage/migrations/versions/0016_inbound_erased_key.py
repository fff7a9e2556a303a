"""inbound_messages.erased_key: the keyed hash erasure keeps, written with the message

Revision ID: 0016
Revises: 0015
"""

from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows stored before stay NULL: the key needs the app's secret, so erasure makes theirs.
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("erased_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Not a copy of the table: on SQLite, dropping the old one would cascade to every response.
    with op.batch_alter_table("inbound_messages", recreate="never") as batch:
        batch.drop_column("erased_key")
