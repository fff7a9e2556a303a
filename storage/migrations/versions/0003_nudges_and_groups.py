"""nudges, check-ins and self-described groups

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checkin_after_days", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(
            sa.Column("nudge_gap_hours", sa.Integer(), server_default="24", nullable=False)
        )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_nudged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_checkin_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignments_campaign_status_assigned",
            ["campaign_id", "status", "assigned_at"],
            unique=False,
        )
    op.create_table(
        "profile_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_profile_questions_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_questions")),
        sa.UniqueConstraint("community_id", "key", name=op.f("uq_profile_questions_community_id")),
    )
    op.create_table(
        "profile_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=64), nullable=True),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["profile_questions.id"],
            name=op.f("fk_profile_answers_question_id_profile_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_profile_answers_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_answers")),
        sa.UniqueConstraint(
            "resident_id", "question_id", name=op.f("uq_profile_answers_resident_id")
        ),
    )
    with op.batch_alter_table("profile_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_profile_answers_question_id"), ["question_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("profile_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_answers_question_id"))
    op.drop_table("profile_answers")
    op.drop_table("profile_questions")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_campaign_status_assigned")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("last_checkin_at")
        batch_op.drop_column("last_nudged_at")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("nudge_gap_hours")
        batch_op.drop_column("checkin_after_days")
