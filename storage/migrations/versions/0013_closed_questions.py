"""Closed questions and branching: a prompt's choices or scale and where each answer leads;
the matched choice beside a resident's verbatim words; unmatched answers counted per prompt

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prompts") as batch:
        batch.add_column(sa.Column("form", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("branches", sa.JSON(), nullable=True))
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("choice", sa.String(200), nullable=True))
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(
            sa.Column("unmatched_answers", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("unmatched_answers")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("choice")
    with op.batch_alter_table("prompts") as batch:
        batch.drop_column("branches")
        batch.drop_column("form")
