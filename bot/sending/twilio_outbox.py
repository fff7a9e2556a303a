"""Sending through Twilio from the outbox: the community's own number, WhatsApp's templates."""

from __future__ import annotations

import json
from typing import Any

from twilio.base.exceptions import TwilioRestException

from bot.channels.base import TransientSendError
from bot.channels.sms import WHATSAPP_PREFIX, TwilioSender, _classify
from bot.messages import Outbound


class TwilioChannelSender:
    """Twilio's REST client for outbox sends: a community's own number, WhatsApp templates."""

    def __init__(self, twilio: TwilioSender) -> None:
        self.twilio = twilio
        self.channel = twilio.channel

    def prepare_thread(self) -> None:
        """Build this thread's Twilio client before its first send."""
        self.twilio.prepare_thread()

    def send(
        self, outbound: Outbound, from_number: str | None = None, content_sid: str | None = None
    ) -> str | None:
        """Send free text, or the approved template with the prompt text as variable 1."""
        kwargs: dict[str, Any] = {"to": outbound.address}
        if content_sid:
            kwargs["content_sid"] = content_sid
            kwargs["content_variables"] = json.dumps({"1": outbound.text})
        else:
            kwargs["body"] = outbound.text
        sender = from_number or self.twilio.sender
        if sender.startswith("MG"):
            kwargs["messaging_service_sid"] = sender
        elif outbound.address.startswith(WHATSAPP_PREFIX) and not sender.startswith(
            WHATSAPP_PREFIX
        ):
            kwargs["from_"] = WHATSAPP_PREFIX + sender
        else:
            kwargs["from_"] = sender
        if self.twilio.status_callback:
            kwargs["status_callback"] = self.twilio.status_callback
        try:
            message = self.twilio.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except Exception as exc:  # network trouble: timeouts, refused connections
            raise TransientSendError(f"twilio: {type(exc).__name__}: {exc}") from exc
        return message.sid
