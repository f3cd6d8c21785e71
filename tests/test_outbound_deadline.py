"""Every outgoing request has a total deadline, whatever the server drips (CHECKS S6).

A server that answers a byte at a time never trips a per-read timeout; the deadline ends the
request anyway, closes the connection (the receiver sees it hang up) and the caller gets its
usual timeout outcome. Deadlines here are 1 s against a byte every 0.3 s.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from local_receiver import Answer, running_receiver

from consoleapp.extensions import db
from consoleapp.livechat.accounts import AccountsClient, AccountsError
from consoleapp.livechat.configuration import ConfigurationApi, Credential, LiveChatError
from consoleapp.models import App, Role, WebhookSet, WebhookTrigger, WizardStep
from consoleapp.outbound import safe_http
from consoleapp.outbound.safe_http import SafeHttpClient
from consoleapp.sandbox_client import SandboxProvisioner
from support import add_user, sign_in

DEADLINE = 1
# Long enough that only the deadline can end it before the receiver notices the hang-up.
DRIPPING_BODY = Answer(drip=0.3, body=b"x" * 20)
DRIPPING_HEADERS = Answer(drip=0.3, drip_headers=True, body=b"x" * 20)
DRIPS = pytest.mark.parametrize(
    "answer", [DRIPPING_BODY, DRIPPING_HEADERS], ids=["dripping body", "dripping headers"]
)


def base_url(receiver) -> str:
    return receiver.url.removesuffix("/hooks")


def app_with_a_trigger(app) -> int:
    with app.app_context():
        item = App(name="Helpdesk", client_id="client-1")
        db.session.add(item)
        db.session.flush()
        db.session.add(
            WebhookSet(
                app_id=item.id,
                target_url="http://127.0.0.1/hooks/x",
                wizard_step=WizardStep.DONE,
                triggers=[WebhookTrigger(action="incoming_chat")],
            )
        )
        db.session.commit()
        return item.id


@DRIPS
def test_test_request_ends_at_its_deadline(answer):
    with running_receiver() as receiver:
        receiver.answer(answer)
        client = SafeHttpClient(allow_loopback=True, deadline=DEADLINE)
        result = client.post_json(receiver.url, {"ping": 1})
        assert receiver.hung_up.wait(5), "the connection was left open"
    assert result.error_class == safe_http.TIMEOUT
    assert result.error == "timed out after 1 s"
    assert result.summary().startswith("failed: timed out after 1 s")


@DRIPS
def test_configuration_api_write_ends_at_its_deadline_as_ambiguous(answer):
    with running_receiver() as receiver:
        receiver.answer(answer)
        api = ConfigurationApi(
            base_url(receiver), "3.6", Credential.bearer("dal:token"), deadline=DEADLINE
        )
        with pytest.raises(LiveChatError) as caught:
            api.register_webhook(
                action="incoming_chat",
                url="https://hooks.example.com/lc",
                secret_key="secret-key-value",
                owner_client_id="client-1",
            )
        assert receiver.hung_up.wait(5), "the connection was left open"
    assert caught.value.type == "request_timeout"
    assert caught.value.ambiguous is True
    assert len(receiver.received) == 1  # a write is never retried blindly


def test_a_kept_alive_connection_is_cut_at_the_deadline_too():
    with running_receiver(keep_alive=True) as receiver:
        receiver.answer(Answer(body=b"[]"), DRIPPING_BODY)
        api = ConfigurationApi(
            base_url(receiver), "3.6", Credential.bearer("dal:token"), deadline=DEADLINE
        )
        assert api.list_webhooks("client-1") == []
        with pytest.raises(LiveChatError) as caught:
            api.unregister_webhook("webhook-1", "client-1")
        assert receiver.hung_up.wait(5), "the connection was left open"
    assert caught.value.type == "request_timeout"
    first, second = receiver.received
    assert first.peer == second.peer  # the second call reused the first call's connection


def test_token_exchange_ends_at_its_deadline():
    with running_receiver() as receiver:
        receiver.answer(DRIPPING_BODY)
        accounts = AccountsClient(
            base_url(receiver),
            "client-1",
            "client-secret",
            "http://127.0.0.1:5000/apps/1/install/callback",
            deadline=DEADLINE,
        )
        with pytest.raises(AccountsError) as caught:
            accounts.exchange_code("dal:code", "v" * 64, datetime(2030, 1, 1))
        assert receiver.hung_up.wait(5), "the connection was left open"
    assert caught.value.type == "request_timeout"
    assert receiver.received[0].path == "/v2/token"


def test_sandbox_provisioning_ends_at_its_deadline():
    with running_receiver() as receiver:
        receiver.answer(DRIPPING_BODY)
        provisioner = SandboxProvisioner(base_url(receiver), deadline=DEADLINE)
        with pytest.raises(LiveChatError) as caught:
            provisioner.provision_app("Helpdesk", ["http://x/cb"])
        assert receiver.hung_up.wait(5), "the connection was left open"
    assert caught.value.type == "connection"
    assert caught.value.plain.startswith("Could not reach LiveChat")


def test_sandbox_events_deadline_comes_from_the_setting(app_factory):
    with running_receiver() as receiver:
        receiver.default = DRIPPING_HEADERS
        app = app_factory(SANDBOX_URL=base_url(receiver), SANDBOX_EVENTS_DEADLINE=DEADLINE)
        client = app.test_client()
        sign_in(client, add_user(app, "owner@example.com", Role.OWNER))
        page = client.get(f"/apps/{app_with_a_trigger(app)}/test/")
        assert receiver.hung_up.wait(5), "the connection was left open"
    assert page.status_code == 200
    assert (
        "The sandbox's events are not available: The sandbox did not answer in time; try again."
        in page.get_data(as_text=True)
    )
    assert receiver.received[0].path == "/simulate"
