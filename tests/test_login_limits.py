"""Password guessing is slowed per account and per address; logging out ends the session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import login_limits, users
from storage.models import LoginFailure
from tests.admin_support import PASSWORD, add_user, csrf_token, log_in, post_form
from webhooks.app import create_app, trusted_proxies


@pytest.fixture
def proxied(settings, services):  # type: ignore[no-untyped-def]
    """A client behind one trusted proxy, which sets X-Forwarded-For."""
    app = create_app(settings, built=services, test_config={"TESTING": True, "TRUSTED_PROXIES": 1})
    add_user(services, "boss@example.org", "admin")
    return app.test_client()


def try_from(client, address: str, email: str, password: str = "a wrong guess"):  # type: ignore[no-untyped-def]
    headers = {"X-Forwarded-For": address}
    token = csrf_token(client.get("/admin/login", headers=headers).get_data(as_text=True))
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token},
        headers=headers,
    )


def time_passes(services, seconds: int) -> None:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        for failure in session.scalars(select(LoginFailure)):
            failure.failed_at -= timedelta(seconds=seconds)


def failures(services) -> int:  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        return len(session.scalars(select(LoginFailure)).all())


def test_guesses_from_many_addresses_slow_the_account_down_but_never_lock_it(proxied, services):  # type: ignore[no-untyped-def]
    for n in range(5):
        assert try_from(proxied, f"203.0.113.{n}", "boss@example.org").status_code == 401
    refused = try_from(proxied, "198.51.100.7", "boss@example.org", PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert "Please wait 2 seconds" in refused.get_data(as_text=True)
    assert failures(services) == 5  # refused tries do not count: no one can hold the account
    time_passes(services, 2)
    assert try_from(proxied, "203.0.113.9", "boss@example.org").status_code == 401
    assert try_from(proxied, "203.0.113.9", "boss@example.org").headers["Retry-After"] == "4"
    time_passes(services, 4)
    assert try_from(proxied, "198.51.100.7", "boss@example.org", PASSWORD).status_code == 302


def test_the_delay_doubles_up_to_five_minutes():  # type: ignore[no-untyped-def]
    delays = [login_limits.account_delay(n) for n in range(4, 14)]
    assert delays == [0, 2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_one_address_trying_many_accounts_is_stopped_and_others_are_not(proxied, services):  # type: ignore[no-untyped-def]
    for n in range(login_limits.ADDRESS_MAX_FAILURES):
        assert try_from(proxied, "203.0.113.5", f"user{n}@example.org").status_code == 401
    refused = try_from(proxied, "203.0.113.5", "boss@example.org", PASSWORD)
    assert refused.status_code == 429
    assert "from your network" in refused.get_data(as_text=True)
    assert try_from(proxied, "203.0.113.6", "boss@example.org", PASSWORD).status_code == 302


def test_without_a_trusted_proxy_x_forwarded_for_cannot_dodge_the_address_limit(client, services):  # type: ignore[no-untyped-def]
    for n in range(login_limits.ADDRESS_MAX_FAILURES):
        assert try_from(client, f"203.0.113.{n}", f"user{n}@example.org").status_code == 401
    assert try_from(client, "198.51.100.1", "new@example.org").status_code == 429


def test_a_cookie_copied_before_logout_no_longer_works(client, services):  # type: ignore[no-untyped-def]
    add_user(services, "boss@example.org", "admin")
    log_in(client, "boss@example.org")
    copied = client.get_cookie("session").value
    post_form(client, "/admin/", {}, "/admin/logout")
    client.set_cookie("session", copied)
    assert client.get("/admin/").status_code == 302
    log_in(client, "boss@example.org")
    assert client.get("/admin/").status_code == 200


def test_changing_x_forwarded_for_does_not_log_anyone_out(proxied, client, services):  # type: ignore[no-untyped-def]
    for web in (proxied, client):
        assert try_from(web, "203.0.113.1", "boss@example.org", PASSWORD).status_code == 302
        moved = web.get("/admin/", headers={"X-Forwarded-For": "198.51.100.99"})
        assert moved.status_code == 200


@pytest.mark.parametrize(
    "password",
    ["password123", "Password2024!", "qwertyuiop", "1234567890", "!!football1", "aaaaaaaaaaaa"],
)
def test_common_passwords_are_refused_whatever_their_length(services, password):  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session, pytest.raises(users.UserError) as refused:
        users.create_user(session, "new@example.org", password, "staff", [])
    assert "most common" in str(refused.value)


def test_an_uncommon_long_password_is_accepted(services):  # type: ignore[no-untyped-def]
    with services.db.session_scope() as session:
        users.create_user(session, "new@example.org", "tall ferns by the loch", "staff", [])


@pytest.mark.parametrize("value", ["x", "-1", "99", "1.5"])
def test_a_wrong_number_of_trusted_proxies_is_one_clear_sentence(value):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="VOICES_TRUSTED_PROXIES must be a whole number"):
        trusted_proxies(value)
