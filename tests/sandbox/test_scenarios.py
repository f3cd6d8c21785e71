"""Scenarios fire every trigger, in the shapes of LiveChat's documented samples."""

from __future__ import annotations

import pytest
from fixtures_world import (
    ACME,
    CHAT_DATA,
    SAMPLES,
    add_client,
    add_webhook,
    body_keys,
    deliveries,
    full_sample_keys,
    jsonc_keys,
    receiver_fixture,  # noqa: F401 - fixture
    sandbox_app_fixture,  # noqa: F401 - fixture
    simulate,
)

from consoleapp.extensions import db
from consoleapp.sandbox.configuration_api.models import SandboxWebhook
from consoleapp.sandbox.delivery.matching import CONFIGURATION_ACTIONS, with_secret
from consoleapp.sandbox.delivery.models import SandboxDelivery
from consoleapp.sandbox.world import licenses, scenarios
from consoleapp.sandbox.world.models import SandboxChat

URL = "http://127.0.0.1:9/hooks"
# Payload keys the samples mark optional or leave out while livechat-api.md §3.2 lists them.
OPTIONAL = {
    "chat_deactivated": {"user_id"},
    "chat_transferred": {"queue"},
    "customer_session_fields_updated": {"active_chat"},
}
DOCUMENTED_EXTRAS = {
    "user_added_to_chat": {"user_type"},
    "user_removed_from_chat": {"user_type"},
}
# "id + changed fields only": compare with the full object of the matching *_created sample.
CHANGED_FIELDS = {
    "agent_updated": "agent_created",
    "bot_updated": "bot_created",
    "group_updated": "group_created",
}
# Objects keyed by data (namespaces, agent ids, session field names), not by field names.
DATA_KEYED = {"properties", "agent_priorities", "chat_properties", "session_fields"}
# The envelope of livechat-api.md §4.1, for samples that show only the payload (3.5 group_*).
ENVELOPE = {"webhook_id", "secret_key", "action", "organization_id", "payload", "additional_data"}


def _triggers(version: str) -> set[str]:
    names = {path.stem for path in (SAMPLES / f"v{version}" / "webhooks").glob("*.jsonc")}
    if version == "3.6":
        names.add("event_deleted")  # in livechat-api.md §3.2, without a sample file
    return names


def test_every_trigger_has_a_scenario():
    covered_36 = {t for s in scenarios.SCENARIOS if "3.6" in s.versions for t in s.triggers}
    covered_35 = {t for s in scenarios.SCENARIOS if "3.5" in s.versions for t in s.triggers}
    assert _triggers("3.6") <= covered_36
    assert _triggers("3.5") <= covered_35
    assert "incoming_customer" not in covered_36


def test_jsonc_reader_forgives_the_samples_slips():
    keys = jsonc_keys('{"a": 1, // note\n "b": {"c": [ {"d": 2,}, ]\n }\n "e": "x//y" ]}')
    assert keys[()] == {"a", "b", "e"}
    assert keys[("b",)] == {"c"}
    assert keys[("b", "c", "[]")] == {"d"}


def _register_for(app, client_id: str, scenario: scenarios.Scenario, version: str) -> None:
    for action in scenario.triggers:
        data = [] if action in CONFIGURATION_ACTIONS else CHAT_DATA
        add_webhook(app, client_id, action, URL, api_version=version, additional_data=data)


def _sent_bodies(app, result: dict) -> list[tuple[str, dict]]:
    """(API version of the webhook, body as sent) for each delivery the scenario queued."""
    with app.app_context():
        sent = []
        for delivery_id in result["deliveries"]:
            row = db.session.get(SandboxDelivery, delivery_id)
            webhook = db.session.get(SandboxWebhook, row.webhook_id)
            sent.append((webhook.api_version, with_secret(row.envelope, "s")))
        return sent


def _check_against_sample(body: dict, version: str) -> None:
    """Every key the sandbox sends, at every depth of payload and additional_data, is one the
    documented sample (or the structure a sample placeholder names) has at that path."""
    action = body["action"]
    sample = full_sample_keys(version, action)
    assert sample is not None, (version, action)
    top = sample.get((), ENVELOPE)
    mine = body_keys(body)
    # Two samples (chat_transferred, thread_summary_set) leave out additional_data, which
    # livechat-api.md §4.1 says every delivery carries ({} when nothing was requested).
    assert mine[()] - top <= {"additional_data"}, action
    assert top <= mine[()], action
    allowed = {path: set(keys) for path, keys in sample.items()}
    allowed[()] = top | {"additional_data"}
    allowed.setdefault(("payload",), set()).update(DOCUMENTED_EXTRAS.get(action, set()))
    if "additional_data" not in top:
        allowed.setdefault(("additional_data",), set()).update(CHAT_DATA)
    if action in CHANGED_FIELDS:
        assert "id" in mine[("payload",)]
        for path, keys in (full_sample_keys(version, CHANGED_FIELDS[action]) or {}).items():
            if path[:1] == ("payload",):
                allowed.setdefault(path, set()).update(keys)
    elif not isinstance(body["payload"], list):
        required = sample.get(("payload",), set()) - OPTIONAL.get(action, set())
        assert required <= mine[("payload",)], action
    for path, names in mine.items():
        if not names or DATA_KEYED & set(path):
            continue
        unknown = names - allowed.get(path, set())
        assert not unknown, (version, action, ".".join(path), sorted(unknown))


