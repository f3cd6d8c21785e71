"""The sandbox's Configuration API webhook methods, through HTTP (livechat-api.md §1-§2)."""

from __future__ import annotations

import pytest
from sandbox_helpers import (
    Sandbox,
    api,
    bearer,
    error_of,
    other_organization_client,
    provision,
    register,
    stored_webhooks,
    tokens,
    webhook_body,
)

from consoleapp.extensions import db
from consoleapp.sandbox.configuration_api.models import SandboxWebhook

LISTED_KEYS = {"id", "url", "action", "filters", "owner_client_id", "type"}


# -- list_webhook_names --------------------------------------------------------------------

ONLY_35 = {"incoming_customer"}
ONLY_36 = {"event_deleted", "thread_summary_set"}
COMMON = {
    "incoming_chat", "chat_deactivated", "chat_access_updated", "chat_transferred",
    "user_added_to_chat", "user_removed_from_chat", "incoming_event", "event_updated",
    "incoming_rich_message_postback", "chat_properties_updated", "chat_properties_deleted",
    "thread_properties_updated", "thread_properties_deleted", "event_properties_updated",
    "event_properties_deleted", "thread_tagged", "thread_untagged", "routing_status_set",
    "customer_session_fields_updated", "agent_created", "agent_approved", "agent_updated",
    "agent_suspended", "agent_unsuspended", "agent_deleted", "auto_accesses_updated",
    "bot_created", "bot_updated", "bot_deleted", "group_created", "group_updated",
    "group_deleted", "tag_created", "tag_updated", "tag_deleted", "events_marked_as_seen",
}  # fmt: skip


@pytest.mark.parametrize(
    ("version", "expected"), [("3.5", COMMON | ONLY_35), ("3.6", COMMON | ONLY_36)]
)
def test_list_webhook_names_per_version_without_auth(client, version, expected):
    response = api(client, "list_webhook_names", {"version": version}, version=version)
    names = response.get_json()
    assert response.status_code == 200
    assert {item["action"] for item in names} == expected
    assert len(names) == len(expected)
    for item in names:
        assert set(item) <= {"action", "filters", "additional_data"}


def test_list_webhook_names_shapes(client):
    names = {item["action"]: item for item in api(client, "list_webhook_names").get_json()}
    assert names["incoming_event"] == {
        "action": "incoming_event",
        "filters": ["chat_presence", "author_type", "only_my_chats", "source_type"],
        "additional_data": ["chat_properties", "chat_presence_user_ids"],
    }
    assert names["agent_deleted"] == {"action": "agent_deleted", "filters": ["source_type"]}
    assert names["routing_status_set"]["filters"] == ["agent_ids", "source_type"]
    assert names["customer_session_fields_updated"]["filters"] == ["chat_presence", "source_type"]


def test_list_webhook_names_defaults_to_the_stable_version(client):
    names = api(client, "list_webhook_names", {}, version="3.5").get_json()
    assert "thread_summary_set" in {item["action"] for item in names}
    legacy = api(client, "list_webhook_names", {"version": "3.5"}).get_json()
    assert {"action": "incoming_customer", "filters": ["source_type"]} in legacy


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"version": "3.9"}, "`version` '3.9' is not supported; use one of 3.5, 3.6"),
        ({"version": 3.6}, "`version` must be a string"),
        ({"versions": "3.6"}, "`versions` is not a supported field"),
    ],
)
def test_list_webhook_names_validation(client, body, message):
    response = api(client, "list_webhook_names", body)
    assert response.status_code == 400
    assert error_of(response) == ("validation", message)


# -- register, list, unregister ------------------------------------------------------------


