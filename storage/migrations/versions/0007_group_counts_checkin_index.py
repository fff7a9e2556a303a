"""group counts for nudge ranking, and an index of residents owed a check-in

Revision ID: 0007
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None

CHECKIN_DUE_WHERE = (
    "last_checkin_at IS NULL OR last_checkin_at < coalesce(last_heard_at, joined_at)"
)


def upgrade() -> None:
    op.create_table(
        "group_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("choice", sa.String(length=64), nullable=True),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("heard", sa.Integer(), nullable=False),
        sa.Column("counted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_group_counts_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["profile_questions.id"],
            name=op.f("fk_group_counts_question_id_profile_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_counts")),
        sa.UniqueConstraint(
            "community_id", "question_id", "choice", name=op.f("uq_group_counts_community_id")
        ),
    )
    op.create_index(
        op.f("ix_group_counts_question_id"), "group_counts", ["question_id"], unique=False
    )
    op.create_index(
        "ix_residents_checkin_due",
        "residents",
        ["community_id", "status", sa.text("coalesce(last_heard_at, joined_at)")],
        unique=False,
        postgresql_where=sa.text(CHECKIN_DUE_WHERE),
        sqlite_where=sa.text(CHECKIN_DUE_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_residents_checkin_due", table_name="residents")
    op.drop_index(op.f("ix_group_counts_question_id"), table_name="group_counts")
    op.drop_table("group_counts")
