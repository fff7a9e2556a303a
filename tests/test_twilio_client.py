"""The Twilio sender's client: one per sending thread, the environment's proxy still honoured."""

from __future__ import annotations

import threading

from bot.channels.sms import TwilioSender


def _sender() -> TwilioSender:
    return TwilioSender("AC" + "0" * 32, "token", "+447700900000")


def test_each_sending_thread_has_its_own_client_and_keeps_it():
    sender = _sender()
    mine = sender.client
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(sender.client))
    thread.start()
    thread.join()
    assert sender.client is mine
    assert theirs and theirs[0] is not mine
    assert theirs[0].http_client.session is not mine.http_client.session


def test_the_environment_s_proxy_is_read_once_and_still_used(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = _sender().client.http_client.session
    assert session.proxies.get("https") == "http://proxy.example:3128"
    # Read once: a later change to the environment is not looked up for every message.
    assert session.trust_env is False


def test_no_proxy_for_twilio_s_host_is_honoured(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "api.twilio.com")
    session = _sender().client.http_client.session
    assert "https" not in session.proxies
