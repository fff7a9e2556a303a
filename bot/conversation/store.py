"""Applying a Decision: every effect written with plain statements, in the caller's transaction.

This is the store for SQLite and for everything PostgreSQL's one-statement answer does not
cover (bot.conversation.postgres). Writes that depend on what the snapshot saw are guarded, so
a message decided on a state another message has since changed raises StateChanged, and the
inbox decides it again.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.engine import Connection

from bot.conversation import lead_alerts, residents
from bot.conversation.consent import wording_version
from bot.conversation.effects import (
    AnswerProfile,
    AskProfile,
    AskQuotes,
    AssignPrompt,
    CreateResident,
    Decision,
    Erase,
    OptOut,
    RaiseAlert,
    RecordConsent,
    Reply,
    SkipPrompts,
    StoreResponse,
    UpdateResident,
    WithdrawUnsentPrompt,
)
from bot.conversation.replies import mark_sent_rows, outbound_replies, reply_rows
from bot.conversation.store_message import Applied, Duplicate, Message, claim, store_message
from bot.sending import outbox
from storage.crypto import Vault
from storage.models import (
    Assignment,
    Consent,
    InboundMessage,
    OutboundMessage,
    ProfileAnswer,
    Resident,
    Response,
    SafeguardingAlert,
    utcnow,
)
from storage.statuses import AssignmentStatus, OutboxStatus, ResidentStatus

_inbound = InboundMessage.__table__
_outbound = OutboundMessage.__table__
INSERT_REPLIES = _outbound.insert().returning(_outbound.c.id, sort_by_parameter_order=True)


class StateChanged(Exception):
    """What the decision was based on changed meanwhile: decide the message again."""


class _Apply:
    """The effects of one decision, written in order inside the caller's transaction."""

    def __init__(
        self,
        connection: Connection,
        vault: Vault,
        message: Message,
        inbound_id: int,
        lead_alerts_per_hour: int | None = None,
    ) -> None:
        self.connection, self.vault, self.message = connection, vault, message
        self.lead_alerts_per_hour = lead_alerts_per_hour
        self.inbound_id = inbound_id
        self.resident_id: int | None = None
        self.community_id: int | None = None
        self.response_id: int | None = None
        self.now = utcnow()

    def run(self, decision: Decision) -> None:
        self.resident_id, self.community_id = decision.resident_id, decision.community_id
        for effect in decision.effects:
            handler = getattr(self, type(effect).__name__)
            handler(effect)

    # Each method is named after the effect it writes.

    def Reply(self, effect: Reply) -> None:
        pass  # written together, after the other effects (reply_rows)

    def CreateResident(self, effect: CreateResident) -> None:
        inbound, hashed = self.message.inbound, self.message.address_hash
        self.resident_id = self.connection.execute(
            Resident.__table__.insert().returning(Resident.__table__.c.id),
            {
                "community_id": effect.community_id,
                "channel": inbound.channel,
                "address_enc": self.vault.encrypt(inbound.address),
                "address_hash": hashed,
                "pseudonym": self.vault.pseudonym(effect.community_slug, hashed),
                "status": ResidentStatus.INVITED,
                "language": effect.language,
                "created_at": self.now,
                **effect.values,
            },
        ).scalar_one()

    def UpdateResident(self, effect: UpdateResident) -> None:
        self.connection.execute(
            update(Resident.__table__)
            .where(Resident.__table__.c.id == self.resident_id)
            .values(**effect.values)
        )

    def RecordConsent(self, effect: RecordConsent) -> None:
        inbound = self.message.inbound
        self.connection.execute(
            Consent.__table__.insert(),
            [
                {
                    "resident_id": self.resident_id,
                    "purpose": purpose,
                    "wording": effect.wording,
                    "wording_version": wording_version(effect.wording),
                    "channel": inbound.channel,
                    "given_at": inbound.received_at,
                }
                for purpose in effect.purposes
            ],
        )

    def OptOut(self, effect: OptOut) -> None:
        assert self.resident_id is not None
        outbox.opt_out(self.connection, [self.resident_id], now=self.now)

    def StoreResponse(self, effect: StoreResponse) -> None:
        inbound = self.message.inbound
        if effect.assignment_id is not None:
            table = Assignment.__table__
            if effect.settles:
                settled = dict(status=AssignmentStatus.ANSWERED, answered_at=inbound.received_at)
            else:
                settled = dict(unmatched_answers=table.c.unmatched_answers + 1)
            answered = self.connection.execute(
                update(table)
                .where(
                    table.c.id == effect.assignment_id, table.c.status != AssignmentStatus.ANSWERED
                )
                .values(**settled)
            ).rowcount
            if answered != 1:
                raise StateChanged("the prompt was answered meanwhile")
        self.response_id = self.connection.execute(
            Response.__table__.insert().returning(Response.__table__.c.id),
            {
                "community_id": self.community_id,
                "resident_id": self.resident_id,
                "channel": inbound.channel,
                "language": effect.language,
                "text": effect.text,
                "received_at": inbound.received_at,
                "campaign_id": effect.campaign_id,
                "prompt_id": effect.prompt_id,
                "choice": effect.choice,
                "safeguarding": False,
                "confidence": inbound.confidence,
                "recording": inbound.recording,
            },
        ).scalar_one()

    def AssignPrompt(self, effect: AssignPrompt) -> None:
        table = Assignment.__table__
        if effect.reopen:
            reopened = self.connection.execute(
                update(table)
                .where(
                    table.c.resident_id == self.resident_id,
                    table.c.prompt_id == effect.prompt_id,
                    table.c.status == AssignmentStatus.SKIPPED,
                )
                .values(
                    status=AssignmentStatus.PENDING, assigned_at=self.now, language=effect.language
                )
            ).rowcount
            if reopened != 1:
                raise StateChanged("the prompt was asked meanwhile")
            return
        self.connection.execute(
            Assignment.__table__.insert(),
            {
                "resident_id": self.resident_id,
                "prompt_id": effect.prompt_id,
                "campaign_id": effect.campaign_id,
                "language": effect.language,
                "status": AssignmentStatus.PENDING,
                "assigned_at": self.now,
                "nudges_sent": 0,
            },
        )

    def SkipPrompts(self, effect: SkipPrompts) -> None:
        self.connection.execute(
            Assignment.__table__.insert(),
            [
                {
                    "resident_id": self.resident_id,
                    "prompt_id": prompt_id,
                    "campaign_id": effect.campaign_id,
                    "status": AssignmentStatus.SKIPPED,
                    "assigned_at": self.now,
                    "nudges_sent": 0,
                }
                for prompt_id in effect.prompt_ids
            ],
        )

    def WithdrawUnsentPrompt(self, effect: WithdrawUnsentPrompt) -> None:
        assert self.resident_id is not None
        outbox.withdraw_unsent_prompt(self.connection, self.resident_id, effect.prompt_id)

    def AskProfile(self, effect: AskProfile) -> None:
        self.connection.execute(
            ProfileAnswer.__table__.insert(),
            {
                "resident_id": self.resident_id,
                "question_id": effect.question_id,
                "asked_at": self.message.inbound.received_at,
            },
        )

    def AnswerProfile(self, effect: AnswerProfile) -> None:
        table = ProfileAnswer.__table__
        self.connection.execute(
            update(table)
            .where(
                table.c.resident_id == self.resident_id,
                table.c.question_id == effect.question_id,
                table.c.answered_at.is_(None),
            )
            .values(choice=effect.choice, answered_at=self.message.inbound.received_at)
        )

    def RaiseAlert(self, effect: RaiseAlert) -> None:
        alert_id = self.connection.execute(
            SafeguardingAlert.__table__.insert().returning(SafeguardingAlert.__table__.c.id),
            {
                "community_id": self.community_id,
                "resident_id": self.resident_id,
                "response_id": self.response_id,
                "inbound_id": self.inbound_id,
                "categories": ",".join(effect.categories)[:200],
                "created_at": self.now,
            },
        ).scalar_one()
        if self.response_id is not None:
            table = Response.__table__
            self.connection.execute(
                update(table).where(table.c.id == self.response_id).values(safeguarding=True)
            )
        assert self.community_id is not None and self.resident_id is not None
        lead_alerts.alert_the_lead(
            self.connection,
            self.community_id,
            self.resident_id,
            alert_id,
            self.now,
            self.lead_alerts_per_hour,
        )

    def AskQuotes(self, effect: AskQuotes) -> None:
        self.connection.execute(
            _outbound.insert(),
            {
                "community_id": self.community_id,
                "resident_id": self.resident_id,
                "channel": self.message.inbound.channel,
                "kind": "consent",
                "text": effect.text,
                "options": {"buttons": list(effect.buttons)},
                "status": OutboxStatus.QUEUED,
                "dedupe_key": outbox.quotes_key(self.resident_id, self.inbound_id),
                "attempts": 0,
                "next_attempt_at": self.now,
                "created_at": self.now,
            },
        )

    def Erase(self, effect: Erase) -> None:
        residents.erase_contact(
            self.connection,
            self.message.address_hash,
            keep_inbound_id=self.inbound_id,
            message_key=self.vault.message_key,
        )