def test_register_list_unregister_with_a_pat(app, client, sandbox: Sandbox):
    body = webhook_body(
        sandbox,
        action="chat_deactivated",
        description="chat closed ✓",
        filters={
            "chat_presence": {"user_ids": {"values": ["agent@example.com"]}, "my_bots": True},
            "source_type": ["other_clients", "system"],
        },
        additional_data=["chat_properties", "chat_presence_user_ids"],
        secret_key="sëcret ключ",
    )
    response = api(client, "register_webhook", body, sandbox.pat_headers)
    assert response.status_code == 200
    webhook_id = response.get_json()["id"]
    assert set(response.get_json()) == {"id"} and len(webhook_id) == 32

    listed = api(
        client, "list_webhooks", {"owner_client_id": sandbox.client_id}, sandbox.pat_headers
    )
    assert listed.status_code == 200
    assert listed.get_json() == [
        {
            "id": webhook_id,
            "url": body["url"],
            "description": "chat closed ✓",
            "action": "chat_deactivated",
            "filters": body["filters"],
            "additional_data": body["additional_data"],
            "owner_client_id": sandbox.client_id,
            "type": "license",
        }
    ]
    (row,) = stored_webhooks(app)
    with app.app_context():
        row = db.session.get(SandboxWebhook, webhook_id)
        assert row.secret_key == "sëcret ключ"
        assert "sëcret".encode() not in row.secret_key_sealed
        assert row.api_version == "3.6"

    removed = api(
        client,
        "unregister_webhook",
        {"id": webhook_id, "owner_client_id": sandbox.client_id},
        sandbox.pat_headers,
    )
    assert removed.status_code == 200 and removed.get_json() == {}
    assert stored_webhooks(app) == []


def test_list_shows_the_documented_keys_only(client, sandbox: Sandbox):
    register(client, sandbox)
    (item,) = api(
        client, "list_webhooks", {"owner_client_id": sandbox.client_id}, sandbox.pat_headers
    ).get_json()
    assert set(item) == LISTED_KEYS
    assert item["filters"] == {}


def test_register_with_an_oauth_token(client, sandbox: Sandbox):
    headers = bearer(tokens(client, sandbox)["access_token"])
    assert register(client, sandbox, headers=headers).status_code == 200
    listed = api(client, "list_webhooks", {"owner_client_id": sandbox.client_id}, headers)
    assert len(listed.get_json()) == 1


@pytest.mark.parametrize("version", ["3.5", "3.6"])
def test_both_versions_register(client, sandbox: Sandbox, version):
    assert register(client, sandbox, version=version).status_code == 200


def test_version_specific_actions(client, sandbox: Sandbox):
    assert register(client, sandbox, "3.5", action="incoming_customer").status_code == 200
    for action in ("event_deleted", "thread_summary_set"):
        assert register(client, sandbox, "3.6", action=action).status_code == 200
        response = register(client, sandbox, "3.5", action=action)
        assert error_of(response) == (
            "validation",
            f"`action` '{action}' is not a webhook action in version 3.5",
        )
    response = register(client, sandbox, "3.6", action="incoming_customer")
    assert error_of(response)[0] == "validation"


LONG_URL = "https://hooks.example/" + "a" * (500 - len("https://hooks.example/"))

