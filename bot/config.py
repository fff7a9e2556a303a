"""Settings read from the environment and an optional `.env` file."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography.fernet import Fernet
from dotenv import load_dotenv

DEFAULT_DATABASE_URL = "sqlite:///instance/voices.db"


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one sentence for the user."""


@dataclass(frozen=True)
class Settings:
    """Everything the app, the CLI and the worker need to know about their surroundings."""

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    data_key: str = ""
    env: str = "development"
    public_base_url: str = "http://127.0.0.1:5000"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_api_base_url: str = ""
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base_url: str = ""
    instance_path: Path = Path("instance")
    retention_days: int | None = None
    # At most this many replies to one contact for the messages of any window (floods).
    reply_limit: int = 20
    reply_window_seconds: int = 600
    lead_alerts_per_hour: int = 10
    notices: tuple[str, ...] = field(default=())

    @property
    def sms_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def with_changes(self, **changes: object) -> Settings:
        """Return a copy with some settings replaced (tests and the CLI use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _keep_or_generate(path: Path, make: callable) -> str:  # type: ignore[valid-type]
    """Read a development key from `path`, creating it on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def _retention_days(environ: dict[str, str]) -> int | None:
    retention = environ.get("VOICES_RETENTION_DAYS", "").strip()
    if retention and (not retention.isdigit() or int(retention) < 1):
        raise ConfigError(
            f"VOICES_RETENTION_DAYS must be a whole number of days, not {retention!r}."
        )
    return int(retention) if retention else None


def _whole_number(environ: dict[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}.")
    return int(value)


def load_settings(environ: dict[str, str] | None = None, *, read_dotenv: bool = True) -> Settings:
    """Build settings from the environment; development fills in missing keys once."""
    if environ is None:
        if read_dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        environ = dict(os.environ)
    env = environ.get("VOICES_ENV", "development").strip().lower() or "development"
    if env not in {"development", "production"}:
        raise ConfigError(f"VOICES_ENV must be 'development' or 'production', not {env!r}.")
    instance = Path(environ.get("VOICES_INSTANCE_PATH", "instance"))
    secret_key = environ.get("SECRET_KEY", "").strip()
    data_key = environ.get("VOICES_DATA_KEY", "").strip()
    notices: list[str] = []
    if env == "production":
        missing = [
            name for name, v in (("SECRET_KEY", secret_key), ("VOICES_DATA_KEY", data_key)) if not v
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} must be set when VOICES_ENV=production "
                "(`voices keygen` prints a new VOICES_DATA_KEY)."
            )
    else:
        if not secret_key:
            secret_key = _keep_or_generate(instance / "secret_key", lambda: secrets.token_hex(32))
            notices.append(f"development: SECRET_KEY kept in {instance / 'secret_key'}")
        if not data_key:
            data_key = _keep_or_generate(
                instance / "data_key", lambda: Fernet.generate_key().decode()
            )
            notices.append(f"development: VOICES_DATA_KEY kept in {instance / 'data_key'}")
    retention = _retention_days(environ)
    try:
        Fernet(data_key.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            "VOICES_DATA_KEY is not a valid Fernet key; `voices keygen` prints a new one."
        ) from exc
    return Settings(
        database_url=environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        secret_key=secret_key,
        data_key=data_key,
        env=env,
        public_base_url=environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").strip().rstrip("/"),
        twilio_account_sid=environ.get("TWILIO_ACCOUNT_SID", "").strip(),
        twilio_auth_token=environ.get("TWILIO_AUTH_TOKEN", "").strip(),
        twilio_from=environ.get("TWILIO_FROM", "").strip(),
        twilio_api_base_url=environ.get("TWILIO_API_BASE_URL", "").strip().rstrip("/"),
        telegram_bot_token=environ.get("TELEGRAM_BOT_TOKEN", "").strip(),
        telegram_webhook_secret=environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
        telegram_api_base_url=environ.get("TELEGRAM_API_BASE_URL", "").strip(),
        instance_path=instance,
        retention_days=retention,
        reply_limit=_whole_number(environ, "VOICES_REPLY_LIMIT", 20),
        reply_window_seconds=_whole_number(environ, "VOICES_REPLY_WINDOW_SECONDS", 600),
        lead_alerts_per_hour=_whole_number(environ, "VOICES_LEAD_ALERTS_PER_HOUR", 10),
        notices=tuple(notices),
    )
