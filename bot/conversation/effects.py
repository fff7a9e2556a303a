"""What the engine decided for one message: effects a store applies in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A message back to the sender, in order; recorded in the outbox."""

    text: str
    kind: str = "reply"
    buttons: tuple[str, ...] = ()
    campaign_id: int | None = None
    prompt_id: int | None = None
    # False for replies to nobody we keep (a stranger, an erased contact).
    to_resident: bool = True


@dataclass(frozen=True)
class CreateResident:
    """A new contact in a community, invited (not yet joined), with these first values."""

    community_id: int
    community_slug: str
    language: str | None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateResident:
    """Columns of the resident record to set."""

    values: dict[str, Any]


@dataclass(frozen=True)
class RecordConsent:
    """The resident agreed to these purposes after seeing exactly `wording`."""

    purposes: tuple[str, ...]
    wording: str


@dataclass(frozen=True)
class OptOut:
    """Stop: the resident is opted out and every consent withdrawn."""


@dataclass(frozen=True)
class StoreResponse:
    """The resident's words, verbatim; answering `assignment_id` when it is set."""

    text: str
    language: str | None
    assignment_id: int | None = None
    campaign_id: int | None = None
    prompt_id: int | None = None
    # A closed question's matched answer (None: open, or matched nothing).
    choice: str | None = None
    # False: it matched no choice and the question is asked once more, still pending.
    settles: bool = True


@dataclass(frozen=True)
class AssignPrompt:
    """Put a prompt to the resident: it becomes their pending prompt, asked in `language`."""

    prompt_id: int
    campaign_id: int
    language: str | None = None
    # The prompt was passed over by a branch before; a later branch leads back to it.
    reopen: bool = False


@dataclass(frozen=True)
class SkipPrompts:
    """An answer branched past these prompts of a campaign: they are never asked."""

    campaign_id: int
    prompt_ids: tuple[int, ...]


@dataclass(frozen=True)
class WithdrawUnsentPrompt:
    """The prompt goes in this reply: its queued campaign send must not follow."""

    prompt_id: int


@dataclass(frozen=True)
class AskProfile:
    """A self-described group question is asked now."""

    question_id: int


@dataclass(frozen=True)
class AnswerProfile:
    """The waiting group question is answered (choice None: skipped)."""

    question_id: int
    choice: str | None


@dataclass(frozen=True)
class RaiseAlert:
    """Safeguarding: the message goes to the lead's queue, and the lead is told."""

    categories: tuple[str, ...]


@dataclass(frozen=True)
class AskQuotes:
    """Queue the question about being quoted, after the replies."""

    text: str
    buttons: tuple[str, ...]


@dataclass(frozen=True)
class Erase:
    """Erase everything of this contact; only an empty tombstone of the message stays."""


Effect = (
    Reply
    | CreateResident
    | UpdateResident
    | RecordConsent
    | OptOut
    | StoreResponse
    | AssignPrompt
    | SkipPrompts
    | WithdrawUnsentPrompt
    | AskProfile
    | AnswerProfile
    | RaiseAlert
    | AskQuotes
    | Erase
)


@dataclass
class Decision:
    """The effects of one message, in the order they are applied, and whose they are."""

    resident_id: int | None = None
    community_id: int | None = None
    received_at: datetime | None = None
    effects: list[Effect] = field(default_factory=list)
    # Replies left out because the contact passed the reply limit.
    replies_withheld: int = 0

    @property
    def replies(self) -> list[Reply]:
        return [effect for effect in self.effects if isinstance(effect, Reply)]

    @property
    def erased(self) -> bool:
        return any(isinstance(effect, Erase) for effect in self.effects)

    def has(self, kind: type) -> bool:
        return any(isinstance(effect, kind) for effect in self.effects)
