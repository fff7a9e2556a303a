"""WhatsApp's 24-hour window: free text only after a resident's recent message, else a template."""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from twilio.base.exceptions import TwilioRestException

from bot.channels.base import TransientSendError
from bot.channels.sms import WHATSAPP_PREFIX, TwilioSender, _classify
from bot.messages import Outbound


@runtime_checkable
class TemplateSender(Protocol):
    """A sender that can also send an approved WhatsApp template."""

    channel: str

    def send(self, outbound: Outbound) -> str | None: ...

    def send_template(self, outbound: Outbound, content_sid: str) -> str | None: ...


class TwilioChannelSender:
    """TwilioSender plus approved-template sends for WhatsApp outside the 24-hour window."""

    def __init__(self, twilio: TwilioSender) -> None:
        self.twilio = twilio
        self.channel = twilio.channel

    def send(self, outbound: Outbound) -> str | None:
        """Send free text (SMS, or WhatsApp inside the window)."""
        return self.twilio.send(outbound)

    def send_template(self, outbound: Outbound, content_sid: str) -> str | None:
        """Send the community's approved template, with the prompt text as variable 1."""
        kwargs: dict[str, Any] = {
            "to": outbound.address,
            "content_sid": content_sid,
            "content_variables": json.dumps({"1": outbound.text}),
        }
        sender = self.twilio.sender
        if sender.startswith("MG"):
            kwargs["messaging_service_sid"] = sender
        else:
            kwargs["from_"] = (
                sender if sender.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + sender
            )
        if self.twilio.status_callback:
            kwargs["status_callback"] = self.twilio.status_callback
        try:
            message = self.twilio.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except Exception as exc:  # network trouble
            raise TransientSendError(f"twilio: {type(exc).__name__}: {exc}") from exc
        return message.sid
