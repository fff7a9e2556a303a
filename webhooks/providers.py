"""Provider webhooks: Twilio SMS/WhatsApp, Twilio status callbacks, Telegram updates."""

from __future__ import annotations

import hmac
import json
import logging

from flask import Blueprint, Response, abort, jsonify, request
from werkzeug.exceptions import BadRequest

from bot.channels import sms, telegram
from bot.conversation import inbox, updates
from bot.sending import outbox
from storage.models import utcnow
from webhooks.services import services

log = logging.getLogger(__name__)
bp = Blueprint("providers", __name__, url_prefix="/webhooks")


def twilio_form_or_403() -> dict[str, str]:
    """Parse the form and check Twilio's signature over PUBLIC_BASE_URL + path (+ query)."""
    settings = services().settings
    try:
        form = request.form
    except BadRequest:
        abort(400, "malformed form body")
    url = settings.public_base_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    signature = request.headers.get(sms.SIGNATURE_HEADER)
    if not sms.signature_is_valid(settings.twilio_auth_token, url, form, signature):
        log.warning("twilio webhook refused: bad or missing signature for %s", request.path)
        abort(403)
    return form


@bp.post("/twilio/sms")
def twilio_sms() -> Response:
    """Store the message, let the engine answer, reply in TwiML."""
    form = twilio_form_or_403()
    try:
        message = sms.parse_inbound(form, utcnow())
    except KeyError:
        abort(400, "not a Twilio message: MessageSid and From are required")
    svc = services()
    # The replies leave in this TwiML answer: recorded as sent while they are stored.
    reception = inbox.receive(svc.db, svc.vault, message, answered_via="twiml", limits=svc.limits())
    return Response(sms.twiml(reception.replies), mimetype="text/xml")


@bp.post("/twilio/status")
def twilio_status() -> tuple[str, int]:
    """Move a sent message's status forward; never backwards."""
    form = twilio_form_or_403()
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or status not in outbox.DELIVERY_RANK:
        return "", 204
    error = f"twilio {form['ErrorCode']}" if form.get("ErrorCode") else None
    with services().db.session_scope() as session:
        outbox.record_delivery(session, sid, status, error)
    return "", 204


@bp.post("/telegram")
def telegram_update() -> Response | tuple[str, int]:
    """Check the secret, hand the update on, answer 200 for every update Telegram sends.

    A single reply to a message travels in the answer itself as a sendMessage call (no Bot API
    request from here); several replies, and button presses, go through the Bot API.
    """
    svc = services()
    expected = svc.settings.telegram_webhook_secret
    given = request.headers.get(telegram.SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("telegram webhook refused: bad or missing secret token")
        abort(403)
    try:
        data = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        abort(400, "The body is not JSON.")
    except RecursionError:
        abort(400, "The JSON is nested too deeply.")
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        abort(400, "The body is not a Telegram update.")
    if svc.telegram is None:
        log.warning("telegram update %s ignored: TELEGRAM_BOT_TOKEN is not set", data["update_id"])
        return "", 200
    try:
        handled = updates.handle(
            svc.db,
            svc.vault,
            svc.telegram,
            data,
            answer_in_response=True,
            limits=svc.limits(),
        )
    except updates.NotAnUpdate as exc:
        log.warning("telegram update refused: %s", exc)
        abort(400, "The body is not a Telegram update.")
    if handled.answer is not None:
        return jsonify(handled.answer)
    return "", 200
