"""The sandbox's deliveries, sent over HTTP as LiveChat sends them, land in the console's Inbox."""

from __future__ import annotations

import json

import pytest
from fixtures_world import CHAT_DATA, add_client, add_webhook, deliveries, run_due, simulate

from consoleapp.extensions import db
from consoleapp.models import Delivery, DeliveryEvent
from support import INBOX_SECRET, add_webhook_set


@pytest.fixture
def served(live_server_factory):
    """The console and its sandbox on one socket; deliveries are sent when a test says so."""
    return live_server_factory(worker=False, SANDBOX_DELIVERY_TIMEOUT=5)


def stored(app) -> list[Delivery]:
    with app.app_context():
        rows = db.session.execute(db.select(Delivery).order_by(Delivery.id)).scalars().all()
        db.session.expunge_all()
        return list(rows)


@pytest.mark.parametrize(
    ("version", "scenario", "action"),
    [
        ("3.6", "send_message", "incoming_event"),
        ("3.5", "start_chat", "incoming_chat"),
        ("3.3", "start_chat", "incoming_chat"),
        ("3.6", "create_group", "group_created"),
    ],
)
def test_sandbox_deliveries_are_verified_in_the_inbox(served, version, scenario, action):
    app = served.app
    _, token = add_webhook_set(app)
    client_id = add_client(app)
    add_webhook(
        app,
        client_id,
        action,
        f"{served.url}/hooks/{token}",
        api_version=version,
        secret=INBOX_SECRET,
        additional_data=CHAT_DATA if action == "incoming_event" else None,
    )
    client = app.test_client()
    if scenario == "send_message":
        simulate(client, "start_chat")
    simulate(client, scenario)
    assert run_due(app) >= 1
    [delivery] = [item for item in stored(app) if item.action == action]
    assert delivery.verified, delivery.rejection
    assert INBOX_SECRET not in delivery.body
    envelope = json.loads(delivery.body)
    assert ("license_id" in envelope) is (version == "3.3")
    assert ("requester" in envelope) is (action == "group_created")


def test_a_delivery_with_the_wrong_secret_is_rejected_and_the_sandbox_sees_401(served):
    app = served.app
    _, token = add_webhook_set(app)
    add_webhook(
        app, add_client(app), "incoming_chat", f"{served.url}/hooks/{token}", secret="other"
    )
    client = app.test_client()
    simulate(client, "start_chat")
    run_due(app)
    [attempt] = deliveries(client)[0]["attempts"]
    assert attempt["status_code"] == 401
    [delivery] = stored(app)
    assert not delivery.verified and delivery.rejection == "wrong secret key"
    with app.app_context():
        assert db.session.execute(db.select(DeliveryEvent)).first() is None
