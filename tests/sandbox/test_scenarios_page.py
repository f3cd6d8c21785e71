"""The Scenarios page: it keeps its choices from press to press and says why nothing was sent."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fixtures_world import (
    ACME,
    GLOBEX,
    add_client,
    add_webhook,
    sandbox_app_fixture,  # noqa: F401 - fixture
    simulate,
)

from consoleapp.extensions import db
from consoleapp.models import utcnow
from consoleapp.sandbox.accounts.models import SandboxClient, SandboxInstallation
from consoleapp.sandbox.world.models import SandboxBot

URL = "http://127.0.0.1:9/hooks"


def press(client, scenario: str, **settings: str):
    form = {
        "organization_id": ACME,
        "client_id": "",
        "performed_by": "this_app",
        "author_type": "customer",
        **settings,
        "scenario": scenario,
    }
    return client.post("/sandbox/scenarios", data=form)


def page_text(client, path: str) -> str:
    return html.unescape(client.get(path).get_data(as_text=True))


def selected(page: str, name: str) -> str | None:
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    found = re.search(r'<option selected value="([^"]*)"', select)
    return found.group(1) if found else None


def flashes(page: str) -> list[tuple[str, str]]:
    return re.findall(r'class="flash flash-(\w+)"[^>]*>(.*?)</', page, re.S)


def test_the_choices_stay_set_after_a_press(sandbox_app):
    client_id = add_client(sandbox_app)
    client = sandbox_app.test_client()
    response = press(
        client,
        "send_message",
        client_id=client_id,
        performed_by="system",
        author_type="agent",
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert parse_qs(urlsplit(location).query) == {
        "organization_id": [ACME],
        "client_id": [client_id],
        "performed_by": ["system"],
        "author_type": ["agent"],
    }
    page = page_text(client, location)
    assert selected(page, "organization_id") == ACME
    assert selected(page, "client_id") == client_id
    assert selected(page, "performed_by") == "system"
    assert selected(page, "author_type") == "agent"
    # A failed press keeps them too.
    failed = press(client, "create_bot", organization_id=GLOBEX, performed_by="system")
    assert selected(page_text(client, failed.headers["Location"]), "organization_id") == GLOBEX


def test_unknown_choices_in_the_address_are_ignored(sandbox_app):
    client = sandbox_app.test_client()
    page = page_text(
        client, "/sandbox/scenarios?performed_by=robot&author_type=agent&client_id=nope"
    )
    assert selected(page, "performed_by") is None  # the first, "This app"
    assert selected(page, "author_type") == "agent"
    assert selected(page, "client_id") is None


def test_deliveries_queued_are_counted_in_green(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", URL)
    client = sandbox_app.test_client()
    page = page_text(client, press(client, "start_chat").headers["Location"])
    assert flashes(page) == [
        ("success", "A customer starts a chat: incoming_chat. 1 delivery queued (incoming_chat).")
    ]


def test_zero_deliveries_say_why_in_amber(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", URL)
    add_webhook(sandbox_app, client_id, "incoming_event", URL, filters={"author_type": "agent"})
    client = sandbox_app.test_client()
    page = page_text(client, press(client, "send_message").headers["Location"])
    [(category, text)] = flashes(page)
    assert category == "warning"
    assert "A message is sent (customer or agent): incoming_chat, incoming_event." in text
    assert "No chat was open, so chat" in text and "was started first" in text
    assert "1 delivery queued (incoming_chat)." in text
    assert (
        "0 deliveries queued for incoming_event: App" in text
        and "'s webhook takes only messages from agents, and this one came from a customer." in text
    )
    assert "0 deliveries queued." not in text


def test_the_page_says_what_a_scenario_does_first(sandbox_app):
    page = page_text(sandbox_app.test_client(), "/sandbox/scenarios")
    assert 'aria-describedby="first-send_message"' in page
    assert "Uses the latest open chat; starts one first if none is open." in page
    assert "Uses the latest chat, even a closed one (its archived thread)" in page
    assert 'aria-describedby="first-start_chat"' not in page


@pytest.mark.parametrize(
    ("setup", "params", "reason"),
    [
        ("nothing", {}, "no app has a webhook registered for incoming_event"),
        (
            "agents only",
            {},
            "'s webhook takes only messages from agents, and this one came from a customer",
        ),
        (
            "this app only",
            {"performed_by": "system"},
            "'s webhook takes only what is done by its own app, and this was done by LiveChat "
            "on its own",
        ),
        (
            "chats it started",
            {"performed_by": "other_app"},
            "'s webhook takes only chats its own app started, and this chat was started by another",
        ),
        ("someone present", {}, "'s webhook leaves this chat out because of who is in it"),
        ("not installed", {}, " is not installed on Acme Support, so its webhooks hear nothing"),
        ("webhooks off", {}, "license webhooks are turned off for App"),
        ("later", {}, "was registered moments ago and starts at"),
        ("bot offline", {}, "'s webhook is a bot webhook, and App"),
    ],
)
def test_why_nothing_was_sent(sandbox_app, setup, params, reason):
    client_id = add_client(sandbox_app, install_on=None if setup == "not installed" else ACME)
    filters = {
        "agents only": {"author_type": "agent"},
        "this app only": {"source_type": ["my_client"]},
        "chats it started": {"only_my_chats": True},
        "someone present": {"chat_presence": {"user_ids": {"values": ["nobody@example.com"]}}},
    }.get(setup, {})
    if setup != "nothing":
        add_webhook(
            sandbox_app,
            client_id,
            "incoming_event",
            URL,
            filters=filters,
            type_="bot" if setup == "bot offline" else "license",
            active_from=utcnow() + timedelta(minutes=2) if setup == "later" else None,
        )
    with sandbox_app.app_context():
        if setup == "webhooks off":
            installation = db.session.execute(db.select(SandboxInstallation)).scalar_one()
            installation.webhooks_enabled = False
        db.session.commit()
        name = db.session.get(SandboxClient, client_id).name
        assert db.session.execute(db.select(SandboxBot)).first() is None
    client = sandbox_app.test_client()
    chat_id = simulate(client, "start_chat", performed_by=params.get("performed_by", "system"))
    result = simulate(client, "send_message", chat_id=chat_id["chat_id"], **params)
    [caused] = result["caused"]
    assert caused["deliveries"] == []
    assert reason in caused["nothing_sent_because"], caused["nothing_sent_because"]
    if setup not in ("nothing", "later"):
        assert name in caused["nothing_sent_because"]


def test_a_delivery_that_was_sent_carries_no_reason(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", URL)
    [caused] = simulate(sandbox_app.test_client(), "start_chat")["caused"]
    assert len(caused["deliveries"]) == 1
    assert "nothing_sent_because" not in caused
