"""lighter launch rows: no reporting foreign keys on assignments and the outbox

A launch writes one assignment and one outbox row per resident. PostgreSQL checked five parent
rows (campaign, prompt, community) for each pair, and two outbox indexes took an entry for every
row although only rows with a value are ever looked up. Campaigns, prompts and communities are
never deleted by the application, so the ON DELETE actions of these keys never ran; the keys to
residents (erasure) and inbound messages (retention) stay.

Revision ID: 0006
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None

REPORTING_KEYS = {
    "assignments": [
        ("fk_assignments_campaign_id_campaigns", "campaign_id", "campaigns", "CASCADE"),
        ("fk_assignments_prompt_id_prompts", "prompt_id", "prompts", "CASCADE"),
    ],
    "outbound_messages": [
        ("fk_outbound_messages_campaign_id_campaigns", "campaign_id", "campaigns", "SET NULL"),
        (
            "fk_outbound_messages_community_id_communities",
            "community_id",
            "communities",
            "CASCADE",
        ),
        ("fk_outbound_messages_prompt_id_prompts", "prompt_id", "prompts", "SET NULL"),
    ],
}
PARTIAL = ("provider_id", "in_reply_to_id")


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        for name, *_ in REPORTING_KEYS["assignments"]:
            batch_op.drop_constraint(name, type_="foreignkey")
        # ix_assignments_campaign_status_assigned starts with campaign_id and serves its lookups.
        batch_op.drop_index("ix_assignments_campaign_id")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        for name, *_ in REPORTING_KEYS["outbound_messages"]:
            batch_op.drop_constraint(name, type_="foreignkey")
        for column in PARTIAL:
            batch_op.drop_index(f"ix_outbound_messages_{column}")
            batch_op.create_index(
                f"ix_outbound_messages_{column}",
                [column],
                unique=False,
                sqlite_where=sa.text(f"{column} IS NOT NULL"),
                postgresql_where=sa.text(f"{column} IS NOT NULL"),
            )
        # The sender's claim reads due rows in its order (next_attempt_at, id) instead of
        # sorting the whole queue for every batch.
        batch_op.create_index(
            "ix_outbound_messages_claim",
            ["next_attempt_at", "id"],
            unique=False,
            sqlite_where=sa.text("status IN ('queued', 'failed')"),
            postgresql_where=sa.text("status IN ('queued', 'failed')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_messages_claim")
        for column in PARTIAL:
            batch_op.drop_index(f"ix_outbound_messages_{column}")
            batch_op.create_index(f"ix_outbound_messages_{column}", [column], unique=False)
        for name, column, parent, ondelete in REPORTING_KEYS["outbound_messages"]:
            batch_op.create_foreign_key(name, parent, [column], ["id"], ondelete=ondelete)
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index("ix_assignments_campaign_id", ["campaign_id"], unique=False)
        for name, column, parent, ondelete in REPORTING_KEYS["assignments"]:
            batch_op.create_foreign_key(name, parent, [column], ["id"], ondelete=ondelete)
