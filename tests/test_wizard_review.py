"""The review before Register says what will change at LiveChat: added, removed, replaced,
and where LiveChat's limit of 3 webhooks per trigger forces removing before adding."""

from __future__ import annotations

import re

import pytest

from consoleapp.extensions import db
from consoleapp.models import (
    App,
    RegisteredWebhook,
    RegistrationState,
    WebhookSet,
    WizardStep,
)
from consoleapp.services import registration
from support import text_of

URL = "https://hooks.example.com/livechat"


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """hooks.example.com is a public address; no name lookup leaves the machine."""
    import socket

    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.fixture
def app_id(app) -> int:
    with app.app_context():
        row = App(name="Helpdesk", client_id="client-1", api_version="3.6")
        row.developer_account_id = "account-1"
        row.set_developer_token("pat-token-1234")
        db.session.add(row)
        db.session.commit()
        return row.id


def walk(owner, app_id: int, chosen: dict[str, str]) -> str:
    base = f"/apps/{app_id}/webhooks"
    response = owner.post(f"{base}/create", data={"url": URL})
    uid = response.headers["Location"].split("/")[-2]
    owner.post(f"{base}/{uid}/secret/own", data={"secret_key": "my-own-secret-key-123"})
    response = owner.post(f"{base}/{uid}/triggers/save", data=chosen)
    assert response.status_code == 302, text_of(response)
    return uid


def registered_as_chosen(app, uid: str) -> None:
    """What a finished register run leaves: a webhook at LiveChat per chosen trigger."""
    with app.app_context():
        webhook_set = db.session.execute(
            db.select(WebhookSet).where(WebhookSet.uid == uid)
        ).scalar_one()
        for action, spec in registration.desired(webhook_set).items():
            webhook_set.registered.append(
                RegisteredWebhook(
                    action=action,
                    livechat_webhook_id=f"lc-{uid[:6]}-{action}",
                    state=RegistrationState.REGISTERED,
                    registered_as=spec,
                )
            )
        webhook_set.wizard_step = WizardStep.DONE
        db.session.commit()


def change_triggers(owner, app_id: int, uid: str, chosen: dict[str, str]) -> str:
    response = owner.post(f"/apps/{app_id}/webhooks/{uid}/triggers/save", data=chosen)
    assert response.headers["Location"].endswith("/review")
    return text_of(owner.get(response.headers["Location"]))


def plan_rows(page: str) -> dict[str, tuple[str, str]]:
    """Trigger -> (change, pill text) from the review's table."""
    row = r'<tr data-action="(\w+)" data-change="(\w+)">.*?'
    found = re.findall(row + r'<span class="pill pill-\w+">([^<]*)</span>', page, re.S)
    return {action: (change, label) for action, change, label in found}


def test_a_first_registration_adds_every_trigger(app, owner, app_id):
    uid = walk(owner, app_id, {"t_incoming_chat-chosen": "y", "t_chat_deactivated-chosen": "y"})
    page = text_of(owner.get(f"/apps/{app_id}/webhooks/{uid}/review"))
    assert "What changes at LiveChat" in page
    assert '<p class="plan-counts" data-plan-counts>2 will be added</p>' in page
    assert plan_rows(page) == {
        "incoming_chat": ("add", "will be added"),
        "chat_deactivated": ("add", "will be added"),
    }


def test_editing_shows_added_removed_replaced_and_kept(app, owner, app_id):
    uid = walk(
        owner,
        app_id,
        {
            "t_incoming_chat-chosen": "y",
            "t_incoming_event-chosen": "y",
            "t_chat_deactivated-chosen": "y",
        },
    )
    registered_as_chosen(app, uid)
    page = change_triggers(
        owner,
        app_id,
        uid,
        {
            "t_incoming_chat-chosen": "y",  # kept as it is
            "t_incoming_event-chosen": "y",  # now customers only: replaced
            "t_incoming_event-author_type": "customer",
            "t_thread_tagged-chosen": "y",  # new
            # chat_deactivated: no longer ticked, so removed
        },
    )
    assert plan_rows(page) == {
        "incoming_chat": ("keep", "registered"),
        "incoming_event": ("replace", "will be replaced"),
        "thread_tagged": ("add", "will be added"),
        "chat_deactivated": ("remove", "will be removed"),
    }
    assert "1 registered, 1 will be added, 1 will be replaced, 1 will be removed" in page, (
        re.search(r"plan-counts.*", page).group(0)
    )
    assert "New filters: the old webhook is removed, then the new one is registered." in page
    assert "No longer chosen." in page
    # Never a green "registered" for the trigger on its way out.
    row = re.search(r'<tr data-action="chat_deactivated".*?</tr>', page, re.S).group(0)
    assert "pill-ok" not in row


