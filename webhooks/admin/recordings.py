"""Listening to an answer given by phone: the recording streamed through the app, never linked."""

from __future__ import annotations

from flask import Response, abort

from bot.channels.twilio_calls import RecordingMissing, recording_audio
from storage.models import Response as Answer
from webhooks.admin.access import community_or_404
from webhooks.admin.blueprint import bp
from webhooks.services import services


@bp.get("/communities/<slug>/responses/<int:response_id>/recording.mp3")
def recording(slug: str, response_id: int) -> Response:
    """The call recording an answer was kept as, for a user of that community."""
    svc = services()
    with svc.db.session_scope() as session:
        community = community_or_404(session, slug)
        answer = session.get(Answer, response_id)
        if answer is None or answer.community_id != community.id or not answer.recording:
            abort(404)
        reference = answer.recording
    settings = svc.settings
    if not settings.sms_enabled:
        abort(404, "Calls are not set up on this server.")
    try:
        audio = recording_audio(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            reference,
            settings.twilio_api_base_url,
        )
    except RecordingMissing:
        abort(404, "Twilio no longer has this recording.")
    return Response(audio, mimetype="audio/mpeg", headers={"Cache-Control": "no-store"})
