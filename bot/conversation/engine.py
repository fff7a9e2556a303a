"""The conversation: join, consent, keywords, the pending prompt and its answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from bot import texts
from bot.conversation import profile, residents, safety
from bot.conversation.consent import record_join
from bot.messages import Inbound, Outbound
from bot.sending import outbox
from storage.crypto import Vault
from storage.languages import pick_text
from storage.models import (
    Assignment,
    Campaign,
    Community,
    Consent,
    Prompt,
    Resident,
    Response,
    utcnow,
)

STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "UNSTOP"})
JOIN_WORDS = frozenset({"YES", "JOIN"})
HELP_WORDS = frozenset({"HELP", "INFO"})
DELETE_WORDS = frozenset({"DELETE"})
CONFIRM_WORDS = frozenset({"CONFIRM"})
DELETE_WINDOW = timedelta(minutes=15)
# Channels where the provider confirms an opt-out itself (Twilio's Advanced Opt-Out for SMS).
PROVIDER_CONFIRMS_STOP = frozenset({"sms"})
CONSENT_PURPOSE = "questions"


@dataclass
class Turn:
    """What the engine decided for one inbound message."""

    replies: list[Outbound] = field(default_factory=list)
    resident_id: int | None = None
    community_id: int | None = None
    response_id: int | None = None
    erased: bool = False


@dataclass(frozen=True)
class Command:
    """A message read as a keyword: the word, and for Telegram's /start the payload."""

    word: str
    payload: str = ""


def read_command(text: str) -> Command:
    """Whole-message keyword match, any case; Telegram's '/word@bot payload' form too."""
    stripped = text.strip()
    if stripped.startswith("/"):
        head, _, payload = stripped[1:].partition(" ")
        head = head.split("@", 1)[0]
        return Command(head.upper(), payload.strip())
    return Command(stripped.upper())


def consent_version(wording: str) -> str:
    """A short fingerprint of the exact words a resident agreed to."""
    return "w-" + hashlib.sha256(wording.encode()).hexdigest()[:10]


