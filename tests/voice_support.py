"""Driving a phone call the way Twilio does: signed form posts to the TwiML's action URLs."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree import ElementTree

from tests.conftest import PUBLIC_BASE_URL, load_twilio, post_twilio

VOICE = "/webhooks/twilio/voice"


def said(root: ElementTree.Element) -> list[str]:
    """Every sentence the TwiML says, in order (inside a <Gather> too)."""
    return [element.text or "" for element in root.iter("Say")]


def gather(root: ElementTree.Element) -> ElementTree.Element | None:
    return root.find("Gather")


def _path(url: str) -> str:
    assert url.startswith(PUBLIC_BASE_URL), url
    return url[len(PUBLIC_BASE_URL) :]


@dataclass
class Call:
    """One call from `caller`: each method posts a step and returns the TwiML answer parsed."""

    client: object
    call_sid: str = "CA5f1c2a9d0e8b4c7a93d6e2f1b0a4c8d7"
    caller: str = "+447700900123"
    last: ElementTree.Element | None = None
    history: list[ElementTree.Element] = field(default_factory=list)

    def _post(self, path: str, fixture: str, **fields: str) -> ElementTree.Element:
        body = load_twilio(fixture, CallSid=self.call_sid, From=self.caller, **fields)
        response = post_twilio(self.client, path, body)
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        self.last = ElementTree.fromstring(response.data)
        self.history.append(self.last)
        return self.last

    def start(self) -> ElementTree.Element:
        return self._post(VOICE, "voice_incoming")

    def action(self) -> str:
        assert self.last is not None
        found = gather(self.last)
        assert found is not None, "the call is not waiting for input"
        return _path(found.get("action", ""))

    def press(self, digits: str) -> ElementTree.Element:
        return self._post(self.action(), "voice_digits", Digits=digits)

    def say(self, words: str, confidence: str = "0.9123554") -> ElementTree.Element:
        return self._post(self.action(), "voice_speech", SpeechResult=words, Confidence=confidence)

    def record(self, recording_sid: str, seconds: str = "14") -> ElementTree.Element:
        """Nothing was recognised: Twilio fell through to <Record> and posts its action."""
        assert self.last is not None
        record = self.last.find("Record")
        assert record is not None, "no <Record> after the <Gather>"
        return self._post(
            _path(record.get("action", "")),
            "voice_recorded",
            RecordingSid=recording_sid,
            RecordingDuration=seconds,
        )
