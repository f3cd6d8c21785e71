"""Delivery as LiveChat does it: envelopes, filters, background sending, retries."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fixtures_world import (
    ACME,
    CHAT_DATA,
    GLOBEX,
    add_client,
    add_webhook,
    deliveries,
    receiver_fixture,  # noqa: F401 - fixture
    run_due,
    sandbox_app_fixture,  # noqa: F401 - fixture
    simulate,
)
from local_receiver import Answer, closed_port

from consoleapp.extensions import db, queue
from consoleapp.models import utcnow
from consoleapp.sandbox import delivery
from consoleapp.sandbox.accounts import seed
from consoleapp.sandbox.accounts.models import SandboxInstallation
from consoleapp.sandbox.configuration_api.models import SandboxWebhook
from consoleapp.sandbox.delivery.models import SandboxDelivery
from consoleapp.sandbox.world import licenses
from consoleapp.sandbox.world.models import SandboxChat
from support import ThreadedWorker, run_queued_tasks


def _installation(app, client_id: str, **changes: object) -> None:
    with app.app_context():
        row = db.session.execute(
            db.select(SandboxInstallation).where(SandboxInstallation.client_id == client_id)
        ).scalar_one()
        for key, value in changes.items():
            setattr(row, key, value)
        db.session.commit()


def test_delivery_reaches_the_receiver_with_the_documented_envelope(sandbox_app, receiver):
    client_id = add_client(sandbox_app)
    webhook_id = add_webhook(
        sandbox_app, client_id, "incoming_event", receiver.url, secret="top-secret"
    )
    client = sandbox_app.test_client()
    result = simulate(client, "send_message", text="hello there")
    assert run_due(sandbox_app) == 1
    assert len(receiver.received) == 1
    sent = receiver.received[0]
    assert sent.method == "POST" and sent.path == "/hooks"
    assert sent.headers["Content-Type"] == "application/json"
    body = sent.json()
    assert list(body) == [
        "webhook_id",
        "secret_key",
        "action",
        "organization_id",
        "payload",
        "additional_data",
    ]
    assert body["webhook_id"] == webhook_id
    assert body["secret_key"] == "top-secret"
    assert body["organization_id"] == ACME
    assert body["payload"]["chat_id"] == result["chat_id"]
    assert body["payload"]["event"]["text"] == "hello there"
    assert body["additional_data"] == {}
    listed = deliveries(client)[0]
    assert listed["status"] == "delivered"
    assert listed["body"]["secret_key"] == "[redacted]"
    assert [(a["number"], a["status_code"]) for a in listed["attempts"]] == [(1, 200)]


def test_secret_is_not_stored_with_the_queued_delivery(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/", secret="zzz-only")
    simulate(sandbox_app.test_client(), "start_chat")
    with sandbox_app.app_context():
        row = db.session.execute(db.select(SandboxDelivery)).scalar_one()
        assert "zzz-only" not in str(row.envelope)


def test_additional_data_is_sent_when_requested(sandbox_app, receiver):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "thread_tagged", receiver.url, additional_data=CHAT_DATA)
    client = sandbox_app.test_client()
    simulate(client, "set_chat_properties", text="five")
    simulate(client, "tag_thread", tag="vip")
    run_due(sandbox_app)
    body = receiver.received[0].json()
    assert body["payload"]["tag"] == "vip"
    assert body["additional_data"]["chat_properties"] == {client_id: {"rating": "five"}}
    assert len(body["additional_data"]["chat_presence_user_ids"]) == 2


def test_configuration_webhooks_carry_the_requester_in_36_only(sandbox_app, receiver):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "group_created", receiver.url, api_version="3.6")
    add_webhook(sandbox_app, client_id, "group_created", receiver.url, api_version="3.5")
    simulate(sandbox_app.test_client(), "create_group")
    run_due(sandbox_app)
    bodies = [item.json() for item in receiver.received]
    with_requester = [body for body in bodies if "requester" in body]
    assert len(bodies) == 2 and len(with_requester) == 1
    requester = with_requester[0]["requester"]
    assert requester["client_id"] == client_id
    assert requester["account_id"] == seed.account_id("acme", "ada")


def test_versions_before_34_get_an_integer_license_id(sandbox_app, receiver):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", receiver.url, api_version="3.3")
    simulate(sandbox_app.test_client(), "start_chat")
    run_due(sandbox_app)
    body = receiver.received[0].json()
    assert "organization_id" not in body
    assert body["license_id"] == 10_500_001


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(status=500), "answered 500, not 200"),
        (Answer(status=204, body=b""), "answered 204, not 200"),
        (Answer(status=302, location="http://169.254.169.254/"), "redirect not followed (302)"),
        (Answer(delay=3), "timed out after 0.5 s"),
    ],
)
def test_failures_are_retried_three_times_then_given_up(sandbox_app, receiver, answer, error):
    receiver.default = answer
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "chat_deactivated", receiver.url)
    client = sandbox_app.test_client()
    simulate(client, "close_chat")
    assert run_due(sandbox_app) == 1
    assert run_due(sandbox_app, after_seconds=1) == 0  # the first retry waits
    for offset in (6, 22, 53):
        assert run_due(sandbox_app, after_seconds=offset) == 1
    assert run_due(sandbox_app, after_seconds=600) == 0
    listed = deliveries(client)[0]
    assert listed["status"] == "failed"
    assert [attempt["number"] for attempt in listed["attempts"]] == [1, 2, 3, 4]
    assert {attempt["error"] for attempt in listed["attempts"]} == {error}
    assert len(receiver.received) == 4
    # The sandbox keeps working afterwards.
    assert client.get("/sandbox/").status_code == 200
    assert simulate(client, "start_chat")["caused"]


def test_an_endpoint_that_drips_its_answer_is_cut_off_at_the_deadline(sandbox_app, receiver):
    """A byte every 0.3 s never trips the 0.5 s read timeout; the 0.5 s deadline ends it."""
    receiver.default = Answer(drip=0.3, body=b"x" * 20)
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", receiver.url)
    client = sandbox_app.test_client()
    simulate(client, "start_chat")
    assert run_due(sandbox_app) == 1
    assert receiver.hung_up.wait(5), "the connection was left open"
    listed = deliveries(client)[0]
    assert listed["status"] == "pending"  # to be retried, as LiveChat does
    attempt = listed["attempts"][0]
    assert attempt["error_class"] == "timeout"
    assert attempt["error"] == "timed out after 0.5 s"


def test_refused_connection_is_a_failed_attempt(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", f"http://127.0.0.1:{closed_port()}/")
    client = sandbox_app.test_client()
    simulate(client, "start_chat")
    run_due(sandbox_app)
    attempt = deliveries(client)[0]["attempts"][0]
    assert attempt["status_code"] is None
    assert attempt["error"] == "connection refused"


def test_retry_that_succeeds_stops_retrying(sandbox_app, receiver):
    receiver.answer(Answer(status=500), Answer(status=200))
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", receiver.url)
    client = sandbox_app.test_client()
    simulate(client, "start_chat")
    run_due(sandbox_app)
    run_due(sandbox_app, after_seconds=6)
    assert run_due(sandbox_app, after_seconds=60) == 0
    listed = deliveries(client)[0]
    assert listed["status"] == "delivered"
    assert [a["status_code"] for a in listed["attempts"]] == [500, 200]


def test_private_target_is_refused_when_private_targets_are_off(app_factory):
    app = app_factory(ENVIRON={"ALLOW_PRIVATE_TARGETS": "off"})
    client_id = add_client(app)
    add_webhook(app, client_id, "incoming_chat", "http://10.0.0.5/hooks")
    client = app.test_client()
    simulate(client, "start_chat")
    run_due(app)
    assert deliveries(client)[0]["attempts"][0]["error"] == "address is not publicly reachable"


def test_unregistered_webhook_drops_its_queued_deliveries(sandbox_app):
    client_id = add_client(sandbox_app)
    webhook_id = add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/")
    client = sandbox_app.test_client()
    simulate(client, "start_chat")
    with sandbox_app.app_context():
        db.session.delete(db.session.get(SandboxWebhook, webhook_id))
        db.session.commit()
    run_due(sandbox_app)
    listed = deliveries(client)[0]
    assert listed["status"] == "dropped" and listed["attempts"] == []


def test_a_claimed_delivery_is_sent_once(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/")
    simulate(sandbox_app.test_client(), "start_chat")
    with sandbox_app.app_context():
        delivery_id = db.session.execute(db.select(SandboxDelivery.id)).scalar_one()
        now, lease = utcnow(), timedelta(seconds=60)
        assert delivery._claim(delivery_id, "worker-a", now, lease)
        assert not delivery._claim(delivery_id, "worker-b", now, lease)
        assert delivery.run_due() == 0
        # A crashed worker's claim expires and another picks the row up.
        assert delivery._claim(delivery_id, "worker-b", now + timedelta(seconds=61), lease)


def test_a_delivery_task_is_queued_when_the_event_commits_and_a_worker_sends_it(
    app_factory, receiver
):
    app = app_factory(SANDBOX_DELIVERY_TIMEOUT=0.5)
    client_id = add_client(app)
    add_webhook(app, client_id, "incoming_chat", receiver.url)
    simulate(app.test_client(), "start_chat")
    assert [task.name for task in queue.huey.pending()] == ["deliver"]
    worker = ThreadedWorker()
    try:
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert len(receiver.received) == 1
    assert deliveries(app.test_client())[0]["status"] == "delivered"


def test_an_event_that_rolls_back_queues_nothing(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/")
    with sandbox_app.app_context():
        from consoleapp.sandbox.world import scenarios

        scenarios.run("start_chat", None)
        db.session.rollback()
    assert queue.huey.pending() == []


def test_a_failed_attempt_schedules_its_retry_as_a_task(sandbox_app, receiver):
    receiver.answer(Answer(status=500))
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", receiver.url)
    simulate(sandbox_app.test_client(), "start_chat")
    assert run_queued_tasks() == 1
    assert [task.name for task in queue.huey.scheduled()] == ["deliver"]
    assert len(receiver.received) == 1


def test_a_lost_delivery_task_is_queued_again(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/")
    simulate(sandbox_app.test_client(), "start_chat")
    queue.huey.flush()  # the worker that took the task died with it
    with sandbox_app.app_context():
        assert delivery.requeue_overdue() == 0  # not overdue yet
        assert delivery.requeue_overdue(utcnow() + timedelta(seconds=20)) == 1
    assert [task.name for task in queue.huey.pending()] == ["deliver"]


# -- filters -----------------------------------------------------------------------------


def _fires(app, action: str, filters: dict, scenario: str, **params: object) -> bool:
    client_id = add_client(app)
    add_webhook(app, client_id, action, "http://127.0.0.1:9/", filters=filters)
    client = app.test_client()
    if params.pop("chat_first", False):
        simulate(client, "start_chat", performed_by=params.pop("chat_by", "this_app"))
    return bool(simulate(client, scenario, **params)["deliveries"])


@pytest.mark.parametrize(
    ("filters", "params", "fires"),
    [
        ({"author_type": "agent"}, {"author_type": "agent"}, True),
        ({"author_type": "agent"}, {"author_type": "customer"}, False),
        ({"author_type": "customer"}, {"author_type": "customer"}, True),
        ({"source_type": ["my_client"]}, {"performed_by": "this_app"}, True),
        ({"source_type": ["my_client"]}, {"performed_by": "other_app"}, False),
        ({"source_type": ["other_clients", "system"]}, {"performed_by": "system"}, True),
        ({"source_type": ["other_clients"]}, {"performed_by": "system"}, False),
        ({"only_my_chats": True}, {"chat_first": True, "chat_by": "this_app"}, True),
        ({"only_my_chats": True}, {"chat_first": True, "chat_by": "other_app"}, False),
        ({"only_my_chats": False}, {"chat_first": True, "chat_by": "system"}, True),
        ({"chat_presence": {"user_ids": {"values": ["ada@acme.example"]}}}, {}, True),
        ({"chat_presence": {"user_ids": {"values": ["someone@else.example"]}}}, {}, False),
        ({"chat_presence": {"user_ids": {"exclude_values": ["ada@acme.example"]}}}, {}, False),
        ({"chat_presence": {"user_ids": {"exclude_values": ["x@y.example"]}}}, {}, True),
        ({"chat_presence": {"my_bots": True}}, {}, False),
    ],
)
def test_incoming_event_filters(sandbox_app, filters, params, fires):
    assert _fires(sandbox_app, "incoming_event", filters, "send_message", **params) is fires


def test_my_bots_fires_when_the_apps_bot_is_in_the_chat(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(
        sandbox_app,
        client_id,
        "incoming_event",
        "http://127.0.0.1:9/",
        filters={"chat_presence": {"my_bots": True}},
    )
    client = sandbox_app.test_client()
    chat_id = simulate(client, "start_chat")["chat_id"]
    assert simulate(client, "send_message")["deliveries"] == []
    with sandbox_app.app_context():
        organization = licenses.organization_or_default(ACME)
        bot = licenses.ensure_bot(organization, client_id)
        chat = db.session.get(SandboxChat, chat_id)
        chat.users = [*chat.users, {"id": bot.id, "type": "agent", "present": True}]
        db.session.commit()
    assert simulate(client, "send_message")["deliveries"]


@pytest.mark.parametrize(
    ("filters", "fires"),
    [
        ({"agent_ids": {"values": ["ada@acme.example"]}}, True),
        ({"agent_ids": {"exclude_values": ["ada@acme.example"]}}, False),
        ({"agent_ids": {"values": ["nick@acme.example"]}}, False),
    ],
)
def test_routing_status_agent_ids(sandbox_app, filters, fires):
    assert _fires(sandbox_app, "routing_status_set", filters, "set_routing_status") is fires


def test_webhooks_off_or_uninstalled_or_not_yet_active_do_not_fire(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/")
    client = sandbox_app.test_client()
    assert simulate(client, "start_chat")["deliveries"]
    _installation(sandbox_app, client_id, webhooks_enabled=False)
    assert simulate(client, "start_chat")["deliveries"] == []
    _installation(sandbox_app, client_id, webhooks_enabled=True, uninstalled_at=utcnow())
    assert simulate(client, "start_chat", client_id=client_id)["deliveries"] == []
    later = add_client(sandbox_app)
    add_webhook(
        sandbox_app,
        later,
        "incoming_chat",
        "http://127.0.0.1:9/",
        active_from=utcnow() + timedelta(minutes=2),
    )
    assert simulate(client, "start_chat", client_id=later)["deliveries"] == []


def test_events_on_another_license_do_not_reach_apps_not_installed_there(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/")
    client = sandbox_app.test_client()
    other = simulate(client, "start_chat", organization_id=GLOBEX, performed_by="other_app")
    assert other["deliveries"] == []


def test_bot_webhooks_fire_only_while_the_bot_is_online(sandbox_app):
    client_id = add_client(sandbox_app, install_on=None)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/", type_="bot")
    client = sandbox_app.test_client()
    params = {"client_id": client_id}
    assert simulate(client, "start_chat", **params)["deliveries"] == []
    simulate(client, "set_routing_status", target="bot", status="accepting chats", **params)
    assert simulate(client, "start_chat", **params)["deliveries"]
    simulate(client, "set_routing_status", target="bot", status="offline", **params)
    assert simulate(client, "start_chat", **params)["deliveries"] == []


def test_deliveries_json_filters_and_shows_one(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/")
    add_webhook(sandbox_app, client_id, "incoming_event", "http://127.0.0.1:9/")
    client = sandbox_app.test_client()
    simulate(client, "send_message")
    assert {item["action"] for item in deliveries(client, action="incoming_event")} == {
        "incoming_event"
    }
    first = deliveries(client)[0]
    shown = client.get(f"/sandbox/deliveries/{first['id']}").get_json()
    assert shown["id"] == first["id"]
    assert client.get("/sandbox/deliveries/999999").status_code == 404
