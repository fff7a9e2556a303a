"""The parts of PostgreSQL's one statement: each effect of a decision as a data-modifying CTE.

Every part hangs off `msg`, the stored message: when the message was stored before, was erased,
or its pending prompt was answered meanwhile, nothing is written. Statements are built from
text so their shape is plain to read; every value is a bound parameter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql

from bot.conversation.consent import wording_version
from bot.conversation.effects import (
    AskQuotes,
    AssignPrompt,
    CreateResident,
    Decision,
    Erase,
    OptOut,
    RecordConsent,
    Reply,
    StoreResponse,
    UpdateResident,
    WithdrawUnsentPrompt,
)
from bot.conversation.postgres_outbox import OUTBOX_VALUES, outbox_insert
from bot.conversation.replies import mark_sent_rows, reply_rows
from bot.conversation.residents import ERASED_HASH
from bot.conversation.sql_statement import Statement
from bot.conversation.store_message import Message
from bot.sending import outbox
from storage.crypto import Vault
from storage.models import (
    Assignment,
    Consent,
    InboundMessage,
    OutboundMessage,
    Resident,
    Response,
    utcnow,
)
from storage.statuses import AssignmentStatus, OutboxStatus, ResidentStatus

_DIALECT = postgresql.dialect()
_outbound = OutboundMessage.__table__
_inbound = InboundMessage.__table__
_RECEIVED_AT = _inbound.c.received_at
_UNKEYED = (
    "SELECT 1 FROM inbound_messages WHERE address_hash = :address_hash AND erased_key IS NULL"
)
_STILL_TO_SEND = str(
    outbox.still_to_send(_outbound.c.status, _outbound.c.next_attempt_at).compile(
        dialect=_DIALECT, compile_kwargs={"literal_binds": True}
    )
)


def shape_of(decision: Decision) -> tuple[Any, ...]:
    """Everything the statement's text depends on, in order; all else is a parameter's value."""
    parts: list[Any] = [decision.resident_id is None]
    for effect in decision.effects:
        kind = type(effect)
        if kind is UpdateResident or kind is CreateResident:
            parts.append((kind, tuple(effect.values)))  # type: ignore[union-attr]
        elif kind is RecordConsent:
            parts.append((kind, len(effect.purposes)))  # type: ignore[union-attr]
        elif kind is StoreResponse:
            parts.append((kind, effect.assignment_id is None, effect.settles))  # type: ignore[union-attr]
        elif kind is Reply:
            parts.append((kind, effect.to_resident))  # type: ignore[union-attr]
        else:
            parts.append(kind)
    return tuple(parts)


class Writer:
    """Each effect's parameters, and its part of the statement when the shape is new.

    Methods are named after the effects; each sets its values as parameters, then writes its
    SQL only if this shape has no statement yet (`out.known`), so a usual turn costs a few
    dictionary updates.
    """

    def __init__(self, vault: Vault, message: Message, decision: Decision) -> None:
        self.vault, self.message, self.decision = vault, message, decision
        self.out = Statement(shape_of(decision))
        self.new_shape = self.out.known is None
        self.now = utcnow()
        self.answer: StoreResponse | None = None
        self.quotes: AskQuotes | None = None
        self.created = False
        for effect in decision.effects:
            kind = type(effect)
            if kind is StoreResponse:
                self.answer = effect  # type: ignore[assignment]
            elif kind is AskQuotes:
                self.quotes = effect  # type: ignore[assignment]
            elif kind is CreateResident:
                self.created = True
        self.answering = self.answer is not None and self.answer.assignment_id is not None
        self.sent = False

    @property
    def resident(self) -> str:
        """The resident's id as the statement knows it."""
        if self.created:
            return "(SELECT id FROM new_resident)"
        if self.decision.resident_id is None:
            return "CAST(NULL AS INTEGER)"
        return "CAST(:resident_id AS INTEGER)"

    def resident_id_written(self, row: Any) -> int | None:
        return row.resident_id if self.created else self.decision.resident_id

    def build(self, sent_via: str | None) -> tuple[Any, int]:
        out, inbound = self.out, self.message.inbound
        out.params.update(
            channel=inbound.channel,
            received_at=inbound.received_at,
            now=self.now,
            resident_id=self.decision.resident_id,
            community_id=self.decision.community_id,
        )
        if self.answering:
            assert self.answer is not None
            out.params["assignment_id"] = self.answer.assignment_id
        if self.new_shape:
            out.types.update(received_at=_RECEIVED_AT.type, now=_RECEIVED_AT.type)
            if self.answering:
                out.cte(
                    "pending",
                    "SELECT id FROM assignments WHERE id = :assignment_id"
                    f" AND status = '{AssignmentStatus.PENDING}' FOR UPDATE",
                )
            if self.created:
                out.cte(
                    "new_resident",
                    "SELECT nextval(pg_get_serial_sequence('residents', 'id')) AS id",
                )
        self._message()
        for effect in self.decision.effects:
            if type(effect) is not Reply:
                getattr(self, type(effect).__name__)(effect)
        return self._outbound(sent_via)

    def _message(self) -> None:
        out, message = self.out, self.message
        inbound = message.inbound
        # Asking for erasure, the message is stored only as an empty tombstone.
        erasing = self.decision.erased
        out.params.update(
            provider_id=inbound.external_id,
            address_hash=message.address_hash,
            stored_hash=ERASED_HASH if erasing else message.address_hash,
            text="" if erasing else inbound.text,
            raw_enc=None if erasing else message.raw_enc,
            erased_key=message.erased_key,
        )
        if not self.new_shape:
            return
        source = "pending" if self.answering else "(SELECT 1) AS one"
        out.cte(
            "msg",
            "INSERT INTO inbound_messages (channel, provider_id, address_hash, text, raw_enc,"
            " received_at, processed_at, resident_id, erased_key)\n"
            f"SELECT :channel, :provider_id, :stored_hash, :text,"
            f" {out.cast('raw_enc', _inbound.c.raw_enc)}, :received_at, :now,"
            f" {'CAST(NULL AS INTEGER)' if erasing else self.resident},"
            f" {out.cast('erased_key', _inbound.c.erased_key)}\n"
            f"FROM {source}\n"
            "WHERE NOT EXISTS (SELECT 1 FROM erased_messages WHERE key = :erased_key)\n"
            # Messages stored before their keys were (0016): the ordinary writes make those.
            + (f"AND NOT EXISTS ({_UNKEYED})\n" if erasing else "")
            + "ON CONFLICT (channel, provider_id) DO NOTHING\nRETURNING id",
        )

    def Erase(self, effect: Erase) -> None:
        """Every record and message of the contact; only keyed hashes of the messages' ids stay."""
        out = self.out
        if not self.new_shape:
            return
        # The statement sees the table as it was before: its own message's key comes from msg.
        out.cte(
            "kept_keys",
            "INSERT INTO erased_messages (key, erased_at)\nSELECT k.key, :now FROM msg,"
            " (SELECT erased_key FROM inbound_messages WHERE address_hash = :address_hash"
            " UNION SELECT :erased_key) AS k (key)\n"
            "ON CONFLICT DO NOTHING\nRETURNING key",
        )
        out.cte(
            "gone_messages",
            "DELETE FROM inbound_messages\nWHERE address_hash = :address_hash"
            " AND EXISTS (SELECT 1 FROM msg)\nRETURNING id",
        )
        out.cte(
            "gone",
            "DELETE FROM residents\nWHERE address_hash = :address_hash"
            " AND EXISTS (SELECT 1 FROM msg)\nRETURNING community_id",
        )
        out.cte(
            "counted",
            "UPDATE communities SET erased_count = erased_count + gone_here.records\n"
            "FROM (SELECT community_id, count(*) AS records FROM gone GROUP BY community_id)"
            " AS gone_here\nWHERE communities.id = gone_here.community_id\n"
            "RETURNING communities.id",
        )

    def CreateResident(self, effect: CreateResident) -> None:
        out, inbound, hashed = self.out, self.message.inbound, self.message.address_hash
        values = {
            "community_id": effect.community_id,
            "channel": inbound.channel,
            "address_enc": self.vault.encrypt(inbound.address),
            "address_hash": hashed,
            "pseudonym": self.vault.pseudonym(effect.community_slug, hashed),
            "status": ResidentStatus.INVITED,
            "language": effect.language,
            "created_at": self.now,
            **effect.values,
        }
        out.params.update({f"r_{name}": value for name, value in values.items()})
        if not self.new_shape:
            return
        columns = Resident.__table__.c
        cast = [out.cast(f"r_{name}", columns[name]) for name in values]
        out.cte(
            "created",
            f"INSERT INTO residents (id, {', '.join(values)})\n"
            f"SELECT new_resident.id, {', '.join(cast)} FROM msg, new_resident\nRETURNING id",
        )

    def UpdateResident(self, effect: UpdateResident) -> None:
        out = self.out
        out.params.update({f"u_{name}": value for name, value in effect.values.items()})
        if not self.new_shape:
            return
        columns = Resident.__table__.c
        sets = ", ".join(
            f"{name} = {out.cast(f'u_{name}', columns[name])}" for name in effect.values
        )
        out.cte(
            "touched",
            f"UPDATE residents SET {sets}\n"
            "WHERE id = :resident_id AND EXISTS (SELECT 1 FROM msg)\nRETURNING id",
        )

    def RecordConsent(self, effect: RecordConsent) -> None:
        out = self.out
        out.params.update({f"purpose{n}": name for n, name in enumerate(effect.purposes)})
        out.params.update(wording=effect.wording, wording_version=wording_version(effect.wording))
        if not self.new_shape:
            return
        purpose = Consent.__table__.c.purpose
        rows = ", ".join(
            f"({n}, {out.cast(f'purpose{n}', purpose)})" for n in range(len(effect.purposes))
        )
        out.cte(
            "consented",
            "INSERT INTO consents (resident_id, purpose, wording, wording_version, channel,"
            " given_at)\n"
            f"SELECT {self.resident}, p.purpose, :wording, :wording_version, :channel,"
            " :received_at\n"
            f"FROM msg, (VALUES {rows}) AS p (n, purpose)\nORDER BY p.n\nRETURNING id",
        )

    def OptOut(self, effect: OptOut) -> None:
        # The status itself is the UpdateResident of the same decision (covers() checks it).
        self.out.params["cancelled_because"] = f"resident is {ResidentStatus.OPTED_OUT}"
        if not self.new_shape:
            return
        self.out.cte(
            "withdrawn",
            "UPDATE consents SET withdrawn_at = :now\nWHERE resident_id = :resident_id"
            " AND withdrawn_at IS NULL AND EXISTS (SELECT 1 FROM msg)\nRETURNING id",
        )
        self.out.cte(
            "cancelled",
            f"UPDATE outbound_messages SET status = '{OutboxStatus.CANCELLED}',"
            " next_attempt_at = NULL, error = :cancelled_because\n"
            f"WHERE resident_id = :resident_id AND ({_STILL_TO_SEND})"
            " AND EXISTS (SELECT 1 FROM msg)\nRETURNING id",
        )

    def StoreResponse(self, effect: StoreResponse) -> None:
        inbound = self.message.inbound
        self.out.params.update(
            a_language=effect.language,
            a_text=effect.text,
            a_campaign_id=effect.campaign_id,
            a_prompt_id=effect.prompt_id,
            a_choice=effect.choice,
            a_confidence=inbound.confidence,
            a_recording=inbound.recording,
        )
        if self.new_shape:
            self._response_sql(effect)

    def _response_sql(self, effect: StoreResponse) -> None:
        out, columns = self.out, Response.__table__.c
        source = "msg"
        if effect.assignment_id is not None:
            settled = (
                f"status = '{AssignmentStatus.ANSWERED}', answered_at = :received_at"
                if effect.settles
                else "unmatched_answers = unmatched_answers + 1"
            )
            out.cte(
                "answered",
                f"UPDATE assignments SET {settled}\n"
                "WHERE id = (SELECT id FROM pending) AND EXISTS (SELECT 1 FROM msg)\nRETURNING id",
            )
            source = "answered"
        names = (
            "language",
            "text",
            "campaign_id",
            "prompt_id",
            "choice",
            "confidence",
            "recording",
        )
        values = ", ".join(out.cast(f"a_{name}", columns[name]) for name in names)
        out.cte(
            "response",
            "INSERT INTO responses (community_id, resident_id, channel, received_at, safeguarding,"
            f" {', '.join(names)})\n"
            f"SELECT CAST(:community_id AS INTEGER), {self.resident}, :channel, :received_at,"
            f" false, {values}\nFROM {source}\nRETURNING id",
        )

    def AssignPrompt(self, effect: AssignPrompt) -> None:
        out = self.out
        out.params.update(
            n_prompt_id=effect.prompt_id,
            n_campaign_id=effect.campaign_id,
            n_language=effect.language,
        )
        if not self.new_shape:
            return
        columns = Assignment.__table__.c
        values = ", ".join(
            out.cast(f"n_{name}", columns[name])
            for name in ("prompt_id", "campaign_id", "language")
        )
        out.cte(
            "next_assignment",
            "INSERT INTO assignments (resident_id, prompt_id, campaign_id, language, status,"
            " assigned_at, nudges_sent)\n"
            f"SELECT {self.resident}, {values}, '{AssignmentStatus.PENDING}', :now, 0"
            # Reading `answered` runs it first: only one prompt may be pending at a time.
            f"\nFROM {'answered' if self.answering else 'msg'}\nRETURNING id",
        )

    def WithdrawUnsentPrompt(self, effect: WithdrawUnsentPrompt) -> None:
        assert self.decision.resident_id is not None
        self.out.params["withdrawn_key"] = outbox.prompt_key(
            self.decision.resident_id, effect.prompt_id
        )
        if not self.new_shape:
            return
        self.out.cte(
            "withdrawn_prompt",
            f"UPDATE outbound_messages SET status = '{OutboxStatus.CANCELLED}',"
            " next_attempt_at = NULL, error = 'sent as a reply instead'\n"
            f"WHERE dedupe_key = :withdrawn_key AND ({_STILL_TO_SEND})"
            " AND EXISTS (SELECT 1 FROM msg)\nRETURNING id",
        )

    def AskQuotes(self, effect: AskQuotes) -> None:
        pass  # a row of the final INSERT, before the replies as the ordinary writes order it

    def _outbound(self, sent_via: str | None) -> tuple[Any, int]:
        """The final INSERT of the outbox rows: the quote question, then the replies."""
        replies = self.decision.replies
        rows = reply_rows(0, 0, self.decision.community_id, self.message, replies)
        self.sent = mark_sent_rows(rows, sent_via)
        if self.quotes is not None:
            buttons = {"buttons": list(self.quotes.buttons)}
            quotes = {"kind": "consent", "text": self.quotes.text, "options": buttons}
            rows.insert(0, {**quotes, "status": OutboxStatus.QUEUED, "attempts": 0})
        if self.decision.erased:
            rows = []
        params = self.out.params
        for index, row in enumerate(rows):
            for name in OUTBOX_VALUES:
                params[f"{name}{index}"] = row.get(name)
        if not rows:
            final = f"SELECT msg.id AS in_reply_to_id, {self.resident} AS resident_id FROM msg"
            return self.out.sql(final), 1
        if not self.new_shape:
            return self.out.sql(""), len(rows)
        mine = ([True] if self.quotes is not None else []) + [r.to_resident for r in replies]
        final = outbox_insert(self.out, self.resident, mine, quotes_first=self.quotes is not None)
        return self.out.sql(final), len(rows)
