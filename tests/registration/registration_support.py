"""What the registration tests share: the journey's first steps over the test client, and
looks at what the sandbox (LiveChat) and the console hold."""

from __future__ import annotations

import requests

from consoleapp.extensions import db
from consoleapp.livechat.configuration import ConfigurationApi, Credential
from consoleapp.models import App, RegisteredWebhook, WebhookSet
from support import run_queued_tasks, text_of

FIVE = [
    "incoming_chat",
    "chat_deactivated",
    "incoming_event",
    "thread_tagged",
    "agent_created",
]


def create_app(console) -> int:
    response = console.post("/apps/new", data={"name": "Helpdesk"})
    return int(response.headers["Location"].split("/")[2])


def walk(console, app_id: int, actions: list[str], extra: dict | None = None) -> str:
    """The three steps, with the console's own inbox as the URL."""
    base = f"/apps/{app_id}/webhooks"
    response = console.post(f"{base}/create", data={"use_inbox": "y"})
    uid = response.headers["Location"].split("/")[-2]
    console.post(f"{base}/{uid}/secret/own", data={"secret_key": "registration-secret-123"})
    data = {f"t_{action}-chosen": "y" for action in actions}
    response = console.post(f"{base}/{uid}/triggers/save", data={**data, **(extra or {})})
    assert response.status_code == 302, text_of(response)
    return uid


def register(console, app_id: int, uid: str):
    """Press Register, then let a worker carry the run out."""
    response = console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    run_queued_tasks()
    return response


def remove(console, app_id: int, uid: str):
    """Press "Remove from LiveChat" (or "Retry cleanup"), then let a worker do it."""
    response = console.post(f"/apps/{app_id}/webhooks/{uid}/remove")
    run_queued_tasks()
    return response


def sandbox_api(live, app_id: int) -> tuple[ConfigurationApi, str]:
    with live.app.app_context():
        app = db.session.get(App, app_id)
        credential = Credential.personal_access_token(app.developer_account_id, app.developer_token)
        return ConfigurationApi(
            live.app.config["LIVECHAT_API_URL"], "3.6", credential
        ), app.client_id


def listed(live, app_id: int) -> list:
    api, client_id = sandbox_api(live, app_id)
    return api.list_webhooks(client_id)


def rows(live) -> dict[str, tuple[str, str | None, str | None]]:
    with live.app.app_context():
        return {
            row.action: (row.state, row.livechat_webhook_id, row.last_error)
            for row in db.session.execute(
                db.select(RegisteredWebhook).order_by(RegisteredWebhook.id)
            ).scalars()
        }


def the_set(live) -> WebhookSet:
    with live.app.app_context():
        found = db.session.execute(db.select(WebhookSet)).scalar_one()
        db.session.expunge(found)
        return found


def fault(live, **body) -> None:
    response = requests.post(f"{live.url}/sandbox/faults", json=body, timeout=5)
    assert response.status_code == 201, response.text
