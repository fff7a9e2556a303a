"""The community form's SMS number is checked and stored in E.164."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Community
from tests.admin_support import add_user, log_in, post_form
from tests.helpers import add_community
from webhooks.admin.phone_numbers import as_e164


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+44 7400 123456", "+447400123456"),
        ("07400 123456", "+447400123456"),
        ("(0)7400-123-456", "+447400123456"),
        ("+1 (201) 555-0123", "+12015550123"),
    ],
)
def test_numbers_typed_any_common_way_are_kept_in_e164(typed, stored):  # type: ignore[no-untyped-def]
    assert as_e164(typed) == stored


@pytest.mark.parametrize(
    "typed", ["call me", "+44 12", "<script>", "+999 1234567", "+44 7700 900123"]
)
def test_anything_else_is_one_clear_sentence(typed):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"^That is not a phone number"):
        as_e164(typed)


@pytest.fixture
def organiser(client, services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock")
    add_user(services, "org@example.org", "organiser", ("cumnock",))
    log_in(client, "org@example.org")
    return services


def form(number: str) -> dict[str, str]:
    return {
        "name": "Auchinleck",
        "slug": "auchinleck",
        "keyword": "",
        "timezone": "Europe/London",
        "sms_number": number,
    }


def test_the_community_form_stores_the_number_in_e164(client, organiser):  # type: ignore[no-untyped-def]
    assert post_form(client, "/admin/communities/new", form("07400 123456")).status_code == 302
    with organiser.db.session_scope() as session:
        created = session.scalar(select(Community).where(Community.slug == "auchinleck"))
        assert created.sms_number == "+447400123456"


def test_the_community_form_refuses_text_as_a_number(client, organiser):  # type: ignore[no-untyped-def]
    response = post_form(client, "/admin/communities/new", form("ring the hall"))
    assert response.status_code in (200, 400)
    assert "That is not a phone number" in response.get_data(as_text=True)
    with organiser.db.session_scope() as session:
        assert session.scalar(select(Community).where(Community.slug == "auchinleck")) is None