class Engine:
    """Decides the replies to one inbound message and records what it learned."""

    def __init__(self, session: Session, vault: Vault) -> None:
        self.session = session
        self.vault = vault

    # -- entry point -------------------------------------------------------------------------

    def handle(self, inbound: Inbound) -> Turn:
        """Decide what to do with one message; the caller has already stored it."""
        command = read_command(inbound.text)
        address_hash = self.vault.address_hash(inbound.channel, inbound.address)
        turn = Turn()

        joining = self._community_for_join(inbound, command)
        if joining is not None:
            return self._join_request(inbound, joining, turn)

        resident = residents.choose_resident(self.session, address_hash, inbound.to)
        if resident is None:
            return self._stranger(inbound, command, turn)

        turn.resident_id = resident.id
        turn.community_id = resident.community_id
        residents.touch(resident, inbound.received_at)
        if inbound.language and inbound.channel == "telegram":
            resident.language = inbound.language
        return self._from_resident(inbound, command, resident, turn)

    # -- strangers and joining ---------------------------------------------------------------

    def _community_for_join(self, inbound: Inbound, command: Command) -> Community | None:
        if command.word == "START" and command.payload:
            return residents.find_community_by_keyword(self.session, command.payload)
        if inbound.text.strip() and not command.payload and " " not in inbound.text.strip():
            community = self.session.scalar(
                select(Community).where(Community.keyword == inbound.text.strip().upper())
            )
            return community
        return None

    def _stranger(self, inbound: Inbound, command: Command, turn: Turn) -> Turn:
        if command.word in STOP_WORDS and inbound.channel in PROVIDER_CONFIRMS_STOP:
            return turn
        keywords = self.session.scalars(select(Community.keyword).order_by(Community.keyword)).all()
        if not keywords:
            turn.replies.append(self._reply(inbound, texts.text("no_communities")))
            return turn
        if inbound.channel == "telegram":
            listed = ", ".join(f"/start {k.lower()}" for k in keywords[:8])
        else:
            listed = ", ".join(keywords[:8])
        turn.replies.append(self._reply(inbound, texts.text("who_are_you", keywords=listed)))
        return turn

    def _join_request(self, inbound: Inbound, community: Community, turn: Turn) -> Turn:
        resident, _ = residents.get_or_create(
            self.session, self.vault, community, inbound.channel, inbound.address, inbound.language
        )
        residents.touch(resident, inbound.received_at)
        turn.resident_id = resident.id
        turn.community_id = community.id
        asked = safety.join_question(self, inbound, community, resident, turn)
        if asked is not None:
            return asked
        if resident.status == "joined":
            turn.replies.append(
                self._reply(inbound, texts.text("welcome_again", name=community.name), resident)
            )
            return turn
        resident.status = "invited"
        turn.replies.append(
            self._reply(inbound, self.welcome_text(community), resident, buttons=("YES",))
        )
        return turn

    @staticmethod
    def welcome_text(community: Community) -> str:
        return texts.text("welcome", name=community.name)

    # -- known residents ---------------------------------------------------------------------

    def _from_resident(
        self, inbound: Inbound, command: Command, resident: Resident, turn: Turn
    ) -> Turn:
        community = resident.community
        word = command.word

        if word in STOP_WORDS:
            self._opt_out(resident)
            if inbound.channel not in PROVIDER_CONFIRMS_STOP:
                turn.replies.append(
                    self._reply(inbound, texts.text("stopped", name=community.name), resident)
                )
            return turn
        if word in DELETE_WORDS:
            resident.delete_requested_at = utcnow()
            turn.replies.append(
                self._reply(inbound, texts.text("delete_ask", name=community.name), resident)
            )
            return turn
        if word in CONFIRM_WORDS:
            requested = resident.delete_requested_at
            if requested is not None and utcnow() - requested <= DELETE_WINDOW:
                turn.erased = True
                turn.resident_id = None
                turn.replies.append(self._reply(inbound, texts.text("delete_done")))
                return turn
            if requested is not None or resident.status != "joined":
                turn.replies.append(
                    self._reply(inbound, texts.text("delete_nothing_pending"), resident)
                )
                return turn

        if resident.status in ("opted_out", "unreachable"):
            if (
                word in START_WORDS
                or word in JOIN_WORDS
                or (word == "START" and not command.payload)
            ):
                return self._opt_in(inbound, resident, turn, returning=True)
            # Opted out: keep what the provider delivered, but send nothing at all.
            return turn

        if word in HELP_WORDS:
            turn.replies.append(
                self._reply(inbound, texts.text("help", name=community.name), resident)
            )
            return turn

        answered = safety.answer_pending_question(self, inbound, command, resident, turn)
        if answered is not None:
            return answered

        if resident.status == "invited":
            if word in JOIN_WORDS or word in START_WORDS:
                return self._opt_in(inbound, resident, turn, returning=False)
            turn.replies.append(
                self._reply(
                    inbound,
                    texts.text("not_joined_yet", name=community.name),
                    resident,
                    buttons=("YES",),
                )
            )
            return turn

        if word in START_WORDS or (word in JOIN_WORDS and not self._pending(resident)):
            turn.replies.append(
                self._reply(inbound, texts.text("welcome_again", name=community.name), resident)
            )
            return turn
        if profile.take_answer(self.session, resident, inbound.text, inbound.received_at):
            return self._after_profile_answer(inbound, resident, turn)
        return self._words(inbound, resident, turn)

    def _opt_out(self, resident: Resident) -> None:
        resident.status = "opted_out"
        resident.opted_out_at = utcnow()
        for consent in self.session.scalars(
            select(Consent).where(
                Consent.resident_id == resident.id, Consent.withdrawn_at.is_(None)
            )
        ):
            consent.withdrawn_at = utcnow()

    def _opt_in(self, inbound: Inbound, resident: Resident, turn: Turn, *, returning: bool) -> Turn:
        community = resident.community
        record_join(self.session, resident, self.welcome_text(community), inbound)
        resident.status = "joined"
        resident.opted_out_at = None
        if resident.joined_at is None:
            resident.joined_at = inbound.received_at
        if not returning and self._asked_profile(inbound, resident, turn, first=True):
            return turn
        pending = self._pending(resident) or self.assign_next(resident)
        if pending is not None:
            # The prompt goes in this reply: a queued campaign send of it must not follow.
            outbox.withdraw_unsent_prompt(self.session, pending)
        if returning:
            intro = texts.text("restarted", name=community.name)
        elif pending is None:
            intro = texts.text("joined_no_prompt", name=community.name)
        else:
            intro = texts.text("joined", name=community.name)
        if pending is None:
            turn.replies.append(self._reply(inbound, intro, resident))
        else:
            turn.replies += self._introduced(intro, self._prompt_reply(inbound, resident, pending))
        return turn

    @staticmethod
    def _introduced(intro: str, prompt: Outbound) -> list[Outbound]:
        """The intro and the prompt in one message when that costs fewer SMS segments."""
        together = f"{intro} {prompt.text}"
        apart = texts.sms_segments(intro)[0] + texts.sms_segments(prompt.text)[0]
        if texts.sms_segments(together)[0] < apart:
            return [replace(prompt, text=together)]
        return [replace(prompt, text=intro, kind="reply", campaign_id=None, prompt_id=None), prompt]

    # -- self-described groups (issue 4) ------------------------------------------------------

    def _asked_profile(
        self, inbound: Inbound, resident: Resident, turn: Turn, *, first: bool
    ) -> bool:
        asked = profile.ask_next(self.session, resident, inbound.received_at)
        if asked is None:
            return False
        if first:
            intro = texts.text("joined_profile", name=resident.community.name)
            turn.replies.append(self._reply(inbound, intro, resident))
        turn.replies.append(self._reply(inbound, asked.text, resident, buttons=asked.buttons))
        return True

    def _after_profile_answer(self, inbound: Inbound, resident: Resident, turn: Turn) -> Turn:
        if self._asked_profile(inbound, resident, turn, first=False):
            return turn
        pending = self._pending(resident) or self.assign_next(resident)
        if pending is not None:
            outbox.withdraw_unsent_prompt(self.session, pending)
        if pending is None:
            turn.replies.append(
                self._reply(inbound, texts.text("profile_done_no_prompt"), resident)
            )
        else:
            prompt = self._prompt_reply(inbound, resident, pending)
            turn.replies += self._introduced(texts.text("profile_done"), prompt)
        return turn

    # -- answers -----------------------------------------------------------------------------

    def _words(self, inbound: Inbound, resident: Resident, turn: Turn) -> Turn:
        community = resident.community
        words = inbound.text
        if not words.strip():
            key = "media_ack" if inbound.media else "empty_ack"
            turn.replies.append(self._reply(inbound, texts.text(key), resident))
            return turn

        # A campaign prompt still waiting in the outbox has not been seen: these words are an
        # open response, and the prompt follows in the reply instead.
        pending = self._pending(resident)
        unseen = (
            pending if pending and outbox.withdraw_unsent_prompt(self.session, pending) else None
        )
        assignment = None if unseen else (pending or self._latest_stalled(resident))
        response = Response(
            community_id=community.id,
            resident_id=resident.id,
            channel=inbound.channel,
            language=resident.language,
            text=words,
            received_at=inbound.received_at,
        )
        if assignment is not None:
            prompt = assignment.prompt
            response.campaign_id = assignment.campaign_id
            response.prompt_id = prompt.id
            response.language = resident.language or prompt.campaign.language
            assignment.status = "answered"
            assignment.answered_at = inbound.received_at
        self.session.add(response)
        resident.last_heard_at = inbound.received_at
        self.session.flush()
        turn.response_id = response.id

        if inbound.media:
            turn.replies.append(self._reply(inbound, texts.text("media_ack"), resident))
        elif assignment is None:
            turn.replies.append(
                self._reply(inbound, texts.text("open_ack", name=community.name), resident)
            )

        following = unseen or self.assign_next(resident)
        if assignment is not None:
            finished = following is None or following.campaign_id != assignment.campaign_id
            if finished and not inbound.media:
                campaign = assignment.prompt.campaign
                thanks = pick_text(campaign.thanks, resident.language, campaign.language)
                turn.replies.append(
                    self._reply(
                        inbound,
                        thanks or texts.text("thanks_default", name=community.name),
                        resident,
                    )
                )
        if following is not None:
            turn.replies.append(self._prompt_reply(inbound, resident, following))
        return turn

    # -- prompts -----------------------------------------------------------------------------

    def _pending(self, resident: Resident) -> Assignment | None:
        # Prompt and campaign come in the same query: the answer and the next prompt need both.
        return self.session.scalar(
            select(Assignment)
            .options(joinedload(Assignment.prompt).joinedload(Prompt.campaign))
            .where(Assignment.resident_id == resident.id, Assignment.status == "pending")
        )

    def _latest_stalled(self, resident: Resident) -> Assignment | None:
        return self.session.scalar(
            select(Assignment)
            .where(Assignment.resident_id == resident.id, Assignment.status == "stalled")
            .order_by(Assignment.assigned_at.desc(), Assignment.id.desc())
            .limit(1)
        )

    def assign_next(self, resident: Resident) -> Assignment | None:
        """Put the next unasked prompt of the community's running campaigns to the resident."""
        prompt = next_prompt(self.session, resident)
        if prompt is None:
            return None
        assignment = Assignment(
            resident_id=resident.id,
            prompt_id=prompt.id,
            prompt=prompt,
            campaign_id=prompt.campaign_id,
            status="pending",
        )
        self.session.add(assignment)
        self.session.flush()
        return assignment

    def _prompt_reply(
        self, inbound: Inbound, resident: Resident, assignment: Assignment
    ) -> Outbound:
        prompt = assignment.prompt
        body = pick_text(prompt.text, resident.language, prompt.campaign.language) or ""
        reply = self._reply(inbound, body, resident, kind="prompt")
        # Carry the campaign and prompt so a prompt given as a reply counts in the funnel.
        return replace(reply, campaign_id=assignment.campaign_id, prompt_id=prompt.id)

    @staticmethod
    def _reply(
        inbound: Inbound,
        body: str,
        resident: Resident | None = None,
        *,
        kind: str = "reply",
        buttons: tuple[str, ...] = (),
    ) -> Outbound:
        return Outbound(
            channel=inbound.channel,
            address=inbound.address,
            text=body,
            kind=kind,
            buttons=buttons,
            resident_id=resident.id if resident is not None else None,
        )


def next_prompt(session: Session, resident: Resident) -> Prompt | None:
    """The first prompt, in campaign order, of running campaigns not yet put to the resident."""
    asked = select(Assignment.prompt_id).where(Assignment.resident_id == resident.id)
    return session.scalar(
        select(Prompt)
        .join(Campaign, Prompt.campaign_id == Campaign.id)
        .where(
            Campaign.community_id == resident.community_id,
            Campaign.status == "active",
            Campaign.starts_at <= utcnow(),
            Prompt.id.not_in(asked),
        )
        .order_by(Campaign.starts_at, Campaign.id, Prompt.position)
        .limit(1)
    )
