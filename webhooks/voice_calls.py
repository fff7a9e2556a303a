"""Twilio Voice webhooks: a call's steps, Twilio's recording and call status callbacks.

Every request is signed like an SMS webhook's (403 and nothing stored when it is not); the
step number and stage travel in the signed action URL.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request

from bot.channels import voice
from bot.conversation import calls
from bot.sending import outbox
from storage.statuses import OutboxStatus
from webhooks.providers import twilio_form_or_403
from webhooks.services import services

log = logging.getLogger(__name__)
bp = Blueprint("voice_calls", __name__, url_prefix="/webhooks/twilio/voice")
# Twilio's call statuses, as the outbox's delivery statuses (never backwards).
CALL_STATUSES = {
    "queued": "queued",
    "initiated": "sent",
    "ringing": "sent",
    "in-progress": "sent",
    "completed": "delivered",
    "busy": "undelivered",
    "no-answer": "undelivered",
    "canceled": "undelivered",
    "failed": "failed",
}


def _step() -> voice.CallStep:
    form = twilio_form_or_403()
    try:
        return voice.read_step(form, request.args)
    except KeyError:
        abort(400, "not a Twilio call: CallSid and From are required")


def _urls() -> voice.Urls:
    return voice.Urls(services().settings.public_base_url + bp.url_prefix)


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


@bp.post("")
def call_answered() -> Response:
    """A call to a community's number (or one we placed) is answered."""
    step = _step()
    svc = services()
    return _twiml(calls.call_answered(svc.db, svc.vault, step, _urls(), svc.limits()))


@bp.post("/step")
def step_answered() -> Response:
    """A <Gather>'s result: speech or a key."""
    step = _step()
    svc = services()
    return _twiml(calls.step_answered(svc.db, svc.vault, step, _urls(), svc.limits()))


@bp.post("/recorded")
def recording_kept() -> Response:
    """A <Record>'s result: the recording is the answer."""
    step = _step()
    svc = services()
    return _twiml(calls.recording_kept(svc.db, svc.vault, step, _urls(), svc.limits()))


@bp.post("/recording")
def recording_status() -> tuple[str, int]:
    """Twilio's recording status callback: the answer already holds the recording's SID."""
    form = twilio_form_or_403()
    log.info("recording %s: %s", form.get("RecordingSid"), form.get("RecordingStatus"))
    return "", 204


@bp.post("/status")
def call_status() -> tuple[str, int]:
    """A placed call's status moves its outbox row forward, as a message's does."""
    form = twilio_form_or_403()
    sid = form.get("CallSid")
    status = CALL_STATUSES.get((form.get("CallStatus") or "").lower())
    if not sid or status is None or status not in outbox.DELIVERY_RANK:
        return "", 204
    db = services().db
    # A machine answered (AnsweredBy, with answering machine detection): not heard, whatever the
    # call's status says (https://www.twilio.com/docs/voice/answering-machine-detection).
    answered = status in (OutboxStatus.SENT, OutboxStatus.DELIVERED)
    if answered and calls.call_not_reached(db, sid, form.get("AnsweredBy")):
        return "", 204
    error = f"twilio {form['ErrorCode']}" if form.get("ErrorCode") else None
    with db.session_scope() as session:
        outbox.record_delivery(session, sid, status, error)
    return "", 204
