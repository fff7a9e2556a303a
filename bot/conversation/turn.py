"""A turn of the conversation: the state one message leaves, and how it asks and answers.

The rules that choose what happens are in engine.py; this holds what they share: the resident
as the turn changes them, the effects so far, and the writing of prompts, answers and groups.
"""

from __future__ import annotations

from dataclasses import fields, replace

from bot import texts
from bot.conversation.choices import END, ask, branch
from bot.conversation.effects import (
    AskProfile,
    AssignPrompt,
    CreateResident,
    Decision,
    Erase,
    Reply,
    SkipPrompts,
    StoreResponse,
    UpdateResident,
    WithdrawUnsentPrompt,
)
from bot.conversation.profile import render
from bot.conversation.snapshot import CommunityView, PromptView, ResidentView, Snapshot
from bot.messages import Inbound
from storage.languages import asked_language, pick_text
from storage.publishing import results_link

_VIEW_FIELDS = frozenset(field.name for field in fields(ResidentView))
# A phone call hears a closed question's choices with the keys to press for them.
CALL = "voice"
# A Telegram message costs nothing by length, and a webhook's answer carries one message: the
# words before a question go in the question's message.
ONE_MESSAGE = frozenset({"telegram"})


class Turn:
    """One message being decided: the resident as the turn leaves them, and the effects so far."""

    def __init__(self, snapshot: Snapshot, inbound: Inbound) -> None:
        self.now = snapshot.now
        self.public_base_url = snapshot.public_base_url
        self.inbound = inbound
        self.resident: ResidentView | None = None
        self.community: CommunityView | None = None
        self.created: CreateResident | None = None
        self.changes: dict[str, object] = {}
        self.effects: list = []
        self.pending: PromptView | None = None
        self.answered = False

    # -- state -------------------------------------------------------------------------------

    def begin(self, resident: ResidentView, *, join: bool = False) -> None:
        self.resident, self.community, self.pending = resident, resident.community, resident.pending
        self.set(last_inbound_at=self.inbound.received_at)
        if not join and self.inbound.language and self.inbound.channel == "telegram":
            self.set(language=self.inbound.language)

    def set(self, **values: object) -> None:
        self.changes.update(values)
        assert self.resident is not None
        seen = {key: value for key, value in values.items() if key in _VIEW_FIELDS}
        self.resident = replace(self.resident, **seen)  # type: ignore[arg-type]

    def reply(self, body: str, buttons: tuple[str, ...] = (), *, to_resident: bool = True) -> None:
        self.effects.append(Reply(body, buttons=buttons, to_resident=to_resident))

    def decision(self) -> Decision:
        head: list = []
        if self.created is not None:
            head.append(replace(self.created, values=dict(self.changes)))
        elif self.changes and not any(isinstance(e, Erase) for e in self.effects):
            head.append(UpdateResident(dict(self.changes)))
        resident_id = self.resident.id if self.resident and self.created is None else None
        return Decision(
            resident_id=resident_id,
            community_id=self.community.id if self.community else None,
            received_at=self.inbound.received_at,
            effects=head + self.effects,
        )

    @property
    def name(self) -> str:
        assert self.community is not None
        return self.community.name

    # -- strangers and joining ---------------------------------------------------------------

    # -- self-described groups, prompts and answers ----------------------------------------

    def ask_profile(self, *, first: bool) -> bool:
        resident = self.resident
        assert resident is not None
        if not resident.unasked_profile:
            return False
        question = resident.unasked_profile[0]
        self.effects.append(AskProfile(question.id))
        if first:
            self.reply(texts.text("joined_profile", name=self.name))
        asked = render(question.text, question.choices)
        self.reply(asked.text, asked.buttons)
        return True

    def after_profile_answer(self) -> None:
        if self.ask_profile(first=False):
            return
        pending = self.pending_or_next()
        if pending is None:
            self.reply(texts.text("profile_done_no_prompt"))
        else:
            self.introduced(texts.text("profile_done"), pending)

    # -- prompts and answers -------------------------------------------------------------------

    def pending_or_next(self) -> PromptView | None:
        """The pending prompt, else the next one assigned now; either goes in this reply."""
        pending = self.pending or self.assign_next()
        if pending is not None:
            self.effects.append(WithdrawUnsentPrompt(pending.prompt_id))
        return pending

    def assign_next(self) -> PromptView | None:
        resident = self.resident
        assert resident is not None
        return self.assign(resident.next_prompt)

    def assign(self, following: PromptView | None) -> PromptView | None:
        """Put `following` to the resident, in the language it will be asked in."""
        resident = self.resident
        assert resident is not None
        if following is None:
            return None
        language = asked_language(resident.language, following.text, following.campaign_language)
        self.effects.append(
            AssignPrompt(
                following.prompt_id, following.campaign_id, language, reopen=following.skipped
            )
        )
        self.pending = following
        return following

    def words(self) -> None:
        resident = self.resident
        assert resident is not None
        words, media = self.inbound.text, bool(self.inbound.media)
        if not words.strip():
            self.reply(texts.text("media_ack" if media else "empty_ack"))
            return
        # A campaign prompt still waiting in the outbox has not been seen: these words are an
        # open response, and the prompt follows in the reply instead.
        pending = self.pending
        unseen = pending if pending is not None and pending.unsent else None
        if unseen is not None:
            self.effects.append(WithdrawUnsentPrompt(unseen.prompt_id))
        answering = None if unseen else (pending or resident.stalled)
        choice = answering.form.match(words) if answering and answering.form else None
        if answering is pending and self.asks_again(answering, choice):
            return
        self.store_words(answering, choice)
        if media:
            self.reply(texts.text("media_ack"))
        elif answering is None:
            self.reply(texts.text("open_ack", name=self.name))
        if answering is not None and self.pending is answering:
            self.pending = None
        following = unseen or self.follow(answering, choice)
        if answering is not None:
            finished = following is None or following.campaign_id != answering.campaign_id
            if finished and not media:
                thanks = pick_text(answering.thanks, resident.language, answering.campaign_language)
                thanks = self.with_results_link(
                    thanks or texts.text("thanks_default", name=self.name)
                )
                if following is not None and self.inbound.channel in ONE_MESSAGE:
                    self.introduced(thanks, following)
                    return
                self.reply(thanks)
        if following is not None:
            self.effects.append(self.prompt_reply(following))

    def with_results_link(self, thanks: str) -> str:
        """The thanks, ending with the community's results page when it is published."""
        community, base = self.community, self.public_base_url
        assert community is not None
        # A link read aloud on a call helps no one.
        if not community.results_published or not base or self.inbound.channel == CALL:
            return thanks
        line = texts.text("thanks_results", url=results_link(base, community.slug))
        return f"{thanks}\n{line}"

    def asks_again(self, pending: PromptView | None, choice: str | None) -> bool:
        """A first reply that matches no choice is kept, and the question asked once more."""
        if pending is None or pending.form is None or choice is not None or pending.unmatched:
            return False
        self.store_words(pending, None, settles=False)
        asked = self.prompt_reply(pending)
        # One message: it costs no more segments than two, and reads as one thought.
        self.effects.append(
            replace(asked, kind="reply", text=f"{texts.text('choice_again')}\n{asked.text}")
        )
        return True

    def follow(self, answered: PromptView | None, choice: str | None) -> PromptView | None:
        """The prompt that follows an answer: where its branch leads, else the next in order."""
        resident = self.resident
        assert resident is not None
        target = branch(answered.branches, choice) if answered is not None else None
        if target is None or answered is None:
            return self.assign_next()
        rest = resident.campaign_rest
        found = next((p for p in rest if p.key == target), None)
        if target != END and found is None:
            return self.assign_next()  # already asked: carry on in order
        passed = tuple(
            p.prompt_id
            for p in rest
            if not p.skipped and (found is None or p.position < found.position)
        )
        if passed:
            self.effects.append(SkipPrompts(answered.campaign_id, passed))
        return self.assign(found if found is not None else resident.after_campaign)

    def store_words(
        self, answering: PromptView | None, choice: str | None = None, *, settles: bool = True
    ) -> None:
        resident = self.resident
        assert resident is not None
        language = resident.language
        if answering is None:
            self.effects.append(StoreResponse(self.inbound.text, language))
        else:
            self.effects.append(
                StoreResponse(
                    self.inbound.text,
                    language or answering.campaign_language,
                    answering.assignment_id,
                    answering.campaign_id,
                    answering.prompt_id,
                    choice=choice,
                    settles=settles,
                )
            )
        self.set(last_heard_at=self.inbound.received_at)
        self.answered = settles

    def prompt_reply(self, prompt: PromptView) -> Reply:
        assert self.resident is not None
        language = asked_language(self.resident.language, prompt.text, prompt.campaign_language)
        spoken = self.inbound.channel == CALL
        asked = ask(prompt.text, prompt.form, language, prompt.campaign_language, spoken=spoken)
        # Carry the campaign and prompt so a prompt given as a reply counts in the funnel.
        return Reply(
            asked.text,
            kind="prompt",
            buttons=asked.buttons,
            campaign_id=prompt.campaign_id,
            prompt_id=prompt.prompt_id,
        )

    def introduced(self, intro: str, prompt: PromptView) -> None:
        """The intro and the prompt in one message when that costs fewer SMS segments."""
        asked = self.prompt_reply(prompt)
        if self.inbound.channel in ONE_MESSAGE:
            self.effects.append(replace(asked, text=f"{intro}\n\n{asked.text}"))
            return
        together = f"{intro} {asked.text}"
        apart = texts.sms_segments(intro)[0] + texts.sms_segments(asked.text)[0]
        if texts.sms_segments(together)[0] < apart:
            self.effects.append(replace(asked, text=together))
        else:
            self.effects += [Reply(intro), asked]
