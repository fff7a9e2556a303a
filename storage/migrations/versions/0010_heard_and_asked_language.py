"""heard and asked language: last_heard_at backfilled from responses; assignments.language

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

from storage.languages import asked_language


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

residents = sa.table(
    "residents", sa.column("id"), sa.column("language"), sa.column("last_heard_at")
)
responses = sa.table("responses", sa.column("resident_id"), sa.column("received_at"))
assignments = sa.table(
    "assignments", sa.column("resident_id"), sa.column("prompt_id"), sa.column("language")
)
prompts = sa.table(
    "prompts", sa.column("id"), sa.column("campaign_id"), sa.column("text", sa.JSON)
)
campaigns = sa.table("campaigns", sa.column("id"), sa.column("language"))


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
    _backfill_last_heard()
    _backfill_asked_language()


def _backfill_last_heard() -> None:
    """Residents with responses stored before last_heard_at was kept are heard all the same."""
    theirs = responses.c.resident_id == residents.c.id
    op.execute(
        residents.update()
        .where(residents.c.last_heard_at.is_(None), sa.exists().where(theirs))
        .values(
            last_heard_at=sa.select(sa.func.max(responses.c.received_at))
            .where(theirs)
            .scalar_subquery()
        )
    )


def _backfill_asked_language() -> None:
    """Each existing assignment gets the language pick_text chooses for its resident now."""
    bind = op.get_bind()
    pairs = bind.execute(
        sa.select(assignments.c.prompt_id, residents.c.language)
        .distinct()
        .join(residents, residents.c.id == assignments.c.resident_id)
        .where(assignments.c.language.is_(None))
    ).all()
    asked = {
        prompt_id: (texts, default)
        for prompt_id, texts, default in bind.execute(
            sa.select(prompts.c.id, prompts.c.text, campaigns.c.language).join(
                campaigns, campaigns.c.id == prompts.c.campaign_id
            )
        )
    }
    for prompt_id, resident_language in pairs:
        texts, default = asked.get(prompt_id, (None, None))
        chosen = asked_language(resident_language, texts, default)
        if chosen is None:
            continue
        same_language = (
            residents.c.language.is_(None)
            if resident_language is None
            else residents.c.language == resident_language
        )
        bind.execute(
            assignments.update()
            .where(
                assignments.c.language.is_(None),
                assignments.c.prompt_id == prompt_id,
                assignments.c.resident_id.in_(sa.select(residents.c.id).where(same_language)),
            )
            .values(language=chosen)
        )


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("language")