BAD_REGISTER = [
    ({"action": None}, "`action` is required"),
    ({"secret_key": None}, "`secret_key` is required"),
    ({"url": None}, "`url` is required"),
    ({"owner_client_id": None}, "`owner_client_id` is required"),
    ({"type": None}, "`type` is required"),
    ({"type": "user"}, "`type` must be one of: license, bot"),
    ({"type": 1}, "`type` must be a string"),
    ({"action": "chat_started"}, "`action` 'chat_started' is not a webhook action in version 3.6"),
    ({"action": ["incoming_chat"]}, "`action` must be a string"),
    ({"url": LONG_URL + "a"}, "`url` must have at most 500 characters"),
    ({"url": "ftp://hooks.example/x"}, "`url` must be an http:// or https:// URL with a host"),
    ({"url": "https://hooks.example/a b"}, "`url` must not contain spaces"),
    ({"url": 42}, "`url` must be a string"),
    ({"secret_key": ""}, "`secret_key` must not be empty"),
    ({"secret_key": "x" * 1001}, "`secret_key` must have at most 1000 characters"),
    ({"secret_key": "a\nb"}, "`secret_key` must not contain control characters"),
    ({"description": "d" * 1001}, "`description` must have at most 1000 characters"),
    ({"description": 5}, "`description` must be a string"),
    ({"owner_client_id": "x" * 65}, "`owner_client_id` must have at most 64 characters"),
    ({"colour": "red"}, "`colour` is not a supported field"),
    ({"filters": []}, "`filters` must be an object"),
    ({"filters": {"colour": "red"}}, "`filters.colour` is not a supported filter"),
    ({"action": "chat_deactivated", "filters": {"author_type": "agent"}},
     "`filters.author_type` is not allowed for action chat_deactivated; allowed: "
     "chat_presence, only_my_chats, source_type"),
    ({"action": "incoming_event", "filters": {"author_type": "bot"}},
     "`filters.author_type` must be one of: customer, agent"),
    ({"filters": {"only_my_chats": "yes"}}, "`filters.only_my_chats` must be a boolean"),
    ({"filters": {"only_my_chats": 1}}, "`filters.only_my_chats` must be a boolean"),
    ({"action": "agent_created", "filters": {"only_my_chats": True}},
     "`filters.only_my_chats` is not allowed for action agent_created; allowed: source_type"),
    ({"action": "routing_status_set", "filters": {"chat_presence": {"my_bots": True}}},
     "`filters.chat_presence` is not allowed for action routing_status_set; allowed: "
     "agent_ids, source_type"),
    ({"action": "customer_session_fields_updated", "filters": {"only_my_chats": True}},
     "`filters.only_my_chats` is not allowed for action customer_session_fields_updated; "
     "allowed: chat_presence, source_type"),
    ({"filters": {"agent_ids": {"values": ["a"]}}},
     "`filters.agent_ids` is not allowed for action incoming_chat; allowed: chat_presence, "
     "only_my_chats, source_type"),
    ({"filters": {"chat_presence": []}}, "`filters.chat_presence` must be an object"),
    ({"filters": {"chat_presence": {}}}, "`filters.chat_presence` needs `user_ids` or `my_bots`"),
    ({"filters": {"chat_presence": {"user_ids": {"values": ["a"], "exclude_values": ["b"]}}}},
     "`filters.chat_presence.user_ids` needs exactly one of `values` or `exclude_values`"),
    ({"filters": {"chat_presence": {"user_ids": {}}}},
     "`filters.chat_presence.user_ids` needs exactly one of `values` or `exclude_values`"),
    ({"filters": {"chat_presence": {"user_ids": {"values": "a"}}}},
     "`filters.chat_presence.user_ids.values` must be an array of strings"),
    ({"filters": {"chat_presence": {"user_ids": {"exclude_values": [1]}}}},
     "`filters.chat_presence.user_ids.exclude_values` must be an array of strings"),
    ({"filters": {"chat_presence": {"user_ids": {"values": []}}}},
     "`filters.chat_presence.user_ids.values` must not be empty"),
    ({"filters": {"chat_presence": {"user_ids": {"values": ["a"], "any": ["b"]}}}},
     "`filters.chat_presence.user_ids.any` is not a supported field"),
    ({"filters": {"chat_presence": {"my_bots": "true"}}},
     "`filters.chat_presence.my_bots` must be a boolean"),
    ({"filters": {"chat_presence": {"bots": True}}},
     "`filters.chat_presence.bots` is not a supported field"),
    ({"filters": {"source_type": ["app"]}},
     "`filters.source_type` has an unknown value 'app'; use my_client, other_clients, system"),
    ({"filters": {"source_type": "system"}}, "`filters.source_type` must be an array of strings"),
    ({"filters": {"source_type": []}}, "`filters.source_type` must not be empty"),
    ({"action": "routing_status_set", "filters": {"agent_ids": {"values": ["a"],
      "exclude_values": ["b"]}}},
     "`filters.agent_ids` needs exactly one of `values` or `exclude_values`"),
    ({"additional_data": ["chat_users"]},
     "`additional_data` has an unknown value 'chat_users'; use chat_properties, "
     "chat_presence_user_ids"),
    ({"additional_data": "chat_properties"}, "`additional_data` must be an array of strings"),
    ({"action": "agent_created", "additional_data": ["chat_properties"]},
     "`additional_data` is not allowed for action agent_created"),
    ({"action": "incoming_customer"},
     "`action` 'incoming_customer' is not a webhook action in version 3.6"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "message"), BAD_REGISTER)
def test_register_validation(app, client, sandbox: Sandbox, overrides, message):
    response = register(client, sandbox, **overrides)
    assert response.status_code == 400
    assert error_of(response) == ("validation", message)
    assert stored_webhooks(app) == []


