"""The conversation's rules: decide(snapshot, message) -> Decision. No I/O, every rule once.

A store reads the Snapshot and applies the Decision (bot.conversation.store); this module only
reads what it is given and says what should happen: join, consent, keywords, the pending prompt
and its answer, the safety questions and the safeguarding screen.
"""

from __future__ import annotations

from bot import texts
from bot.conversation import consent, safeguarding
from bot.conversation.effects import (
    AnswerProfile,
    AskQuotes,
    CreateResident,
    Decision,
    Erase,
    OptOut,
    RaiseAlert,
    RecordConsent,
    Reply,
)
from bot.conversation.profile import read_choice
from bot.conversation.snapshot import CommunityView, ResidentView, Snapshot
from bot.conversation.turn import Turn
from bot.conversation.words import (
    CONFIRM_WORDS,
    DELETE_WINDOW,
    DELETE_WORDS,
    HELP_WORDS,
    JOIN_WORDS,
    NO_WORDS,
    PROVIDER_CONFIRMS_STOP,
    START_WORDS,
    STOP_WORDS,
    YES_WORDS,
    Command,
    asks_for_erasure,
    join_lookup,
    read_command,
)
from bot.messages import Inbound
from storage.statuses import ResidentStatus

NOT_REACHABLE = (ResidentStatus.OPTED_OUT, ResidentStatus.UNREACHABLE)


def welcome_text(community_name: str) -> str:
    """The welcome, with its privacy line: the words a resident agrees to with YES."""
    return texts.text("welcome", name=community_name)


def _an_answer(snapshot: Snapshot, inbound: Inbound) -> bool:
    """A bare keyword sent while a question waits answers it: no organiser can take it."""
    lookup = join_lookup(inbound.text)
    resident = snapshot.resident
    return (
        lookup is not None
        and not lookup.explicit
        and resident is not None
        and resident.status == ResidentStatus.JOINED
        and resident.pending is not None
    )


def decide(snapshot: Snapshot, inbound: Inbound) -> Decision:
    """Decide everything one message leads to."""
    turn = _Turn(snapshot, inbound)
    command = read_command(inbound.text)
    named = snapshot.join_community
    if named is not None and not _an_answer(snapshot, inbound):
        turn.join(named, snapshot.join_resident)
    elif snapshot.resident is None:
        turn.stranger(command, snapshot.any_community)
    else:
        turn.begin(snapshot.resident)
        turn.from_resident(command)
        if named is not None and named.id != snapshot.resident.community.id:
            # Their words answered the question; how to join the community they named, once.
            turn.reply(texts.text("join_other", name=named.name, keyword=named.keyword))
    turn.screen()
    decision = turn.decision()
    if snapshot.reply_limit is not None and snapshot.recent_messages >= snapshot.reply_limit:
        # Everything is still stored; only the replies stop, so a flood costs nothing to send.
        kept = [effect for effect in decision.effects if not isinstance(effect, Reply)]
        decision.replies_withheld = len(decision.effects) - len(kept)
        decision.effects = kept
    return decision