def test_sample_check_looks_into_nested_structures():
    """The check is recursive: an invented key deep inside the thread of incoming_chat fails."""
    body = {
        "webhook_id": "w", "secret_key": "s", "action": "incoming_chat", "organization_id": "o",
        "payload": {"chat": {"id": "C", "users": [], "properties": {},
                             "thread": {"id": "T", "events": [{"id": "E", "type": "message"}]}}},
        "additional_data": {},
    }  # fmt: skip
    _check_against_sample(body, "3.6")
    body["payload"]["chat"]["thread"]["events"][0]["invented"] = 1
    with pytest.raises(AssertionError, match="invented"):
        _check_against_sample(body, "3.6")
    body["payload"]["chat"]["thread"]["events"][0].pop("invented")
    body["payload"]["chat"]["users"].append({"id": "u", "type": "agent", "colour": "red"})
    with pytest.raises(AssertionError, match="colour"):
        _check_against_sample(body, "3.5")


@pytest.mark.parametrize("name", [item.name for item in scenarios.SCENARIOS])
def test_scenario_bodies_match_the_documented_samples(sandbox_app, name):
    chosen = scenarios.BY_NAME[name]
    client_id = add_client(sandbox_app)
    for version in chosen.versions:
        _register_for(sandbox_app, client_id, chosen, version)
    client = sandbox_app.test_client()
    result = simulate(client, name, **({"queued": True} if name == "transfer_chat" else {}))
    sent = _sent_bodies(sandbox_app, result)
    assert {body["action"] for _, body in sent} >= set(chosen.triggers)
    assert {version for version, _ in sent} == set(chosen.versions)
    for version, body in sent:
        _check_against_sample(body, version)


def test_versions_get_their_own_shapes(sandbox_app):
    client_id = add_client(sandbox_app)
    actions = ("agent_created", "incoming_rich_message_postback", "chat_transferred")
    for version in ("3.5", "3.6"):
        for action in actions:
            add_webhook(sandbox_app, client_id, action, URL, api_version=version)
    client = sandbox_app.test_client()
    sent = []
    for name, params in (
        ("create_agent", {}),
        ("press_rich_message_button", {}),
        ("transfer_chat", {"queued": True}),
    ):
        sent += _sent_bodies(sandbox_app, simulate(client, name, **params))
    shapes = {(version, body["action"]): body for version, body in sent}
    assert "requester" in shapes[("3.6", "agent_created")]
    assert "requester" not in shapes[("3.5", "agent_created")]
    postback_36 = shapes[("3.6", "incoming_rich_message_postback")]["payload"]["postback"]
    postback_35 = shapes[("3.5", "incoming_rich_message_postback")]["payload"]["postback"]
    assert set(postback_35) == {"id", "toggled"}
    assert {"button_type", "button_value", "ecommerce"} <= set(postback_36)
    assert "queued_at" in shapes[("3.6", "chat_transferred")]["payload"]["queue"]
    assert "queued_at_us" in shapes[("3.5", "chat_transferred")]["payload"]["queue"]
    assert all("organization_id" in body for _, body in sent)


def test_simulate_answers_before_anything_is_sent(sandbox_app, receiver):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", receiver.url)
    result = simulate(sandbox_app.test_client(), "start_chat")
    assert len(result["deliveries"]) == 1
    assert receiver.received == []
    assert deliveries(sandbox_app.test_client())[0]["status"] == "pending"


def test_simulate_reports_who_performed_it(sandbox_app):
    client_id = add_client(sandbox_app)
    client = sandbox_app.test_client()
    mine = simulate(client, "start_chat")
    assert mine["performed_by"] == "this_app" and mine["source_client_id"] == client_id
    other = simulate(client, "start_chat", performed_by="other_app")
    assert other["source_client_id"] not in {None, client_id}
    system = simulate(client, "close_chat", performed_by="system", chat_id=other["chat_id"])
    assert system["source_client_id"] is None
    assert "user_id" not in system["caused"][0]["payload"]


def test_chat_scenarios_reuse_or_start_a_chat(sandbox_app):
    add_client(sandbox_app)
    client = sandbox_app.test_client()
    first = simulate(client, "send_message", author_type="agent")
    assert [item["action"] for item in first["caused"]] == ["incoming_chat", "incoming_event"]
    assert first["notes"]
    again = simulate(client, "send_message")
    assert again["chat_id"] == first["chat_id"]
    assert [item["action"] for item in again["caused"]] == ["incoming_event"]


