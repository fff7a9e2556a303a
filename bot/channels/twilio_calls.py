"""Twilio Voice's REST side: calls placed for the outbox, and a recording's audio.

Recordings are never linked to directly: staff listen through the app, which fetches the audio
from Twilio's Recordings API (https://www.twilio.com/docs/voice/api/recording#fetch-a-recording-media-file)
and streams it on.
"""

from __future__ import annotations

from collections.abc import Iterator

import urllib3
from twilio.base.exceptions import TwilioRestException

from bot.channels.base import PermanentSendError, TransientSendError
from bot.channels.sms import TwilioSender, _classify
from bot.channels.voice import CHANNEL, recording_sid_of
from bot.messages import Outbound

TWILIO_API = "https://api.twilio.com"
FETCH_TIMEOUT_SECONDS = 10
CHUNK_BYTES = 64 * 1024


class RecordingMissing(Exception):
    """Twilio has no such recording (deleted, or never kept)."""


def recording_audio(
    account_sid: str, auth_token: str, reference: str, api_base_url: str = ""
) -> Iterator[bytes]:
    """The recording's MP3, chunk by chunk; RecordingMissing when Twilio cannot give it."""
    sid = recording_sid_of(reference)
    if sid is None:
        raise RecordingMissing(reference)
    base = (api_base_url or TWILIO_API).rstrip("/")
    url = f"{base}/2010-04-01/Accounts/{account_sid}/Recordings/{sid}.mp3"
    pool = urllib3.PoolManager(retries=False, timeout=FETCH_TIMEOUT_SECONDS)
    answer = pool.request(
        "GET",
        url,
        headers=urllib3.make_headers(basic_auth=f"{account_sid}:{auth_token}"),
        preload_content=False,
        redirect=True,
    )
    if answer.status != 200:
        answer.release_conn()
        raise RecordingMissing(f"{sid}: twilio answered {answer.status}")

    def chunks() -> Iterator[bytes]:
        try:
            yield from answer.stream(CHUNK_BYTES)
        finally:
            answer.release_conn()

    return chunks()


class TwilioCaller:
    """Places a call for an outbox row with Twilio's Calls API; the call asks its question.

    The call's TwiML comes from our voice webhook (`answer_url`, with the row's id so the call
    says the row's words); answering machine detection tells a voicemail greeting from a person
    (https://www.twilio.com/docs/voice/answering-machine-detection), and the status callback
    moves the row's status as a message's does.
    """

    channel = CHANNEL

    def __init__(self, twilio: TwilioSender, answer_url: str, status_callback: str) -> None:
        self.twilio = twilio
        self.answer_url = answer_url
        self.status_callback = status_callback

    def prepare_thread(self) -> None:
        """Build this thread's Twilio client, and import its Calls API, before its first call."""
        _ = self.twilio.client.calls

    def send(
        self, outbound: Outbound, from_number: str | None = None, content_sid: str | None = None
    ) -> str | None:
        """Place the call; Twilio's errors map to transient or permanent failures."""
        caller_id = from_number or self.twilio.sender
        if not caller_id.startswith("+"):
            raise PermanentSendError("calls need a phone number to call from (TWILIO_FROM)", None)
        try:
            call = self.twilio.client.calls.create(
                to=outbound.address,
                from_=caller_id,
                url=f"{self.answer_url}?outbox={outbound.outbox_id}",
                method="POST",
                status_callback=self.status_callback,
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                machine_detection="Enable",
            )
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except Exception as exc:  # network trouble: timeouts, refused connections
            raise TransientSendError(f"twilio: {type(exc).__name__}: {exc}") from exc
        return call.sid
