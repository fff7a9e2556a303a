"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL), the app,
a guard that refuses any connection off loopback, and helpers to sign provider requests."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.services import Services
from storage.db import Database
from storage.models import Base
from webhooks.app import create_app

FIXTURES = Path(__file__).parent / "fixtures"
PUBLIC_BASE_URL = "https://voices.example.org"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
TELEGRAM_TOKEN = "123456:TEST-TOKEN"
TELEGRAM_SECRET = "s3cret-webhook-token"
DATA_KEY = Fernet.generate_key().decode()

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX sockets are local by definition
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not leave loopback (tried {address!r})")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not leave loopback (tried {address!r})")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that would leave this machine."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for this test run; PostgreSQL gets its own schema."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        path = tmp_path_factory.mktemp("db") / "voices.db"
        url = f"sqlite:///{path}"
        Database(url).upgrade()
        yield url
        return
    schema = f"test_{secrets.token_hex(4)}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    migrated = Database(rendered)
    migrated.upgrade()
    migrated.dispose()
    try:
        yield rendered
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def _shared_db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def db(_shared_db: Database) -> Iterator[Database]:
    """The test database, emptied after each test."""
    yield _shared_db
    with _shared_db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings as production would have them, with every channel switched on."""
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key",
        data_key=DATA_KEY,
        env="development",
        public_base_url=PUBLIC_BASE_URL,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from="+447700900000",
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        instance_path=tmp_path / "instance",
    )


@pytest.fixture
def services(settings: Settings, db: Database) -> Iterator[Services]:
    built = Services.build(settings, db=db)
    yield built
    if built.telegram is not None:
        built.telegram.close()


@pytest.fixture
def app(settings: Settings, services: Services):  # type: ignore[no-untyped-def]
    application = create_app(settings, built=services, test_config={"TESTING": True})
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def twilio_signature(path: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for this path and form."""
    return RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, params)


def post_twilio(client, path: str, params: dict[str, str], *, signature: str | None = None):  # type: ignore[no-untyped-def]
    """POST a form to a Twilio webhook route, signed like Twilio signs it."""
    header = twilio_signature(path, params) if signature is None else signature
    return client.post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": header},
    )


@pytest.fixture
def telegram_api() -> Iterator[object]:
    """A loopback Bot API server for the real python-telegram-bot client."""
    from tests.fakes.telegram_api import FakeTelegramAPI

    with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
def twilio_api() -> Iterator[object]:
    """A loopback Twilio REST API for the real twilio client."""
    from tests.fakes.twilio_api import FakeTwilioAPI

    with FakeTwilioAPI() as fake:
        yield fake


@pytest.fixture
def live_settings(settings: Settings, telegram_api, twilio_api) -> Settings:  # type: ignore[no-untyped-def]
    """Settings whose Telegram and Twilio clients talk to the loopback fakes."""
    return settings.with_changes(
        telegram_api_base_url=telegram_api.base_url, twilio_api_base_url=twilio_api.base_url
    )


@pytest.fixture
def live_services(live_settings: Settings, db: Database) -> Iterator[Services]:
    built = Services.build(live_settings, db=db)
    yield built
    if built.telegram is not None:
        built.telegram.close()


@pytest.fixture
def live_client(live_settings: Settings, live_services: Services, telegram_api):  # type: ignore[no-untyped-def]
    """A test client that also runs the Bot API call a Telegram webhook answers with."""
    from tests.fakes.telegram_api import RelayingClient

    application = create_app(live_settings, built=live_services, test_config={"TESTING": True})
    application.test_client_class = RelayingClient
    client = application.test_client()
    client.telegram_api, client.token = telegram_api, TELEGRAM_TOKEN
    return client


def load_twilio(name: str, **changes: str) -> dict[str, str]:
    """A real Twilio webhook body from tests/fixtures/twilio, with some fields changed."""
    from urllib.parse import parse_qsl

    body = (FIXTURES / "twilio" / f"{name}.txt").read_text(encoding="utf-8").strip()
    params = dict(parse_qsl(body, keep_blank_values=True))
    params.update(changes)
    return params


def load_telegram(name: str, **changes: object) -> dict:  # type: ignore[type-arg]
    """A real Telegram Update from tests/fixtures/telegram, with top-level fields changed."""
    import json

    data = json.loads((FIXTURES / "telegram" / f"{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    return data


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Report how many cases the property-based tests tried, and what the fault tests saw."""
    from tests.fault_stats import REPORT
    from tests.fuzz_stats import CASES

    if REPORT:
        terminalreporter.write_sep("-", "worker faults")
        for line in REPORT:
            terminalreporter.write_line(line)

    if CASES:
        terminalreporter.write_sep("-", f"hypothesis: {sum(CASES.values())} cases tried")
        for name, count in sorted(CASES.items()):
            terminalreporter.write_line(f"{count:>6}  {name}")


@pytest.fixture
def cli_env(monkeypatch, database_url, db, tmp_path):  # type: ignore[no-untyped-def]
    """The environment `voices` reads, pointed at the test database; channels off."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VOICES_DATA_KEY", DATA_KEY)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("VOICES_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return db
