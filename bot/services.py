"""The app's long-lived parts (database, vault, channel clients), built once from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.channels.sms import TwilioSender
from bot.channels.telegram import TelegramClient
from bot.config import Settings
from bot.conversation.snapshot import Limits
from storage.crypto import Vault
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What request handlers, the CLI and the worker share."""

    settings: Settings
    db: Database
    vault: Vault
    twilio: TwilioSender | None = None
    telegram: TelegramClient | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Services:
        """Connect to the database and set up each channel whose credentials are present."""
        services = cls(
            settings=settings,
            db=db or Database(settings.database_url),
            vault=Vault(settings.data_key),
        )
        if settings.sms_enabled:
            services.twilio = TwilioSender(
                settings.twilio_account_sid,
                settings.twilio_auth_token,
                settings.twilio_from,
                api_base_url=settings.twilio_api_base_url,
                status_callback=f"{settings.public_base_url}/webhooks/twilio/status",
            )
        if settings.telegram_enabled:
            services.telegram = TelegramClient(
                settings.telegram_bot_token, base_url=settings.telegram_api_base_url
            )
        return services

    def limits(self) -> Limits:
        """What a flood may cost (VOICES_REPLY_LIMIT, VOICES_REPLY_WINDOW_SECONDS, ..._PER_HOUR),
        and where the links in replies point (PUBLIC_BASE_URL)."""
        return Limits(
            self.settings.reply_limit,
            timedelta(seconds=self.settings.reply_window_seconds),
            self.settings.lead_alerts_per_hour,
            public_base_url=self.settings.public_base_url,
        )

    def channel_lines(self) -> list[str]:
        """One start-up line per channel saying whether it is on."""
        lines = []
        if self.twilio is None:
            lines.append(
                "SMS/WhatsApp: off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM)"
            )
        else:
            lines.append(
                f"SMS/WhatsApp: on, webhook {self.settings.public_base_url}/webhooks/twilio/sms"
            )
            lines.append(
                f"Calls: on, voice webhook {self.settings.public_base_url}/webhooks/twilio/voice"
            )
        if self.telegram is None:
            lines.append("Telegram: off (set TELEGRAM_BOT_TOKEN)")
        else:
            lines.append(f"Telegram: on, webhook {self.settings.public_base_url}/webhooks/telegram")
        return lines

    def close(self) -> None:
        if self.telegram is not None:
            self.telegram.close()
        self.db.dispose()