@pytest.mark.parametrize(
    ("path", "body", "status", "error_type"),
    [
        ("/sandbox/simulate/no_such_thing", {}, 404, "not_found"),
        ("/sandbox/simulate/send_message", {"colour": "red"}, 422, "validation"),
        ("/sandbox/simulate/send_message", {"author_type": "robot"}, 422, "validation"),
        ("/sandbox/simulate/send_message", {"text": 5}, 422, "validation"),
        ("/sandbox/simulate/send_message", {"text": "x" * 2001}, 422, "validation"),
        ("/sandbox/simulate/send_message", {"queued": "yes"}, 422, "validation"),
        ("/sandbox/simulate/send_message", [1], 400, "validation"),
        ("/sandbox/simulate/send_message", {"chat_id": "NOPE000000"}, 404, "not_found"),
        ("/sandbox/simulate/send_message", {"organization_id": "x"}, 404, "not_found"),
        ("/sandbox/simulate/send_message", {"client_id": "unknown"}, 404, "not_found"),
        ("/sandbox/simulate/create_bot", {"performed_by": "system"}, 422, "validation"),
        ("/sandbox/simulate/set_routing_status", {"status": "offline"}, 422, "validation"),
    ],
)
def test_bad_input_gets_a_json_error(sandbox_app, path, body, status, error_type):
    # No app installed: create_bot has no owner, so it must say so.
    response = sandbox_app.test_client().post(path, json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["type"] == error_type
    assert response.get_json()["error"]["message"]


def test_non_json_bodies_are_refused(sandbox_app):
    client = sandbox_app.test_client()
    form = client.post("/sandbox/simulate/start_chat", data={"a": "b"})
    assert form.status_code == 415
    broken = client.post("/sandbox/simulate/start_chat", data="{", content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json()["error"]["type"] == "validation"


def test_empty_body_uses_defaults(sandbox_app):
    add_client(sandbox_app)
    response = sandbox_app.test_client().post("/sandbox/simulate/start_chat")
    assert response.status_code == 200
    assert response.get_json()["organization_id"] == ACME


def test_closed_chat_cannot_take_messages(sandbox_app):
    add_client(sandbox_app)
    client = sandbox_app.test_client()
    chat_id = simulate(client, "start_chat")["chat_id"]
    simulate(client, "close_chat", chat_id=chat_id)
    response = client.post("/sandbox/simulate/send_message", json={"chat_id": chat_id})
    assert response.status_code == 422
    assert "closed" in response.get_json()["error"]["message"]


def test_scenario_list_is_published(sandbox_app):
    listed = sandbox_app.test_client().get("/sandbox/simulate").get_json()
    assert {item["name"] for item in listed["scenarios"]} == set(scenarios.BY_NAME)
    assert "performed_by" in listed["parameters"]


def test_tagging_a_closed_chat_tags_its_archived_thread(sandbox_app):
    """As LiveChat allows: no new chat, so no surprise "A chat starts" delivery."""
    client_id = add_client(sandbox_app)
    for action in ("incoming_chat", "thread_tagged", "thread_untagged"):
        add_webhook(sandbox_app, client_id, action, URL)
    client = sandbox_app.test_client()
    chat_id = simulate(client, "start_chat")["chat_id"]
    simulate(client, "close_chat")
    tagged = simulate(client, "tag_thread")
    assert tagged["chat_id"] == chat_id
    assert [item["action"] for item in tagged["caused"]] == ["thread_tagged"]
    assert len(tagged["deliveries"]) == 1
    assert tagged["notes"] == [f"Chat {chat_id} is closed, so its archived thread was used."]
    untagged = simulate(client, "untag_thread")
    assert untagged["chat_id"] == chat_id
    assert [item["action"] for item in untagged["caused"]] == ["thread_untagged"]
    with sandbox_app.app_context():
        chat = db.session.get(SandboxChat, chat_id)
        thread = licenses.current_thread(chat)
        assert not thread.active and thread.tags == []
        assert db.session.execute(db.select(db.func.count(SandboxChat.id))).scalar_one() == 1


def test_scenarios_say_what_they_did_first(sandbox_app):
    add_client(sandbox_app)
    client = sandbox_app.test_client()
    pressed = simulate(client, "press_rich_message_button")
    assert [item["action"] for item in pressed["caused"]] == [
        "incoming_chat",
        "incoming_event",
        "incoming_rich_message_postback",
    ]
    assert pressed["notes"][0].startswith("No chat was open, so chat")
    assert "first sent a message with a button" in pressed["notes"][1]
    left = simulate(client, "remove_user_from_chat")
    assert [item["action"] for item in left["caused"]] == [
        "user_added_to_chat",
        "user_removed_from_chat",
    ]
    assert left["notes"] == ["Only one agent was in the chat, so another joined first."]
    untagged = simulate(client, "untag_thread")
    assert [item["action"] for item in untagged["caused"]] == ["thread_tagged", "thread_untagged"]
    assert "so it was tagged first" in untagged["notes"][0]
    changed = simulate(client, "update_auto_access")
    assert changed["notes"] == ["No auto-access rule to change, so one was added first."]
