"""A disclosure of harm gets help at once, reaches the designated lead, and stays out of exports."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.conversation import safeguarding
from storage.models import Community, OutboundMessage, Response, SafeguardingAlert
from tests.conftest import load_telegram, load_twilio, post_twilio
from tests.fuzz_stats import tried
from tests.helpers import Phone, add_campaign, add_community
from webhooks.cli import cli

LEAD_PHONE = "+447700900555"

MUST_MATCH = [
    ("I want to kill myself", "suicide"),
    ("i wnt to die", "suicide"),
    ("sometimes I wanna dieee", "suicide"),
    ("I've been thinking about killing myself", "suicide"),
    ("I just want to end it all", "suicide"),
    ("everyone would be better off without me", "suicide"),
    ("I feel suicidal", "suicide"),
    ("I don't want to live anymore", "suicide"),
    ("I cut myself last night", "self_harm"),
    ("been self-harming again", "self_harm"),
    ("he hits me", "abuse"),
    ("My stepdad hits me when he's drunk", "abuse"),
    ("mum's boyfriend touched me", "abuse"),
    ("I was sexually abused", "abuse"),
    ("I don't feel safe at home", "abuse"),
    ("I'm scared to go home", "abuse"),
    ("he's going to kill me", "danger"),
    ("He’s got a knife", "danger"),
    ("I'm in danger", "danger"),
    ("someone is following me", "danger"),
]

MUST_NOT_MATCH = [
    "this bus kills me",
    "the queue at the post office is killing me",
    "I'm dying to see the festival",
    "my phone died on the way home",
    "the plants died in the frost",
    "hang on a minute",
    "It hit me how lovely the park is",
    "The ball hit me on the head, ha",
    "Fields of oilseed rape by the school",
    "We need a dog grooming place",
    "The council's abuse of power over parking",
    "I cut the grass myself this year",
    "Our team will kill it at the quiz",
    "Dead end road needs a gritter",
    "A diet club would be nice",
]


@pytest.mark.parametrize(("text", "category"), MUST_MATCH, ids=[t for t, _ in MUST_MATCH])
def test_the_default_list_catches_real_disclosures_and_misspellings(text, category):
    assert category in safeguarding.default_list().categories(text)


@pytest.mark.parametrize("text", MUST_NOT_MATCH, ids=MUST_NOT_MATCH)
def test_the_default_list_lets_everyday_phrases_and_false_friends_pass(text):
    assert safeguarding.default_list().categories(text) == []


def test_the_default_help_reply_names_childline_and_samaritans_in_two_segments():
    from bot import texts

    reply = safeguarding.help_reply(None)
    assert "Childline 0800 1111" in reply and "Samaritans 116 123" in reply
    assert texts.sms_segments(reply)[0] <= 2


@pytest.fixture
def town(services):  # type: ignore[no-untyped-def]
    add_community(services)
    add_campaign(services)
    with services.db.session_scope() as session:
        community = session.scalar(select(Community))
        safeguarding.set_lead(session, services.vault, community, "sms", LEAD_PHONE)
    return services


def twiml_messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    from xml.etree import ElementTree

    return [el.text or "" for el in ElementTree.fromstring(response.data).iter("Message")]


def test_a_disclosure_by_sms_is_kept_answered_with_help_queued_and_the_lead_alerted(client, town):
    post_twilio(client, "/webhooks/twilio/sms", load_twilio("sms_keyword"))
    post_twilio(client, "/webhooks/twilio/sms", load_twilio("sms_yes"))
    words = "My dad hits me when he's angry"
    answer = post_twilio(
        client, "/webhooks/twilio/sms", load_twilio("sms_answer", Body=words, MessageSid="SMharm1")
    )
    replies = twiml_messages(answer)
    assert "Childline 0800 1111" in replies[0] and "Samaritans 116 123" in replies[0]
    with town.db.session_scope() as session:
        response = session.scalars(select(Response)).one()
        assert response.text == words and response.safeguarding
        entries = safeguarding.queue(session, response.community_id)
        assert [(e.text, e.categories) for e in entries] == [(words, "abuse")]
        assert entries[0].pseudonym.startswith("r-")
        alert = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "safeguarding")
        ).one()
        assert alert.status == "queued" and alert.resident_id is None
        assert words not in alert.text and LEAD_PHONE not in alert.text
        assert safeguarding.lead_address(session, town.vault, alert) == LEAD_PHONE
        community = session.scalar(select(Community))
        assert LEAD_PHONE not in (community.safeguarding_lead_enc or "")


def test_the_leads_alert_is_delivered_by_sms_through_the_real_twilio_client(
    live_services, twilio_api
):  # type: ignore[no-untyped-def]
    add_community(live_services)
    with live_services.db.session_scope() as session:
        community = session.scalar(select(Community))
        safeguarding.set_lead(session, live_services.vault, community, "sms", LEAD_PHONE)
    Phone(live_services).join()
    Phone(live_services).send("I want to kill myself")
    senders = {"sms": live_services.twilio, "telegram": live_services.telegram}
    assert safeguarding.deliver_lead_alerts(live_services.db, live_services.vault, senders) == 1
    sent = twilio_api.messages(to=LEAD_PHONE)
    assert len(sent) == 1 and "safeguarding" in sent[0].body
    assert "kill" not in sent[0].body
    # Delivered once: a second run sends nothing more.
    assert safeguarding.deliver_lead_alerts(live_services.db, live_services.vault, senders) == 0


def test_a_disclosure_on_telegram_gets_the_help_reply_at_once(
    live_client, live_services, telegram_api
):  # type: ignore[no-untyped-def]
    add_community(live_services)
    add_campaign(live_services)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-webhook-token"}

    def post(update):  # type: ignore[no-untyped-def]
        return live_client.post(
            "/webhooks/telegram",
            data=json.dumps(update),
            content_type="application/json",
            headers=headers,
        )

    post(load_telegram("start_payload"))
    post(load_telegram("callback_join"))
    update = load_telegram("text", update_id=990001)
    update["message"]["text"] = "i cut myself again"
    assert post(update).status_code == 200
    chat = update["message"]["chat"]["id"]
    help_texts = [t for t in telegram_api.sent_texts(chat) if "Samaritans 116 123" in t]
    assert len(help_texts) == 1
    with live_services.db.session_scope() as session:
        assert session.scalars(select(SafeguardingAlert.categories)).all() == ["self_harm"]


def test_a_stranger_who_discloses_harm_still_gets_help(services):  # type: ignore[no-untyped-def]
    add_community(services)
    replies = Phone(services, address="+447700900777").send("please, he hits me")
    assert "Childline 0800 1111" in replies[0]
    with services.db.session_scope() as session:
        assert session.scalars(select(SafeguardingAlert)).all() == []  # no community to alert


def test_a_communitys_own_phrases_and_help_contacts_are_used(services):  # type: ignore[no-untyped-def]
    add_community(
        services,
        safeguarding_words=["county lines"],
        help_contacts="Ayrshire youth line 0800 000 0000.",
    )
    phone = Phone(services)
    phone.join()
    replies = phone.send("older boys want me to do county lines")
    assert replies[0].endswith("Ayrshire youth line 0800 000 0000.")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_the_lead_lists_and_acknowledges_the_queue_and_exports_leave_it_out(services, cli_env):  # type: ignore[no-untyped-def]
    add_community(services)
    add_campaign(services)
    assert run("safeguarding", "set", "--community", "cumnock", "--lead-sms", LEAD_PHONE)[0] == 0
    assert (
        run("safeguarding", "set", "--community", "cumnock", "--add-phrase", "County Lines")[0] == 0
    )
    phone = Phone(services)
    phone.join()
    phone.send("A ceilidh in the square")
    assert "Samaritans" in phone.send("they make me do county lines")[0]
    phone.send("he is going to hurt me")
    code, out = run("safeguarding", "list", "--community", "cumnock")
    assert code == 0 and "he is going to hurt me" in out and "OPEN" in out
    assert "[community]" in out
    assert LEAD_PHONE not in out
    alert_ids = [line.split()[0].lstrip("#") for line in out.splitlines()]
    assert len(alert_ids) == 2
    _, routine = run("export", "--community", "cumnock", "--format", "jsonl")
    assert [json.loads(line)["text"] for line in routine.splitlines()] == [
        "A ceilidh in the square"
    ]
    _, everything = run(
        "export", "--community", "cumnock", "--format", "jsonl", "--include-safeguarding"
    )
    assert "he is going to hurt me" in everything
    for alert_id in alert_ids:
        assert run("safeguarding", "ack", alert_id, "--community", "cumnock")[0] == 0
    assert (
        "no safeguarding alerts waiting" in run("safeguarding", "list", "--community", "cumnock")[1]
    )
    code, out = run("safeguarding", "ack", alert_ids[0], "--community", "cumnock")
    assert code == 2


def test_send_alerts_on_the_command_line_reaches_the_lead(
    services, cli_env, twilio_api, monkeypatch
):  # type: ignore[no-untyped-def]
    from tests.conftest import TWILIO_SID, TWILIO_TOKEN

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", TWILIO_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("TWILIO_FROM", "+447700900000")
    monkeypatch.setenv("TWILIO_API_BASE_URL", twilio_api.base_url)
    add_community(services)
    assert run("safeguarding", "set", "--community", "cumnock", "--lead-sms", LEAD_PHONE)[0] == 0
    phone = Phone(services)
    phone.join()
    phone.send("my boyfriend hits me")
    code, out = run("safeguarding", "send-alerts")
    assert code == 0 and "sent 1" in out
    assert len(twilio_api.messages(to=LEAD_PHONE)) == 1


SURROUNDING = st.text(st.characters(exclude_categories=("Cs",)), max_size=60).map(
    lambda t: t.strip()
)


@settings(max_examples=100, deadline=None, database=None)
@given(before=SURROUNDING, after=SURROUNDING, disclosure=st.sampled_from(MUST_MATCH))
def test_a_disclosure_is_caught_whatever_surrounds_it(before, after, disclosure):  # type: ignore[no-untyped-def]
    tried("safeguarding, disclosures inside arbitrary words")
    text, category = disclosure
    assert category in safeguarding.default_list().categories(f"{before}\n{text}. {after}")


def one_phrase_at_a_time(warnings: safeguarding.WarningList, text: str) -> list[str]:
    """The categories by the simplest search, every compiled phrase in turn: the reference."""
    plain = safeguarding.normalise(text)
    found: list[str] = []
    for category, pattern in warnings.patterns:
        if plain and category not in found and pattern.search(plain):
            found.append(category)
    return found


CUSTOM = safeguarding.list_for(
    Community(
        safeguarding_words=["county lines", "Run away", "  ", "kill myself"], help_contacts="x"
    )
)
SEVERAL = [
    "he hits me and I want to die",
    "I'm in danger, I cut myself and I'm scared to go home",
    "older boys want me to do county lines, I want to run away",
    "kill myself",
    "county linesman",
    "",
    "!!!",
]


@pytest.mark.parametrize(
    "warnings", [safeguarding.default_list(), CUSTOM], ids=["default", "custom"]
)
def test_the_combined_pattern_finds_the_categories_each_phrase_finds(warnings):  # type: ignore[no-untyped-def]
    texts = [text for text, _ in MUST_MATCH] + MUST_NOT_MATCH + SEVERAL
    assert any(one_phrase_at_a_time(warnings, text) for text in texts)
    for text in texts:
        assert warnings.categories(text) == one_phrase_at_a_time(warnings, text), text
    assert CUSTOM.categories("we should run away to the sea") == ["community"]
    assert CUSTOM.categories("county linesman") == []


def test_a_communitys_list_is_built_once_per_phrase_set() -> None:
    first = safeguarding.list_for(Community(safeguarding_words=["county lines"], help_contacts="a"))
    again = safeguarding.list_for(Community(safeguarding_words=["county lines"], help_contacts="a"))
    other = safeguarding.list_for(Community(safeguarding_words=["county lines"], help_contacts="b"))
    assert first is again and first is not other and other.help_contacts == "b"


FRAGMENTS = st.sampled_from(
    [text for text, _ in MUST_MATCH] + MUST_NOT_MATCH + ["county lines", "run", "away", "my self"]
)


@settings(max_examples=150, deadline=None, database=None)
@given(parts=st.lists(st.one_of(FRAGMENTS, SURROUNDING), max_size=6))
def test_the_combined_pattern_agrees_with_each_phrase_on_any_mix(parts):  # type: ignore[no-untyped-def]
    tried("safeguarding, combined pattern against phrase by phrase")
    text = " ".join(parts)
    for warnings in (safeguarding.default_list(), CUSTOM):
        assert warnings.categories(text) == one_phrase_at_a_time(warnings, text)