def write(
    connection: Connection,
    vault: Vault,
    message: Message,
    decision: Decision,
    via: str | None,
    lead_alerts_per_hour: int | None = None,
) -> Applied:
    """The ordinary store: the message once, then every effect. Duplicate for a retry."""
    try:
        inbound_id = store_message(
            connection, message, processed_at=utcnow(), resident_id=decision.resident_id
        )
    except Duplicate as duplicate:
        if duplicate.processed or not claim(connection, duplicate.inbound_id, decision.resident_id):
            raise
        inbound_id = duplicate.inbound_id  # stored by an attempt that failed: process it now
    return apply(connection, vault, message, inbound_id, decision, via, lead_alerts_per_hour)


def apply(
    connection: Connection,
    vault: Vault,
    message: Message,
    inbound_id: int,
    decision: Decision,
    sent_via: str | None,
    lead_alerts_per_hour: int | None = None,
) -> Applied:
    """Write the decision's effects and its replies; the message row is already stored."""
    writer = _Apply(connection, vault, message, inbound_id, lead_alerts_per_hour)
    writer.run(decision)
    replies = decision.replies
    if decision.erased:
        # Nothing of theirs is kept, not even the reply: it leaves in the webhook's answer.
        return Applied(
            inbound_id, outbound_replies(message, replies, None, []), sent_via is not None
        )
    if writer.resident_id is not None and writer.resident_id != decision.resident_id:
        connection.execute(
            update(_inbound)
            .where(_inbound.c.id == inbound_id)
            .values(resident_id=writer.resident_id)
        )
    if not replies:
        return Applied(inbound_id, (), sent_via is not None)
    rows = reply_rows(inbound_id, writer.resident_id, decision.community_id, message, replies)
    sent = mark_sent_rows(rows, sent_via)
    ids = list(connection.execute(INSERT_REPLIES, rows).scalars())
    return Applied(inbound_id, outbound_replies(message, replies, writer.resident_id, ids), sent)
