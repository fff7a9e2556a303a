"""The Twilio sender's client: one per sending thread, the environment's proxy still honoured,
and requests on the wire as twilio's own client would send them."""

from __future__ import annotations

import threading

import pytest
from twilio.base.exceptions import TwilioRestException

from bot.channels.sms import TwilioSender
from tests.fakes.twilio_api import FakeTwilioAPI


def _sender(base_url: str = "") -> TwilioSender:
    return TwilioSender("AC" + "0" * 32, "token", "+447700900000", api_base_url=base_url)


def test_each_sending_thread_has_its_own_client_and_keeps_it():
    sender = _sender()
    mine = sender.client
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(sender.client))
    thread.start()
    thread.join()
    assert sender.client is mine
    assert theirs and theirs[0] is not mine
    assert theirs[0].http_client.pool is not mine.http_client.pool


def test_the_environment_s_proxy_is_read_once_and_used(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    http = _sender().client.http_client
    assert http.proxy == "http://proxy.example:3128"
    assert http.pool.proxy.host == "proxy.example"


def test_no_proxy_for_twilio_s_host_is_honoured(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "api.twilio.com")
    http = _sender().client.http_client
    assert http.proxy is None
    assert not hasattr(http.pool, "proxy") or http.pool.proxy is None


def test_a_message_reaches_the_api_as_an_authenticated_form_post():
    with FakeTwilioAPI(credentials=("AC" + "0" * 32, "token")) as api:
        sender = _sender(api.base_url)
        message = sender.client.messages.create(
            to="+447700900123",
            from_="+447700900000",
            body="Hello — 👋 & thanks",
            status_callback="https://voices.example/webhooks/twilio/status",
        )
        assert message.sid.startswith("SM") and message.status == "queued"
        [call] = api.messages()
        assert (call.to, call.from_, call.body, call.sid) == (
            "+447700900123",
            "+447700900000",
            "Hello — 👋 & thanks",
            message.sid,
        )
        assert call.status_callback == "https://voices.example/webhooks/twilio/status"
        # A wrong token is refused, and the refusal reaches the caller as twilio's own error.
        wrong = TwilioSender("AC" + "0" * 32, "not-the-token", "+447700900000", api.base_url)
        with pytest.raises(TwilioRestException) as raised:
            wrong.client.messages.create(to="+447700900123", from_="+447700900000", body="Hi")
        assert (raised.value.status, raised.value.code) == (401, 20003)


def test_an_error_answer_raises_twilio_s_own_exception(twilio_api):
    twilio_api.fail_next(400, 21211, "The 'To' number is not a valid phone number.")
    sender = _sender(twilio_api.base_url)
    with pytest.raises(TwilioRestException) as raised:
        sender.client.messages.create(to="+447700900123", from_="+447700900000", body="Hi")
    assert (raised.value.status, raised.value.code) == (400, 21211)
    assert "not a valid phone number" in raised.value.msg
