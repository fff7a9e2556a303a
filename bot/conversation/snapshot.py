"""What the engine needs to know to decide one message: read by a store, never by the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.conversation.choices import QuestionForm

# A prompt's text: one string, or texts by language code.
Texts = dict[str, Any] | str | None


@dataclass(frozen=True)
class CommunityView:
    """A community as the conversation sees it."""

    id: int
    slug: str
    name: str
    keyword: str = ""
    young_people: bool = False
    safeguarding_words: tuple[str, ...] = ()
    help_contacts: str | None = None
    results_published: bool = False


@dataclass(frozen=True)
class PromptView:
    """A campaign prompt: assigned to the resident (assignment_id) or next to be."""

    prompt_id: int
    campaign_id: int
    text: Texts
    campaign_language: str
    thanks: Texts = None
    assignment_id: int | None = None
    # Its campaign send is still waiting in the outbox: the resident has not seen it.
    unsent: bool = False
    key: str = ""
    position: int = 0
    # A closed question's choices or scale (None: open), and where its answers lead.
    form: QuestionForm | None = None
    branches: dict[str, str] | None = None
    # Replies to it so far that matched none of its choices.
    unmatched: int = 0
    # Passed over by an earlier branch; a later branch may still lead back to it.
    skipped: bool = False


@dataclass(frozen=True)
class ProfileQuestionView:
    """A self-described group question: its words and choices."""

    id: int
    text: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class ResidentView:
    """One resident record of the contact, with what their next message may touch."""

    id: int
    community: CommunityView
    status: str
    language: str | None = None
    consent_question: str | None = None
    age_band: str | None = None
    delete_requested_at: datetime | None = None
    quotes_asked_at: datetime | None = None
    opted_out_at: datetime | None = None
    joined_at: datetime | None = None
    pending: PromptView | None = None
    next_prompt: PromptView | None = None
    stalled: PromptView | None = None
    waiting_profile: ProfileQuestionView | None = None
    unasked_profile: tuple[ProfileQuestionView, ...] = ()
    # Read only when the prompt being answered branches: the rest of its campaign not yet asked
    # (in order), and the first prompt of the community's other campaigns, for a branch to end.
    campaign_rest: tuple[PromptView, ...] = ()
    after_campaign: PromptView | None = None


@dataclass(frozen=True)
class Limits:
    """What one contact or a flood can cost: replies per window, and alerts to the lead."""

    replies: int
    window: timedelta
    # Messages to the safeguarding lead per community per hour; past it, one digest.
    lead_alerts_per_hour: int = 10
    # Where residents' links point (PUBLIC_BASE_URL); None: send no link.
    public_base_url: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """Everything decide() reads: the contact's record, the community a message names, the time."""

    now: datetime
    resident: ResidentView | None = None
    join_community: CommunityView | None = None
    # The contact's record in join_community, when they have one.
    join_resident: ResidentView | None = None
    # For a stranger: whether any community takes messages yet.
    any_community: bool = True
    # Messages from this contact within the reply limit's window, and the limit (None: none).
    recent_messages: int = 0
    reply_limit: int | None = None
    # From Limits: the base of the results page's link a finished campaign's thanks ends with.
    public_base_url: str | None = None