def test_a_removal_alone_reads_registered_and_will_be_removed(app, owner, app_id):
    chosen = {f"t_{a}-chosen": "y" for a in ("incoming_chat", "incoming_event", "chat_deactivated")}
    chosen |= {"t_thread_tagged-chosen": "y", "t_thread_untagged-chosen": "y"}
    uid = walk(owner, app_id, chosen)
    registered_as_chosen(app, uid)
    chosen.pop("t_thread_untagged-chosen")
    page = change_triggers(owner, app_id, uid, chosen)
    assert '<p class="plan-counts" data-plan-counts>4 registered, 1 will be removed</p>' in page
    # The registration page says the same before Register is pressed.
    progress = text_of(owner.get(f"/apps/{app_id}/webhooks/{uid}/registration"))
    assert "4 of 4 registered" in progress and ", 1 will be removed" in progress
    row = re.search(r'<tr data-action="thread_untagged">.*?</tr>', progress, re.S).group(0)
    assert "will be removed" in row and "pill-ok" not in row


def test_a_new_url_or_key_replaces_every_webhook(app, owner, app_id):
    uid = walk(owner, app_id, {"t_incoming_chat-chosen": "y"})
    registered_as_chosen(app, uid)
    base = f"/apps/{app_id}/webhooks/{uid}"
    owner.post(f"{base}/url/save", data={"url": f"{URL}/v2"})
    page = text_of(owner.get(f"{base}/review"))
    assert plan_rows(page) == {"incoming_chat": ("replace", "will be replaced")}
    assert "New webhook URL:" in page
    owner.post(f"{base}/secret/own", data={"secret_key": "another-secret-key-456"})
    page = text_of(owner.get(f"{base}/review"))
    assert "New webhook URL and secret key:" in page


def test_the_limit_of_three_per_trigger_is_explained(app, owner, app_id):
    # Two other sets of the app hold a webhook for incoming_chat at LiveChat.
    for _ in range(2):
        registered_as_chosen(app, walk(owner, app_id, {"t_incoming_chat-chosen": "y"}))
    uid = walk(owner, app_id, {"t_incoming_chat-chosen": "y"})
    registered_as_chosen(app, uid)
    page = change_triggers(
        owner,
        app_id,
        uid,
        {"t_incoming_chat-chosen": "y", "t_incoming_chat-source_type": ["system"]},
    )
    assert plan_rows(page) == {"incoming_chat": ("replace", "will be replaced")}
    assert (
        "LiveChat allows at most 3 webhooks per trigger for one app. For “A chat starts” the "
        "app is at that limit, so the old webhook is removed before the new one is registered"
        in page
    )
    # A fourth set cannot add one at all until another goes.
    fourth = walk(owner, app_id, {"t_incoming_chat-chosen": "y", "t_chat_deactivated-chosen": "y"})
    page = text_of(owner.get(f"/apps/{app_id}/webhooks/{fourth}/review"))
    assert plan_rows(page) == {
        "incoming_chat": ("add", "cannot be added yet"),
        "chat_deactivated": ("add", "will be added"),
    }
    assert "its other webhook sets already hold 3 for this trigger. Remove one of those" in page


def test_no_limit_notice_below_the_limit(app, owner, app_id):
    registered_as_chosen(app, walk(owner, app_id, {"t_incoming_chat-chosen": "y"}))
    uid = walk(owner, app_id, {"t_incoming_chat-chosen": "y"})
    registered_as_chosen(app, uid)
    page = change_triggers(
        owner,
        app_id,
        uid,
        {"t_incoming_chat-chosen": "y", "t_incoming_chat-only_my_chats": "y"},
    )
    assert plan_rows(page) == {"incoming_chat": ("replace", "will be replaced")}
    assert "allows at most 3" not in page
