"""Twilio Voice's REST side: a call recording's audio, fetched with the account's credentials.

Recordings are never linked to directly: staff listen through the app, which fetches the audio
from Twilio's Recordings API (https://www.twilio.com/docs/voice/api/recording#fetch-a-recording-media-file)
and streams it on.
"""

from __future__ import annotations

from collections.abc import Iterator

import urllib3

from bot.channels.voice import recording_sid_of

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
