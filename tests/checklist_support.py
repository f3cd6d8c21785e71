"""Helpers for the Install & test checklist tests: an app with a registered webhook set,
deliveries to it, the rows of its status, and the sandbox's event list mocked with responses.
The ``sandboxed`` fixture (tests/conftest.py) is the console set up to reach that sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta

import responses

from consoleapp.extensions import db
from consoleapp.models import (
    App,
    Delivery,
    Installation,
    RegisteredWebhook,
    RegistrationState,
    WebhookSet,
    WebhookTrigger,
    WizardStep,
    utcnow,
)
from support import flat_text_of

SANDBOX = "http://sandbox.test/sandbox"
SCENARIOS = {
    "scenarios": [
        {
            "name": "start_chat",
            "title": "A customer starts a chat",
            "group": "Chats",
            "triggers": ["incoming_chat"],
            "versions": ["3.5", "3.6"],
        },
        {
            "name": "close_chat",
            "title": "The chat is closed",
            "group": "Chats",
            "triggers": ["chat_deactivated"],
            "versions": ["3.5", "3.6"],
        },
        {
            "name": "send_message",
            "title": "A message is sent (customer or agent)",
            "group": "Messages",
            "triggers": ["incoming_event"],
            "versions": ["3.5", "3.6"],
        },
    ],
    "parameters": [],
}
SET_SECRET = "set-secret-key-value"
TRIGGERS = {"incoming_chat": {}, "chat_deactivated": {}}


def seed_app(
    app,
    *,
    triggers: dict[str, dict] | None = None,
    registered: tuple[str, ...] | None = None,
    installed: dict | None = None,
    organization_id: str = "org-1",
    created_at: datetime | None = None,
) -> int:
    """A configured app with a set of ``triggers`` (action → filters; two by default), the
    ``registered`` ones (all by default) registered 10 minutes ago, and, when ``installed``
    gives its columns, an installation."""
    triggers = TRIGGERS if triggers is None else triggers
    with app.app_context():
        item = App(
            name="Helpdesk",
            client_id="client-1",
            scopes=["webhooks.configuration:rw", "webhooks.state:rw"],
            direct_install_url="https://console.example.com/apps/1/install/callback",
            redirect_uris=["https://console.example.com/apps/1/install/callback"],
        )
        if created_at is not None:
            item.created_at = created_at
        item.set_client_secret("client-secret-value")
        db.session.add(item)
        db.session.flush()
        webhook_set = WebhookSet(
            app_id=item.id,
            target_url="http://127.0.0.1/hooks/x",
            wizard_step=WizardStep.DONE,
            triggers=[
                WebhookTrigger(action=action, filters=filters)
                for action, filters in triggers.items()
            ],
        )
        webhook_set.set_secret_key(SET_SECRET)
        db.session.add(webhook_set)
        db.session.flush()
        at = utcnow() - timedelta(minutes=10)
        for action in triggers if registered is None else registered:
            db.session.add(
                RegisteredWebhook(
                    webhook_set_id=webhook_set.id,
                    action=action,
                    livechat_webhook_id=f"wh-{action}",
                    state=RegistrationState.REGISTERED,
                    registered_at=at,
                )
            )
        if installed is not None:
            db.session.add(
                Installation(app_id=item.id, organization_id=organization_id, **installed)
            )
        db.session.commit()
        return item.id


def deliver(
    app,
    app_id: int,
    action: str,
    after: timedelta | None = None,
    rejection: str | None = None,
) -> None:
    """A delivery of ``action`` to the app's set: ``after`` its registration, or now."""
    with app.app_context():
        webhook_set = db.session.execute(
            db.select(WebhookSet).where(WebhookSet.app_id == app_id)
        ).scalar_one()
        received_at = utcnow()
        if after is not None:
            received_at = webhook_set.registered[0].registered_at + after
        db.session.add(
            Delivery(
                webhook_set_id=webhook_set.id,
                action=action,
                received_at=received_at,
                verified=rejection is None,
                rejection=rejection,
            )
        )
        db.session.commit()


def rows_of(client, app_id: int) -> dict[str, tuple[str, str, str]]:
    """The status poll's rows: key → (pill, label, detail)."""
    response = client.get(f"/apps/{app_id}/test/status")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return {row["key"]: (row["pill"], row["label"], row["detail"]) for row in response.json["rows"]}


def page_of(client, url: str) -> str:
    """A page's text, the sandbox's event list mocked."""
    with responses.RequestsMock() as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        return flat_text_of(client.get(url))
