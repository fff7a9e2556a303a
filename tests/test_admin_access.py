"""Who may open which organiser page: logins, 404 across communities, CSRF, throttling."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.services import Services
from storage.models import User
from tests.admin_support import PASSWORD, add_user, csrf_token, log_in, post_form
from tests.helpers import add_campaign, add_community
from webhooks.app import create_app


@pytest.fixture
def two_towns(services):  # type: ignore[no-untyped-def]
    add_community(services, "cumnock", "Cumnock")
    add_community(services, "blacklands", "Blacklands")
    add_campaign(services, "cumnock")
    add_campaign(services, "blacklands")
    add_user(services, "staff@cumnock.example", "staff", ("cumnock",))
    add_user(services, "org@blacklands.example", "organiser", ("blacklands",))
    add_user(services, "boss@example.org", "admin")
    return services


def admin_urls(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Every admin route, with the community and campaign filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin.login":
            continue
        url = rule.rule.replace("<slug>", "cumnock").replace("<campaign_slug>", "festival-ideas")
        url = url.replace("<fmt>", "csv")
        url = re.sub(r"<int:\w+>", "1", url)
        urls.append((url, sorted(rule.methods - {"HEAD", "OPTIONS"})[0]))
    return sorted(set(urls))


def test_every_admin_route_sends_an_anonymous_visitor_to_the_login(app, client, two_towns):
    routes = admin_urls(app)
    assert len(routes) >= 12
    for url, method in routes:
        response = client.open(url, method=method)
        assert response.status_code in (302, 400), url
        if response.status_code == 302:
            assert "/admin/login" in response.headers["Location"], url
        assert b"Ideas for the winter" not in response.data, url


def test_the_home_page_lists_exactly_the_communities_a_user_may_see(client, two_towns):
    log_in(client, "staff@cumnock.example")
    page = client.get("/admin/").get_data(as_text=True)
    assert "Cumnock" in page and "Blacklands" not in page


def test_an_admin_sees_every_community(client, two_towns):
    log_in(client, "boss@example.org")
    page = client.get("/admin/").get_data(as_text=True)
    assert "Cumnock" in page and "Blacklands" in page


@pytest.mark.parametrize(
    "path",
    [
        "/admin/communities/blacklands/",
        "/admin/communities/blacklands/responses",
        "/admin/communities/blacklands/export.csv",
        "/admin/communities/blacklands/export.jsonl",
        "/admin/communities/blacklands/export.xlsx",
        "/admin/communities/blacklands/poster",
        "/admin/communities/blacklands/poster.pdf",
        "/admin/communities/blacklands/campaigns/festival-ideas/",
        "/admin/communities/blacklands/campaigns/festival-ideas/themes",
        "/admin/communities/blacklands/responses?campaign=festival-ideas&theme=other&upto=9",
    ],
)
def test_staff_of_one_community_get_404_for_another(client, two_towns, path):
    log_in(client, "staff@cumnock.example")
    assert client.get(path).status_code == 404
    assert client.get(path.replace("blacklands", "cumnock")).status_code == 200


def test_staff_read_but_do_not_run_campaigns(client, two_towns):
    log_in(client, "staff@cumnock.example")
    assert client.get("/admin/communities/cumnock/campaigns/new").status_code == 403
    assert client.get("/admin/communities/new").status_code == 403
    assert client.get("/admin/exports").status_code == 403


def test_an_organiser_cannot_close_another_communitys_campaign(client, two_towns):
    log_in(client, "org@blacklands.example")
    response = post_form(
        client,
        "/admin/communities/blacklands/",
        {},
        "/admin/communities/cumnock/campaigns/festival-ideas/close",
    )
    assert response.status_code == 404


def test_a_login_form_without_its_csrf_token_is_refused(client, two_towns):
    response = client.post("/admin/login", data={"email": "boss@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/communities/new", {"name": "Auchinleck", "slug": "auchinleck"}),
        ("/admin/communities/cumnock/campaigns/festival-ideas/close", {}),
        ("/admin/logout", {}),
    ],
)
def test_forms_without_a_csrf_token_are_refused(client, two_towns, path, data):
    log_in(client, "boss@example.org")
    refused = client.post(path, data=data)
    assert refused.status_code == 400
    assert "nothing was changed" in refused.get_data(as_text=True)
    assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert client.get("/admin/").status_code == 200  # still logged in, nothing changed


def test_the_login_form_has_the_contract_fields(client):
    page = client.get("/admin/login").get_data(as_text=True)
    names = set(re.findall(r'name="([^"]+)"', page))
    assert {"email", "password"} <= names
    assert any("csrf" in name for name in names)


def test_a_wrong_password_is_refused_and_the_right_one_lets_you_in(client, two_towns):
    response = log_in(client, "boss@example.org", "not the password")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    response = log_in(client, "BOSS@example.org ", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    with two_towns.db.session_scope() as session:
        assert session.scalar(select(User.last_login_at).where(User.role == "admin")) is not None


def test_login_only_returns_to_admin_pages(client, two_towns):
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    response = client.post(
        "/admin/login?next=https://evil.example/",
        data={"email": "boss@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/admin/")


def test_admin_pages_send_strict_security_headers(client, two_towns):
    log_in(client, "boss@example.org")
    response = client.get("/admin/communities/cumnock/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True)


def test_logging_out_ends_the_session(client, two_towns):
    log_in(client, "boss@example.org")
    post_form(client, "/admin/", {}, "/admin/logout")
    assert client.get("/admin/").status_code == 302


def test_in_production_the_simulator_needs_a_login_and_the_cookie_is_secure(settings, db):
    production = settings.with_changes(env="production")
    built = Services.build(production, db=db)
    app = create_app(production, built=built)
    client = app.test_client()
    add_user(built, "boss@example.org", "admin")
    assert client.get("/simulator").status_code == 404
    token = csrf_token(client.get("/admin/login", base_url="https://localhost").get_data(True))
    response = client.post(
        "/admin/login",
        data={"email": "boss@example.org", "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/admin/login"},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert client.get("/simulator", base_url="https://localhost").status_code == 200


def test_in_production_organisers_and_staff_cannot_open_the_simulator(settings, db):  # type: ignore[no-untyped-def]
    production = settings.with_changes(env="production")
    built = Services.build(production, db=db)
    app = create_app(production, built=built)
    for role in ("organiser", "staff"):
        client = app.test_client()
        add_user(built, f"{role}@example.org", role)
        page = client.get("/admin/login", base_url="https://localhost").get_data(True)
        response = client.post(
            "/admin/login",
            data={
                "email": f"{role}@example.org",
                "password": PASSWORD,
                "csrf_token": csrf_token(page),
            },
            base_url="https://localhost",
            headers={"Referer": "https://localhost/admin/login"},
        )
        assert response.status_code == 302
        assert client.get("/simulator", base_url="https://localhost").status_code == 404
        sent = client.post(
            "/simulator/send", json={"text": "CUMNOCK"}, base_url="https://localhost"
        )
        assert sent.status_code == 404
