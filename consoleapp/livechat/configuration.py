"""LiveChat's Configuration API: the webhook methods, typed, with one exception family.

Every method is a POST, which urllib3 never retries; read-only methods are retried here on
connection errors, ``too_many_requests`` and 5xx, with backoff and jitter. ``register_webhook``
is never retried blindly: after an ambiguous failure the caller lists before registering again.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from ..outbound.deadline import protect

log = logging.getLogger("consoleapp.livechat")

TIMEOUT = (5, 15)
# The total time one call to LiveChat (or to the sandbox standing in for it) may take, connect,
# answer and body together, whatever the per-read timeouts allow.
DEADLINE = 15.0
MAX_ATTEMPTS = 4
READ_ONLY = frozenset({"list_webhooks", "list_webhook_names", "get_license_webhooks_state"})
STATUS_TYPES = {
    400: "validation",
    401: "authentication",
    403: "authorization",
    404: "not_found",
    409: "already_exists",
    421: "misdirected_request",
    429: "too_many_requests",
    500: "internal",
    502: "service_unavailable",
    503: "service_unavailable",
    504: "request_timeout",
}
PLAIN_MESSAGES = {
    "authentication": "LiveChat did not accept the credential. Check the token or sign in again.",
    "authorization": "The credential is not allowed to do this. Check its scopes.",
    "validation": "LiveChat refused the request",
    "limit_reached": "LiveChat allows at most 3 webhooks per trigger for one app",
    "too_many_requests": "LiveChat is rate limiting requests; try again in a minute.",
    "internal": "LiveChat unavailable, try later.",
    "service_unavailable": "LiveChat unavailable, try later.",
    "request_timeout": "LiveChat did not answer in time; try again.",
    "connection": "Could not reach LiveChat; check the network and try again.",
}


class LiveChatError(Exception):
    """Any failure talking to LiveChat, with LiveChat's ``error.type``."""

    def __init__(
        self,
        type: str,
        message: str,
        *,
        status: int | None = None,
        data: dict[str, Any] | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(f"{type}: {message}")
        self.type = type
        self.message = message
        self.status = status
        self.data = data or {}
        # True when the request may have taken effect although no answer arrived.
        self.ambiguous = ambiguous

    @property
    def retryable(self) -> bool:
        return self.type in {
            "too_many_requests",
            "internal",
            "service_unavailable",
            "request_timeout",
            "connection",
        }

    @property
    def plain(self) -> str:
        """A sentence a person can act on."""
        base = PLAIN_MESSAGES.get(self.type)
        if base and self.type == "validation":
            return f"{base}: {self.message}"
        return base or f"LiveChat answered “{self.type}”: {self.message}"


@dataclass(frozen=True)
class Credential:
    """How to authenticate: a Bearer access token, or a Personal Access Token (Basic)."""

    scheme: str
    value: str
    region: str | None = None

    @classmethod
    def bearer(cls, access_token: str) -> Credential:
        prefix, sep, _ = access_token.partition(":")
        return cls("Bearer", access_token, prefix if sep else None)

    @classmethod
    def personal_access_token(cls, account_id: str, token: str) -> Credential:
        encoded = base64.b64encode(f"{account_id}:{token}".encode()).decode()
        return cls("Basic", encoded)

    @property
    def header(self) -> str:
        return f"{self.scheme} {self.value}"


@dataclass(frozen=True)
class RegisteredWebhook:
    id: str
    action: str
    url: str
    owner_client_id: str
    type: str
    description: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    additional_data: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> RegisteredWebhook:
        return cls(
            id=str(item.get("id", "")),
            action=str(item.get("action", "")),
            url=str(item.get("url", "")),
            owner_client_id=str(item.get("owner_client_id", "")),
            type=str(item.get("type", "license")),
            description=item.get("description"),
            filters=item.get("filters") or {},
            additional_data=list(item.get("additional_data") or []),
        )


@dataclass(frozen=True)
class WebhookName:
    action: str
    filters: tuple[str, ...] = ()
    additional_data: tuple[str, ...] = ()


class ConfigurationApi:
    """One LiveChat Configuration API version, reached through one ``requests.Session``."""

    def __init__(
        self,
        base_url: str,
        version: str,
        credential: Credential | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
        timeout: tuple[float, float] = TIMEOUT,
        deadline: float = DEADLINE,
        pool_size: int = 10,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/v{version}/configuration/action"
        self.timeout = timeout
        self.credential = credential
        # One pooled session; ``pool_size`` keeps that many connections for calls at once.
        self.session = session or protect(requests.Session(), deadline, pool_size=pool_size)
        self.sleep = sleep
        self.max_attempts = max_attempts

    # -- webhook methods -------------------------------------------------------------------

    def register_webhook(
        self,
        *,
        action: str,
        url: str,
        secret_key: str,
        owner_client_id: str,
        type: str = "license",
        description: str | None = None,
        filters: dict[str, Any] | None = None,
        additional_data: list[str] | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "action": action,
            "secret_key": secret_key,
            "url": url,
            "owner_client_id": owner_client_id,
            "type": type,
        }
        if description:
            body["description"] = description
        if filters:
            body["filters"] = filters
        if additional_data:
            body["additional_data"] = additional_data
        answer = self.call("register_webhook", body)
        return str(answer["id"])

    def list_webhooks(self, owner_client_id: str) -> list[RegisteredWebhook]:
        answer = self.call("list_webhooks", {"owner_client_id": owner_client_id})
        return [RegisteredWebhook.from_json(item) for item in answer or []]

    def unregister_webhook(self, webhook_id: str, owner_client_id: str) -> None:
        self.call("unregister_webhook", {"id": webhook_id, "owner_client_id": owner_client_id})

    def list_webhook_names(self, version: str | None = None) -> list[WebhookName]:
        answer = self.call("list_webhook_names", {"version": version} if version else {})
        return [
            WebhookName(
                action=item["action"],
                filters=tuple(item.get("filters") or ()),
                additional_data=tuple(item.get("additional_data") or ()),
            )
            for item in answer or []
        ]

    def enable_license_webhooks(self, owner_client_id: str | None = None) -> None:
        self.call("enable_license_webhooks", self._owner(owner_client_id))

    def disable_license_webhooks(self, owner_client_id: str | None = None) -> None:
        self.call("disable_license_webhooks", self._owner(owner_client_id))

    def get_license_webhooks_state(self, owner_client_id: str | None = None) -> bool:
        answer = self.call("get_license_webhooks_state", self._owner(owner_client_id))
        return bool(answer.get("license_webhooks_enabled"))

    # -- transport -------------------------------------------------------------------------

    @staticmethod
    def _owner(owner_client_id: str | None) -> dict[str, Any]:
        return {"owner_client_id": owner_client_id} if owner_client_id else {}

    def call(self, method: str, body: dict[str, Any]) -> Any:
        attempts = self.max_attempts if method in READ_ONLY else 1
        region = self.credential.region if self.credential else None
        for attempt in range(1, attempts + 1):
            try:
                return self._send(method, body, region)
            except LiveChatError as exc:
                if exc.type == "misdirected_request" and exc.data.get("region") != region:
                    region = exc.data.get("region")
                    try:
                        return self._send(method, body, region)
                    except LiveChatError as retried:
                        exc = retried
                if not exc.retryable or attempt == attempts:
                    raise exc
                delay = self._backoff(attempt, exc)
                log.info(
                    "Configuration API %s failed (%s); retrying in %.1fs", method, exc.type, delay
                )
                self.sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff(attempt: int, exc: LiveChatError) -> float:
        retry_after = exc.data.get("retry_after")
        if retry_after is not None:
            return float(retry_after)
        return min(8.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)

    def _send(self, method: str, body: dict[str, Any], region: str | None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.credential:
            headers["Authorization"] = self.credential.header
        if region:
            headers["X-Region"] = region
        try:
            response = self.session.post(
                f"{self.url}/{method}", json=body, headers=headers, timeout=self.timeout
            )
        except requests.ConnectTimeout as exc:
            raise LiveChatError("connection", "could not connect in time") from exc
        except requests.Timeout as exc:
            # The request reached LiveChat and may have taken effect.
            raise LiveChatError("request_timeout", "no answer in time", ambiguous=True) from exc
        except requests.RequestException as exc:
            raise LiveChatError("connection", type(exc).__name__, ambiguous=True) from exc
        return self._parse(response)

    @staticmethod
    def _parse(response: requests.Response) -> Any:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code == 200 and payload is not None:
            return payload
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            type_ = str(error.get("type") or STATUS_TYPES.get(response.status_code, "internal"))
            message = str(error.get("message") or type_)
            data = dict(error.get("data") or {})
        else:
            type_ = STATUS_TYPES.get(response.status_code, "internal")
            message = f"HTTP {response.status_code}"
            data = {}
        retry_after = response.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            data["retry_after"] = int(retry_after)
        raise LiveChatError(
            type_,
            message,
            status=response.status_code,
            data=data,
            ambiguous=response.status_code >= 500,
        )
