"""The sandbox's Configuration API webhook methods, through HTTP (livechat-api.md §1-§2)."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sandbox_helpers import (
    ACME,
    ADA,
    NICK,
    Sandbox,
    api,
    bearer,
    error_of,
    other_organization_client,
    pat_for,
    provision,
    tokens,
    webhook_body,
)

from consoleapp.extensions import db
from consoleapp.sandbox.models import SandboxWebhook

LISTED_KEYS = {"id", "url", "action", "filters", "owner_client_id", "type"}


def stored_webhooks(app: Flask) -> list[SandboxWebhook]:
    with app.app_context():
        return list(db.session.execute(db.select(SandboxWebhook)).scalars())


def register(client, sandbox: Sandbox, version: str = "3.6", headers=None, **overrides):
    return api(
        client,
        "register_webhook",
        webhook_body(sandbox, **overrides),
        headers or sandbox.pat_headers,
        version,
    )


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


# -- authentication and scopes -------------------------------------------------------------

BAD_CREDENTIALS = [
    ({}, "The Authorization header is missing."),
    ({"Authorization": "Bearer"}, "The Authorization header must be 'Bearer <token>' or "
     "'Basic <PAT>'."),
    ({"Authorization": "Token abc"}, "The Authorization header must be 'Bearer <token>' or "
     "'Basic <PAT>'."),
    ({"Authorization": "Bearer dal:not-a-token"}, "Invalid access token."),
    ({"Authorization": "Basic !!!"}, "Basic credentials must be base64 of account_id:PAT."),
    ({"Authorization": "Basic bm9jb2xvbg=="},
     "Basic credentials must be base64 of account_id:PAT."),
    ({"Authorization": "Basic YWNjb3VudDpkYWw6bm9wZQ=="}, "Invalid personal access token."),
]  # fmt: skip


@pytest.mark.parametrize(("headers", "message"), BAD_CREDENTIALS)
@pytest.mark.parametrize(
    "method", ["register_webhook", "list_webhooks", "get_license_webhooks_state"]
)
def test_bad_credentials(client, sandbox: Sandbox, headers, message, method):
    response = api(client, method, webhook_body(sandbox), headers)
    assert response.status_code == 401
    assert error_of(response) == ("authentication", message)


def test_pat_of_another_account_id_is_refused(app, client, sandbox: Sandbox):
    import base64

    value = base64.b64encode(f"{NICK}:{sandbox.pat}".encode()).decode()
    response = api(
        client,
        "list_webhooks",
        {"owner_client_id": sandbox.client_id},
        {"Authorization": f"Basic {value}"},
    )
    assert error_of(response) == ("authentication", "Invalid personal access token.")


@pytest.mark.parametrize(
    ("scopes", "method", "needed"),
    [
        (["webhooks.state:rw"], "register_webhook", "webhooks.configuration:rw"),
        (["webhooks.state:ro"], "list_webhooks", "webhooks.configuration:rw"),
        (["webhooks.state:ro"], "unregister_webhook", "webhooks.configuration:rw"),
        (["webhooks.configuration:rw"], "get_license_webhooks_state", "webhooks.state:ro"),
        (["webhooks.state:ro"], "enable_license_webhooks", "webhooks.state:rw"),
        (["webhooks.state:ro"], "disable_license_webhooks", "webhooks.state:rw"),
    ],
)
def test_pat_lacking_the_scope(app, client, sandbox: Sandbox, scopes, method, needed):
    headers = pat_for(app, ADA, scopes)
    body = (
        webhook_body(sandbox)
        if method == "register_webhook"
        else {"owner_client_id": sandbox.client_id, "id": "x"}
    )
    if method != "register_webhook" and method != "unregister_webhook":
        body.pop("id")
    response = api(client, method, body, headers)
    assert response.status_code == 403
    assert error_of(response) == (
        "authorization",
        f"The credential lacks the required scope: {needed}.",
    )
    assert stored_webhooks(app) == []


def test_rw_scope_covers_ro(app, client, sandbox: Sandbox):
    headers = pat_for(app, ADA, ["webhooks.state:rw"])
    response = api(
        client, "get_license_webhooks_state", {"owner_client_id": sandbox.client_id}, headers
    )
    assert response.status_code == 200


def test_revoked_pat_is_refused(app, client, sandbox: Sandbox):
    from consoleapp.models import utcnow
    from consoleapp.sandbox.models import SandboxPersonalAccessToken

    with app.app_context():
        for pat in db.session.execute(db.select(SandboxPersonalAccessToken)).scalars():
            pat.revoked_at = utcnow()
        db.session.commit()
    response = api(
        client, "list_webhooks", {"owner_client_id": sandbox.client_id}, sandbox.pat_headers
    )
    assert error_of(response) == ("authentication", "The personal access token was revoked.")


def test_oauth_token_with_fewer_scopes(client, sandbox: Sandbox):
    from sandbox_helpers import exchange, get_code

    code = get_code(client, sandbox, scope="webhooks.state:ro")
    token = exchange(client, sandbox, code).get_json()["access_token"]
    headers = bearer(token)
    assert api(client, "get_license_webhooks_state", {}, headers).status_code == 200
    response = api(client, "disable_license_webhooks", {}, headers)
    assert error_of(response) == (
        "authorization",
        "The credential lacks the required scope: webhooks.state:rw.",
    )
    assert error_of(register(client, sandbox, headers=headers))[0] == "authorization"


# -- license webhook state -----------------------------------------------------------------


def test_state_methods_with_a_pat_need_owner_client_id(client, sandbox: Sandbox):
    for method in (
        "enable_license_webhooks",
        "disable_license_webhooks",
        "get_license_webhooks_state",
    ):
        response = api(client, method, {}, sandbox.pat_headers)
        assert response.status_code == 400
        assert error_of(response) == (
            "validation",
            "`owner_client_id` is required when authorizing with a PAT",
        )


def test_state_methods_with_a_pat(client, sandbox: Sandbox):
    body = {"owner_client_id": sandbox.client_id}
    state = api(client, "get_license_webhooks_state", body, sandbox.pat_headers)
    assert state.get_json() == {"license_webhooks_enabled": True}
    assert api(client, "disable_license_webhooks", body, sandbox.pat_headers).get_json() == {}
    state = api(client, "get_license_webhooks_state", body, sandbox.pat_headers)
    assert state.get_json() == {"license_webhooks_enabled": False}
    assert api(client, "enable_license_webhooks", body, sandbox.pat_headers).get_json() == {}
    state = api(client, "get_license_webhooks_state", body, sandbox.pat_headers)
    assert state.get_json() == {"license_webhooks_enabled": True}


def test_state_with_a_pat_for_a_foreign_client(app, client, sandbox: Sandbox):
    foreign = other_organization_client(app)
    response = api(
        client, "disable_license_webhooks", {"owner_client_id": foreign}, sandbox.pat_headers
    )
    assert error_of(response)[0] == "authorization"


@pytest.mark.parametrize("version", ["3.5", "3.6"])
def test_owner_client_id_with_a_bearer_token_overrides_the_tokens_client(
    client, sandbox: Sandbox, version
):
    other = provision(client)
    headers = bearer(tokens(client, sandbox)["access_token"])
    response = api(
        client, "disable_license_webhooks", {"owner_client_id": other.client_id}, headers, version
    )
    assert response.status_code == 200
    mine = api(client, "get_license_webhooks_state", {}, headers, version).get_json()
    theirs = api(
        client, "get_license_webhooks_state", {"owner_client_id": other.client_id}, headers, version
    ).get_json()
    assert mine == {"license_webhooks_enabled": True}
    assert theirs == {"license_webhooks_enabled": False}


def test_bearer_of_another_license_acts_on_its_own_license(app, client, sandbox: Sandbox):
    from sandbox_helpers import GLOBEX_ADA

    acme = bearer(tokens(client, sandbox)["access_token"])
    globex = bearer(tokens(client, sandbox, GLOBEX_ADA)["access_token"])
    assert api(client, "disable_license_webhooks", {}, globex).status_code == 200
    assert api(client, "get_license_webhooks_state", {}, globex).get_json() == {
        "license_webhooks_enabled": False
    }
    assert api(client, "get_license_webhooks_state", {}, acme).get_json() == {
        "license_webhooks_enabled": True
    }
    # Globex may not touch a client that is neither its own nor installed on its license.
    stranger = provision(client)
    response = api(
        client, "get_license_webhooks_state", {"owner_client_id": stranger.client_id}, globex
    )
    assert error_of(response)[0] == "authorization"


def test_disable_before_install_is_sticky(app, client, sandbox: Sandbox):
    body = {"owner_client_id": sandbox.client_id}
    api(client, "disable_license_webhooks", body, sandbox.pat_headers)
    headers = bearer(tokens(client, sandbox)["access_token"])
    assert api(client, "get_license_webhooks_state", {}, headers).get_json() == {
        "license_webhooks_enabled": False
    }
    api(client, "enable_license_webhooks", {}, headers)
    assert api(client, "get_license_webhooks_state", body, sandbox.pat_headers).get_json() == {
        "license_webhooks_enabled": True
    }


# -- request shape -------------------------------------------------------------------------


def post_raw(client, path: str, data: bytes | str, content_type: str, headers=None):
    return client.post(path, data=data, content_type=content_type, headers=headers or {})


ACTION = "/sandbox/api/v3.6/configuration/action/list_webhooks"


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        ("{", "application/json", "The request body is not valid JSON"),
        ("", "application/json", "The request body is not valid JSON"),
        (b"\xff\xfe", "application/json", "The request body is not valid JSON"),
        ("[1]", "application/json", "The request body must be a JSON object"),
        ('"x"', "application/json", "The request body must be a JSON object"),
        ("{}", "text/plain", "`Content-Type` must be application/json"),
        ("owner_client_id=x", "application/x-www-form-urlencoded",
         "`Content-Type` must be application/json"),
    ],
)  # fmt: skip
def test_malformed_requests(client, sandbox: Sandbox, data, content_type, message):
    response = post_raw(client, ACTION, data, content_type, sandbox.pat_headers)
    assert response.status_code == 400
    assert error_of(response) == ("validation", message)


def test_json_with_charset_is_accepted(client, sandbox: Sandbox):
    response = post_raw(
        client,
        ACTION,
        json.dumps({"owner_client_id": sandbox.client_id}),
        "application/json; charset=utf-8",
        sandbox.pat_headers,
    )
    assert response.status_code == 200


@pytest.mark.parametrize("version", ["3.3", "3.4", "3.7", "4", "x"])
def test_unsupported_versions(client, sandbox: Sandbox, version):
    response = api(client, "list_webhooks", {}, sandbox.pat_headers, version)
    assert response.status_code == 400
    assert error_of(response)[0] == "unsupported_version"


@pytest.mark.parametrize("method", ["list_agents", "register_webhooks", "x" * 300])
def test_unknown_methods(client, sandbox: Sandbox, method):
    response = api(client, method, {}, sandbox.pat_headers)
    assert response.status_code == 404
    assert error_of(response)[0] == "not_found"


@pytest.mark.parametrize("verb", ["get", "put", "delete", "patch"])
def test_other_http_methods(client, verb):
    response = getattr(client, verb)(ACTION)
    assert response.status_code == 405
    assert error_of(response)[0] == "validation"


@pytest.mark.parametrize(
    "path", ["/sandbox/api/", "/sandbox/api/v3.6/agent/action/x", "/sandbox/api/nothing"]
)
def test_unknown_paths_get_livechat_errors(client, path):
    response = client.post(path, json={})
    assert response.status_code == 404
    assert error_of(response)[0] == "not_found"


def test_oversized_body(client, sandbox: Sandbox):
    data = '{"description": "' + "x" * (1024 * 1024 + 10) + '"}'
    response = post_raw(client, ACTION, data, "application/json", sandbox.pat_headers)
    assert response.status_code == 413
    assert error_of(response)[0] == "entity_too_large"


def test_unexpected_failure_is_internal_and_stores_nothing(app, client, sandbox, monkeypatch):
    from consoleapp.sandbox import webhooks

    def explode() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(webhooks.faults, "webhook_active_from", explode)
    response = register(client, sandbox)
    assert response.status_code == 500
    assert error_of(response) == ("internal", "Internal server error")
    assert stored_webhooks(app) == []


def test_seeded_organization_owns_provisioned_clients(client, sandbox: Sandbox):
    assert sandbox.organization_id == ACME
    assert sandbox.account_id == ADA