GOOD_REGISTER = [
    {"url": LONG_URL},
    {"url": "http://127.0.0.1:5000/hooks/abc"},
    {"description": ""},
    {"description": "Ünïcødé ✓ 🚀"},
    {"secret_key": "ключ 🔑"},
    {"type": "bot"},
    {"additional_data": []},
    {"filters": {}},
    {"filters": {"only_my_chats": False, "source_type": ["my_client", "my_client"]}},
    {"filters": {"chat_presence": {"user_ids": {"exclude_values": ["a@b.c"]}}}},
    {"action": "incoming_event", "filters": {"author_type": "customer"}},
    {"action": "event_updated", "filters": {"author_type": "agent"}},
    {"action": "routing_status_set", "filters": {"agent_ids": {"values": ["a@b.c"]}},
     "additional_data": ["chat_properties"]},
    {"action": "group_created", "filters": {"source_type": ["system"]}},
]  # fmt: skip


@pytest.mark.parametrize("overrides", GOOD_REGISTER)
def test_register_accepts_what_livechat_allows(app, client, sandbox: Sandbox, overrides):
    response = register(client, sandbox, **overrides)
    assert response.status_code == 200, response.get_json()
    assert len(stored_webhooks(app)) == 1


def test_owner_client_of_another_organization_is_refused(app, client, sandbox: Sandbox):
    foreign = other_organization_client(app)
    for client_id in (foreign, "0" * 32):
        response = register(client, sandbox, owner_client_id=client_id)
        assert response.status_code == 403
        assert error_of(response) == (
            "authorization",
            f"`owner_client_id` '{client_id}' is not a client of your organization",
        )
        for method, body in [
            ("list_webhooks", {"owner_client_id": client_id}),
            ("unregister_webhook", {"id": "x", "owner_client_id": client_id}),
        ]:
            other = api(client, method, body, sandbox.pat_headers)
            assert error_of(other)[0] == "authorization"
    assert stored_webhooks(app) == []


def test_at_most_three_webhooks_per_action_per_client(app, client, sandbox: Sandbox):
    ids = [register(client, sandbox).get_json()["id"] for _ in range(3)]
    fourth = register(client, sandbox, url="https://hooks.example/4")
    assert fourth.status_code == 422
    assert error_of(fourth) == (
        "limit_reached",
        "`action` incoming_chat already has 3 webhooks for this client; unregister one first",
    )
    assert len(stored_webhooks(app)) == 3
    assert register(client, sandbox, action="chat_deactivated").status_code == 200
    other = provision(client)
    assert register(client, other).status_code == 200
    api(
        client,
        "unregister_webhook",
        {"id": ids[0], "owner_client_id": sandbox.client_id},
        sandbox.pat_headers,
    )
    assert register(client, sandbox).status_code == 200


def test_list_shows_only_the_clients_webhooks(client, sandbox: Sandbox):
    other = provision(client)
    register(client, sandbox)
    register(client, other)
    listed = api(
        client, "list_webhooks", {"owner_client_id": other.client_id}, sandbox.pat_headers
    ).get_json()
    assert [item["owner_client_id"] for item in listed] == [other.client_id]


@pytest.mark.parametrize(
    ("method", "body", "message"),
    [
        ("list_webhooks", {}, "`owner_client_id` is required"),
        ("list_webhooks", {"owner_client_id": 7}, "`owner_client_id` must be a string"),
        ("list_webhooks", {"owner_client_id": "c", "x": 1}, "`x` is not a supported field"),
        ("unregister_webhook", {"owner_client_id": "{client}"}, "`id` is required"),
        ("unregister_webhook", {"id": "abc"}, "`owner_client_id` is required"),
        ("unregister_webhook", {"id": ["a"], "owner_client_id": "{client}"},
         "`id` must be a string"),
    ],
)  # fmt: skip
def test_list_and_unregister_validation(client, sandbox: Sandbox, method, body, message):
    body = {key: sandbox.client_id if value == "{client}" else value for key, value in body.items()}
    response = api(client, method, body, sandbox.pat_headers)
    assert response.status_code == 400
    assert error_of(response) == ("validation", message)


def test_unregister_unknown_or_foreign_webhook(client, sandbox: Sandbox):
    other = provision(client)
    foreign_id = register(client, other).get_json()["id"]
    for webhook_id in ("f" * 32, foreign_id):
        response = api(
            client,
            "unregister_webhook",
            {"id": webhook_id, "owner_client_id": sandbox.client_id},
            sandbox.pat_headers,
        )
        assert response.status_code == 404
        assert error_of(response) == (
            "not_found",
            f"Webhook `id` '{webhook_id}' not found for this client",
        )
