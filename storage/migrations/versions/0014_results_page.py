"""the public results page: publish per community, "you said, we did" updates, approved quotes

Revision ID: 0014
Revises: 0013
"""

from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch: on SQLite a batch copies the table, and dropping the old one
    # would cascade to every resident and campaign through their foreign keys.
    op.add_column(
        "communities",
        sa.Column("results_published", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "communities",
        sa.Column("results_version", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "campaign_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_campaign_updates_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_updates_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_campaign_updates_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_updates")),
    )
    with op.batch_alter_table("campaign_updates") as batch:
        batch.create_index(batch.f("ix_campaign_updates_community_id"), ["community_id"])
        batch.create_index(batch.f("ix_campaign_updates_campaign_id"), ["campaign_id"])
    op.create_table(
        "approved_quotes",
        sa.Column(
            "response_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_approved_quotes_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"],
            ["users.id"],
            name=op.f("fk_approved_quotes_approved_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("response_id", name=op.f("pk_approved_quotes")),
    )
    with op.batch_alter_table("approved_quotes") as batch:
        batch.create_index(batch.f("ix_approved_quotes_campaign_id"), ["campaign_id"])


def downgrade() -> None:
    op.drop_table("approved_quotes")
    op.drop_table("campaign_updates")
    # Plain ALTER TABLE (SQLite 3.35+), for the same reason as above.
    op.execute("ALTER TABLE communities DROP COLUMN results_version")
    op.execute("ALTER TABLE communities DROP COLUMN results_published")
