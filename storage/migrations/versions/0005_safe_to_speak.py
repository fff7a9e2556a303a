"""safe to speak: young people, safeguarding lead and queue, consent questions

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-25 21:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(
            sa.Column("young_people", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("safeguarding_lead_channel", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("safeguarding_lead_enc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("safeguarding_words", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("help_contacts", sa.Text(), nullable=True))
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("consent_question", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("age_band", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("quotes_asked_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("responses") as batch:
        batch.add_column(
            sa.Column("safeguarding", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "safeguarding_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("inbound_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("categories", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"],
            name=op.f("fk_safeguarding_alerts_community_id_communities"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"],
            name=op.f("fk_safeguarding_alerts_resident_id_residents"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"], ["responses.id"],
            name=op.f("fk_safeguarding_alerts_response_id_responses"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_messages.id"],
            name=op.f("fk_safeguarding_alerts_inbound_id_inbound_messages"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safeguarding_alerts")),
    )
    for column in ("community_id", "resident_id", "response_id", "inbound_id"):
        op.create_index(
            op.f(f"ix_safeguarding_alerts_{column}"), "safeguarding_alerts", [column], unique=False
        )


def downgrade() -> None:
    for column in ("community_id", "resident_id", "response_id", "inbound_id"):
        op.drop_index(op.f(f"ix_safeguarding_alerts_{column}"), table_name="safeguarding_alerts")
    op.drop_table("safeguarding_alerts")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("safeguarding")
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("quotes_asked_at")
        batch.drop_column("age_band")
        batch.drop_column("consent_question")
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("help_contacts")
        batch.drop_column("safeguarding_words")
        batch.drop_column("safeguarding_lead_enc")
        batch.drop_column("safeguarding_lead_channel")
        batch.drop_column("young_people")
