"""The simulator page: talk to a community as a resident would."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, jsonify, render_template, request, session
from sqlalchemy import select

from bot.channels import simulator
from bot.conversation import inbox
from bot.sending import outbox
from storage.models import Community, InboundMessage, OutboundMessage, Resident, utcnow
from storage.statuses import OutboxStatus
from webhooks.services import services

bp = Blueprint("simulator", __name__, url_prefix="/simulator")
SESSION_KEY = "simulator_address"


@bp.before_request
def _only_where_allowed() -> None:
    svc = services()
    if svc.settings.is_production and not svc.extra.get("simulator_allowed", lambda: False)():
        abort(404)


def _address() -> str:
    address = session.get(SESSION_KEY)
    if not address or not simulator.ADDRESS_RE.match(address):
        address = simulator.new_address()
        session[SESSION_KEY] = address
    return address


@bp.get("")
@bp.get("/")
def page() -> str:
    """The phone on the page, and the communities one can text."""
    with services().db.session_scope() as db_session:
        communities = db_session.execute(
            select(Community.name, Community.keyword, Community.slug).order_by(Community.name)
        ).all()
    _address()
    return render_template("simulator.html", communities=communities)


@bp.post("/send")
def send():  # type: ignore[no-untyped-def]
    """Deliver one simulated text and return the replies."""
    if not request.is_json:
        abort(415)
    payload = request.get_json(silent=True)
    try:
        message = simulator.parse_inbound(_address(), payload, utcnow())
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    svc = services()
    reception = inbox.receive(svc.db, svc.vault, message, limits=svc.limits())
    outbox_ids = [r.outbox_id for r in reception.replies if r.outbox_id]
    if not reception.duplicate:
        outbox.mark_sent(svc.db, outbox_ids, via="simulator")
    # The page shows these at once: after DELETE/CONFIRM the history no longer holds them.
    with svc.db.session_scope() as db_session:
        inbound_at = db_session.scalar(
            select(InboundMessage.received_at).where(InboundMessage.id == reception.inbound_id)
        )
        outbound_at = dict(
            db_session.execute(
                select(OutboundMessage.id, OutboundMessage.created_at).where(
                    OutboundMessage.id.in_(outbox_ids)
                )
            ).all()
        )
    return jsonify(
        key=_key("i", reception.inbound_id, inbound_at),
        replies=[
            {
                "text": r.text,
                "buttons": list(r.buttons),
                "key": _key("o", r.outbox_id, outbound_at.get(r.outbox_id)),
            }
            for r in reception.replies
        ],
    )


def _key(kind: str, row_id: int | None, at: datetime | None) -> str | None:
    """A message's key on the page; with its time, as SQLite reuses the ids of erased rows."""
    if row_id is None or at is None:
        return None
    return f"{kind}{row_id}@{at.isoformat()}"


@bp.get("/history")
def history():  # type: ignore[no-untyped-def]
    """The conversation so far on this simulated phone, both directions, oldest first."""
    svc = services()
    address_hash = svc.vault.address_hash("simulator", _address())
    with svc.db.session_scope() as db_session:
        sent = db_session.execute(
            select(InboundMessage.id, InboundMessage.text, InboundMessage.received_at).where(
                InboundMessage.address_hash == address_hash
            )
        ).all()
        resident_ids = select(Resident.id).where(Resident.address_hash == address_hash)
        received = db_session.execute(
            select(
                OutboundMessage.id,
                OutboundMessage.text,
                OutboundMessage.created_at,
                OutboundMessage.options,
            ).where(
                OutboundMessage.resident_id.in_(resident_ids),
                OutboundMessage.status != OutboxStatus.QUEUED,
            )
        ).all()
    items = [
        {"from": "me", "text": t, "at": at.isoformat(), "key": _key("i", i, at)}
        for i, t, at in sent
    ]
    items += [
        {
            "from": "bot",
            "text": t,
            "at": at.isoformat(),
            "key": _key("o", i, at),
            "buttons": (options or {}).get("buttons", []),
        }
        for i, t, at, options in received
    ]
    items.sort(key=lambda item: (item["at"], item["key"][0] == "o", item["key"]))
    return jsonify(messages=items)


@bp.post("/reset")
def reset():  # type: ignore[no-untyped-def]
    """Start again as a different resident with a new simulated phone."""
    if not request.is_json:
        abort(415)
    session[SESSION_KEY] = simulator.new_address()
    return jsonify(ok=True)
