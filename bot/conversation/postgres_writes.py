"""The parts of PostgreSQL's one statement: each effect of a decision as a data-modifying CTE.

Every part hangs off `msg`, the stored message: when the message was stored before, was erased,
or its pending prompt was answered meanwhile, nothing is written. Statements are built from
text so their shape is plain to read; every value is a bound parameter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

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
from bot.conversation.replies import mark_sent_rows, reply_rows
from bot.conversation.residents import ERASED_HASH
from bot.conversation.sql_statement import Statement
from bot.conversation.store_message import Message
from bot.sending import outbox
from storage.crypto import Vault
from storage.erasures import ErasedMessage
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
_STILL_TO_SEND = str(
    outbox.still_to_send(_outbound.c.status, _outbound.c.next_attempt_at).compile(
        dialect=_DIALECT, compile_kwargs={"literal_binds": True}
    )
)


class Writer:
    """Each effect's part of the statement, named after the effect."""

    def __init__(
        self, vault: Vault, message: Message, decision: Decision, erased_keys: set[str]
    ) -> None:
        self.vault, self.message, self.decision = vault, message, decision
        self.erased_keys = erased_keys
        self.out = Statement()
        self.now = utcnow()
        answer = next((e for e in decision.effects if isinstance(e, StoreResponse)), None)
        self.answering = answer is not None and answer.assignment_id is not None
        self.created = any(isinstance(e, CreateResident) for e in decision.effects)
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
        out.types.update(
            received_at=InboundMessage.__table__.c.received_at.type,
            now=InboundMessage.__table__.c.received_at.type,
        )
        if self.answering:
            answer = next(e for e in self.decision.effects if isinstance(e, StoreResponse))
            out.params["assignment_id"] = answer.assignment_id
            out.cte(
                "pending",
                "SELECT id FROM assignments WHERE id = :assignment_id"
                f" AND status = '{AssignmentStatus.PENDING}' FOR UPDATE",
            )
        if self.created:
            out.cte(
                "new_resident", "SELECT nextval(pg_get_serial_sequence('residents', 'id')) AS id"
            )
        self._message()
        for effect in self.decision.effects:
            if not isinstance(effect, Reply):
                getattr(self, type(effect).__name__)(effect)
        return self._outbound(sent_via)

    def _message(self) -> None:
        out, message = self.out, self.message
        inbound, columns = message.inbound, InboundMessage.__table__.c
        source = "pending" if self.answering else "(SELECT 1) AS one"
        # Asking for erasure, the message is stored only as an empty tombstone.
        erasing = self.decision.erased
        raw = out.value("raw_enc", None if erasing else message.raw_enc, columns.raw_enc)
        out.cte(
            "msg",
            "INSERT INTO inbound_messages (channel, provider_id, address_hash, text, raw_enc,"
            " received_at, processed_at, resident_id)\n"
            f"SELECT :channel, :provider_id, :stored_hash, :text, {raw}, :received_at, :now,"
            f" {'CAST(NULL AS INTEGER)' if erasing else self.resident}\nFROM {source}\n"
            "WHERE NOT EXISTS (SELECT 1 FROM erased_messages WHERE key = :erased_key)\n"
            "ON CONFLICT (channel, provider_id) DO NOTHING\nRETURNING id",
        )
        out.params.update(
            provider_id=inbound.external_id,
            address_hash=message.address_hash,
            stored_hash=ERASED_HASH if erasing else message.address_hash,
            text="" if erasing else inbound.text,
            erased_key=message.erased_key,
        )

    def Erase(self, effect: Erase) -> None:
        """Every record and message of the contact; only keyed hashes of the messages' ids stay."""
        out = self.out
        inbound = self.message.inbound
        own = self.vault.message_key(inbound.channel, inbound.external_id)
        out.params["erased_keys"] = sorted(self.erased_keys | {own})
        out.types["erased_keys"] = ARRAY(ErasedMessage.__table__.c.key.type)
        out.cte(
            "kept_keys",
            "INSERT INTO erased_messages (key, erased_at)\nSELECT k.key, :now"
            " FROM msg, unnest(CAST(:erased_keys AS VARCHAR[])) AS k (key)\n"
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
        columns = Resident.__table__.c
        cast = [out.value(f"r_{name}", value, columns[name]) for name, value in values.items()]
        out.cte(
            "created",
            f"INSERT INTO residents (id, {', '.join(values)})\n"
            f"SELECT new_resident.id, {', '.join(cast)} FROM msg, new_resident\nRETURNING id",
        )

    def UpdateResident(self, effect: UpdateResident) -> None:
        out, columns = self.out, Resident.__table__.c
        sets = ", ".join(
            f"{name} = {out.value(f'u_{name}', value, columns[name])}"
            for name, value in effect.values.items()
        )
        out.cte(
            "touched",
            f"UPDATE residents SET {sets}\n"
            "WHERE id = :resident_id AND EXISTS (SELECT 1 FROM msg)\nRETURNING id",
        )

    def RecordConsent(self, effect: RecordConsent) -> None:
        out, purpose = self.out, Consent.__table__.c.purpose
        rows = ", ".join(
            f"({n}, {out.value(f'purpose{n}', name, purpose)})"
            for n, name in enumerate(effect.purposes)
        )
        out.params.update(wording=effect.wording, wording_version=wording_version(effect.wording))
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
        inbound = self.message.inbound
        values = [
            out.value("a_language", effect.language, columns.language),
            out.value("a_text", effect.text, columns.text),
            out.value("a_campaign_id", effect.campaign_id, columns.campaign_id),
            out.value("a_prompt_id", effect.prompt_id, columns.prompt_id),
            out.value("a_choice", effect.choice, columns.choice),
            out.value("a_confidence", inbound.confidence, columns.confidence),
            out.value("a_recording", inbound.recording, columns.recording),
        ]
        out.cte(
            "response",
            "INSERT INTO responses (community_id, resident_id, channel, received_at, safeguarding,"
            " language, text, campaign_id, prompt_id, choice, confidence, recording)\n"
            f"SELECT CAST(:community_id AS INTEGER), {self.resident}, :channel, :received_at,"
            f" false, {', '.join(values)}\nFROM {source}\nRETURNING id",
        )

    def AssignPrompt(self, effect: AssignPrompt) -> None:
        out, columns = self.out, Assignment.__table__.c
        values = [
            out.value("n_prompt_id", effect.prompt_id, columns.prompt_id),
            out.value("n_campaign_id", effect.campaign_id, columns.campaign_id),
            out.value("n_language", effect.language, columns.language),
        ]
        out.cte(
            "next_assignment",
            "INSERT INTO assignments (resident_id, prompt_id, campaign_id, language, status,"
            " assigned_at, nudges_sent)\n"
            f"SELECT {self.resident}, {', '.join(values)}, '{AssignmentStatus.PENDING}', :now, 0"
            # Reading `answered` runs it first: only one prompt may be pending at a time.
            f"\nFROM {'answered' if self.answering else 'msg'}\nRETURNING id",
        )

    def WithdrawUnsentPrompt(self, effect: WithdrawUnsentPrompt) -> None:
        assert self.decision.resident_id is not None
        self.out.params["withdrawn_key"] = outbox.prompt_key(
            self.decision.resident_id, effect.prompt_id
        )
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
        out = self.out
        replies = self.decision.replies
        rows = reply_rows(0, 0, self.decision.community_id, self.message, replies)
        self.sent = mark_sent_rows(rows, sent_via)
        quotes = next((e for e in self.decision.effects if isinstance(e, AskQuotes)), None)
        outgoing = []
        if quotes is not None:
            options = {"buttons": list(quotes.buttons)}
            outgoing.append(
                (-1, True, "consent", quotes.text, options, OutboxStatus.QUEUED, None, 0)
            )
        for n, (reply, row) in enumerate(zip(replies, rows, strict=True)):
            outgoing.append(
                (
                    n,
                    reply.to_resident,
                    row["kind"],
                    row["text"],
                    row["options"],
                    row["status"],
                    row["provider_id"],
                    row["attempts"],
                )
            )
        if not outgoing or self.decision.erased:
            final = f"SELECT msg.id AS in_reply_to_id, {self.resident} AS resident_id FROM msg"
            return out.sql(final), 1
        values = ", ".join(self._outgoing(index, row, rows) for index, row in enumerate(outgoing))
        final = (
            "INSERT INTO outbound_messages (community_id, resident_id, channel, kind, text,"
            " options, status, dedupe_key, provider_id, attempts, next_attempt_at, sent_at,"
            " in_reply_to_id, campaign_id, prompt_id, created_at)\n"
            "SELECT CAST(:community_id AS INTEGER),"
            f" CASE WHEN row.mine THEN {self.resident} END, :channel, row.kind, row.text,"
            " row.options, row.status,"
            f" CASE WHEN row.n < 0 THEN 'quotes:' || {self.resident} || ':' || msg.id"
            " ELSE 'reply:' || msg.id || ':' || row.n END, row.provider_id, row.attempts,"
            " CASE WHEN row.n < 0 THEN CAST(:now AS TIMESTAMP WITH TIME ZONE) END, row.sent_at,"
            " CASE WHEN row.n >= 0 THEN msg.id END, row.campaign_id, row.prompt_id, :now\n"
            f"FROM msg, (VALUES {values}) AS row (n, mine, kind, text, options, status,"
            " provider_id, attempts, sent_at, campaign_id, prompt_id)\n"
            "ORDER BY row.n\n"
            f"RETURNING id, in_reply_to_id, dedupe_key, {self.resident} AS resident_id"
        )
        return out.sql(final), len(outgoing)

    def _outgoing(self, index: int, row: tuple[Any, ...], rows: list[dict[str, Any]]) -> str:
        """One outbox row of the final INSERT's VALUES, its values cast to their columns."""
        out, columns = self.out, _outbound.c
        n, mine, kind, text_, options, status, provider_id, attempts = row
        reply = rows[n] if n >= 0 else {}
        values = [
            str(n),
            "true" if mine else "false",
            out.value(f"kind{index}", kind, columns.kind),
            out.value(f"text{index}", text_, columns.text),
            out.value(f"options{index}", options, columns.options),
            out.value(f"status{index}", status, columns.status),
            out.value(f"provider{index}", provider_id, columns.provider_id),
            out.value(f"attempts{index}", attempts, columns.attempts),
            out.value(f"sent_at{index}", reply.get("sent_at"), columns.sent_at),
            out.value(f"campaign{index}", reply.get("campaign_id"), columns.campaign_id),
            out.value(f"prompt{index}", reply.get("prompt_id"), columns.prompt_id),
        ]
        return f"({', '.join(values)})"
