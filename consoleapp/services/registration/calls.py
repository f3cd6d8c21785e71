"""The calls a run makes to LiveChat, as they run in the pump's threads: register one webhook,
remove one. Each returns what happened instead of raising, and touches no database.

``register_webhook`` is never retried blindly: when its answer is lost (a timeout, a dropped
connection) the call lists the app's webhooks at once, so the answer can be found there (R8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...livechat.configuration import DEADLINE, ConfigurationApi, Credential, LiveChatError
from ...livechat.configuration import RegisteredWebhook as ListedWebhook
from ...models import App


def client_for(
    app: App,
    api_url: str,
    timeout: tuple[float, float],
    deadline: float = DEADLINE,
    pool_size: int = 10,
) -> ConfigurationApi:
    credential = Credential.personal_access_token(
        app.developer_account_id or "", app.developer_token or ""
    )
    return ConfigurationApi(
        api_url,
        app.api_version,
        credential,
        timeout=timeout,
        deadline=deadline,
        pool_size=pool_size,
    )


@dataclass
class Job:
    kind: str  # "register" or "remove"
    action: str
    row_id: int
    spec: dict[str, Any] = field(default_factory=dict)
    livechat_id: str | None = None
    rate_limited: int = 0


@dataclass
class Result:
    webhook_id: str | None = None
    error: LiveChatError | None = None
    listed: list[ListedWebhook] | None = None


def register(api: ConfigurationApi, job: Job, owner: str, secret: str) -> Result:
    try:
        webhook_id = api.register_webhook(
            action=job.action,
            url=job.spec["url"],
            secret_key=secret,
            owner_client_id=owner,
            description=job.spec["description"],
            filters=job.spec["filters"] or None,
            additional_data=job.spec["additional_data"] or None,
        )
    except LiveChatError as exc:
        if not exc.ambiguous:
            return Result(error=exc)
        # The request may have taken effect: look before anyone registers again (R8).
        try:
            return Result(error=exc, listed=api.list_webhooks(owner))
        except LiveChatError:
            return Result(error=exc)
    return Result(webhook_id=webhook_id)


def remove(api: ConfigurationApi, job: Job, owner: str) -> Result:
    try:
        api.unregister_webhook(job.livechat_id or "", owner)
    except LiveChatError as exc:
        if exc.type != "not_found":  # already gone is what we wanted
            return Result(error=exc)
    return Result()