class _Turn(Turn):
    """The rules for one message, applied to a turn."""

    def stranger(self, command: Command, any_community: bool) -> None:
        if command.word in STOP_WORDS and self.inbound.channel in PROVIDER_CONFIRMS_STOP:
            return
        if not any_community:
            self.reply(texts.text("no_communities"), to_resident=False)
            return
        # Which communities there are is not told to whoever texts: the poster says it.
        key = "who_are_you_telegram" if self.inbound.channel == "telegram" else "who_are_you"
        self.reply(texts.text(key), to_resident=False)

    def join(self, community: CommunityView, existing: ResidentView | None) -> None:
        if existing is None:
            language = self.inbound.language
            self.created = CreateResident(community.id, community.slug, language)
            existing = ResidentView(
                id=0, community=community, status=ResidentStatus.INVITED, language=language
            )
        self.begin(existing, join=True)
        resident = self.resident
        assert resident is not None
        if (
            resident.status != ResidentStatus.JOINED
            and community.young_people
            and resident.age_band is None
        ):
            self.set(consent_question=consent.ASKING_AGE)
            self.reply(texts.text("age_ask", name=community.name), consent.AGE_BUTTONS)
            return
        if resident.status == ResidentStatus.JOINED:
            self.reply(texts.text("welcome_again", name=community.name))
            return
        self.set(status=ResidentStatus.INVITED)
        self.reply(welcome_text(community.name), ("YES",))

    # -- known residents ---------------------------------------------------------------------

    def from_resident(self, command: Command) -> None:
        resident = self.resident
        assert resident is not None
        word = command.word
        if word in STOP_WORDS:
            self.effects.append(OptOut())
            self.set(status=ResidentStatus.OPTED_OUT, opted_out_at=self.now)
            if self.inbound.channel not in PROVIDER_CONFIRMS_STOP:
                self.reply(texts.text("stopped", name=self.name))
            return
        if word in DELETE_WORDS:
            self.set(delete_requested_at=self.now)
            self.reply(texts.text("delete_ask", name=self.name))
            return
        if word in CONFIRM_WORDS and self.confirm_erasure(resident):
            return
        if resident.status in NOT_REACHABLE:
            if word in START_WORDS or word in JOIN_WORDS:
                self.opt_in(returning=True)
            return  # opted out: keep what the provider delivered, but send nothing at all
        if word in HELP_WORDS:
            self.reply(texts.text("help", name=self.name))
            return
        if self.safety_question(word):
            return
        if resident.status == ResidentStatus.INVITED:
            if word in JOIN_WORDS or word in START_WORDS:
                self.opt_in(returning=False)
            else:
                self.reply(texts.text("not_joined_yet", name=self.name), ("YES",))
            return
        if word in START_WORDS or (word in JOIN_WORDS and self.pending is None):
            self.reply(texts.text("welcome_again", name=self.name))
            return
        waiting = resident.waiting_profile
        if waiting is not None:
            matched, choice = read_choice(waiting.choices, self.inbound.text)
            self.effects.append(AnswerProfile(waiting.id, choice))
            if matched:
                self.after_profile_answer()
                return
        self.words()

    def confirm_erasure(self, resident: ResidentView) -> bool:
        requested = resident.delete_requested_at
        if requested is not None and self.now - requested <= DELETE_WINDOW:
            self.effects.append(Erase())
            self.reply(texts.text("delete_done"), to_resident=False)
            return True
        if requested is not None or resident.status != ResidentStatus.JOINED:
            self.reply(texts.text("delete_nothing_pending"))
            return True
        return False

    def safety_question(self, word: str) -> bool:
        """Erasure asked in other words, or a whole-message answer to the age or quote question."""
        resident = self.resident
        assert resident is not None
        if asks_for_erasure(self.inbound.text):
            self.set(delete_requested_at=self.now)
            self.reply(texts.text("delete_ask", name=self.name))
            return True
        asking = resident.consent_question
        if asking == consent.ASKING_AGE and resident.status == ResidentStatus.INVITED:
            return self.age_answer()
        if (
            asking == consent.ASKING_QUOTES
            and resident.status == ResidentStatus.JOINED
            and not self.pending
        ):
            # With a question pending, a YES or NO answers that question, not this one.
            self.set(consent_question=None)
            if word in YES_WORDS:
                wording = texts.text("quotes_ask")
                self.effects.append(RecordConsent((consent.QUOTES,), wording))
                self.reply(texts.text("quotes_yes"))
                return True
            if word in NO_WORDS:
                self.reply(texts.text("quotes_no"))
                return True
        return False

    def age_answer(self) -> bool:
        band = consent.read_age_band(self.inbound.text)
        if band is None:
            self.reply(texts.text("age_again"), consent.AGE_BUTTONS)
        elif band == consent.UNDER_13:
            # Nothing of theirs is kept: erased as for DELETE + CONFIRM.
            self.effects.append(Erase())
            self.reply(texts.text("under_13"), to_resident=False)
        else:
            self.set(age_band=band, consent_question=None)
            self.reply(welcome_text(self.name), ("YES",))
        return True

    def opt_in(self, *, returning: bool) -> None:
        resident = self.resident
        assert resident is not None
        wording = welcome_text(self.name)
        if resident.opted_out_at is not None:
            # Coming back: they are shown the welcome-back words; quotes are asked again, later.
            wording = texts.text("restarted", name=self.name)
            self.set(quotes_asked_at=None)
        self.effects.append(RecordConsent(consent.JOIN_PURPOSES, wording))
        self.set(status=ResidentStatus.JOINED, opted_out_at=None)
        if resident.joined_at is None:
            self.set(joined_at=self.inbound.received_at)
        if not returning and self.ask_profile(first=True):
            return
        pending = self.pending_or_next()
        if returning:
            intro = texts.text("restarted", name=self.name)
        elif pending is None:
            intro = texts.text("joined_no_prompt", name=self.name)
        else:
            intro = texts.text(ResidentStatus.JOINED, name=self.name)
        if pending is None:
            self.reply(intro)
        else:
            self.introduced(intro, pending)

    # -- self-described groups -----------------------------------------------------------------

    def screen(self) -> None:
        """Screen the words for harm (help reply, lead's queue, alert); else maybe ask quotes."""
        if any(isinstance(effect, Erase) for effect in self.effects):
            return
        resident, community = self.resident, self.community
        words = safeguarding.list_with(
            community.safeguarding_words if community else (),
            community.help_contacts if community else None,
        )
        categories = words.categories(self.inbound.text)
        if categories:
            if resident is not None:
                self.effects.append(RaiseAlert(tuple(categories)))
            # After STOP an SMS may not be sent (the provider blocks it); elsewhere, help still is.
            reachable = resident is None or resident.status not in NOT_REACHABLE
            if reachable or self.inbound.channel not in PROVIDER_CONFIRMS_STOP:
                help_text = safeguarding.help_text(community.name if community else None, words)
                self.effects.insert(0, Reply(help_text, to_resident=resident is not None))
            return
        if self.answered and self.asks_quotes_now():
            self.set(consent_question=consent.ASKING_QUOTES, quotes_asked_at=self.now)
            self.effects.append(AskQuotes(texts.text("quotes_ask"), ("YES", "NO")))

    def asks_quotes_now(self) -> bool:
        """Ask about quotes once, when the resident has answered and nothing else is pending."""
        resident = self.resident
        assert resident is not None
        return (
            resident.status == ResidentStatus.JOINED
            and resident.quotes_asked_at is None
            and resident.consent_question is None
            and self.pending is None
        )
