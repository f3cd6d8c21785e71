"""Ask the LiveChat sandbox for a ready app: Client ID, secret and a developer token, and keep
its scopes and redirect addresses in step with the console's.

These are the console's only sandbox-specific calls; in live mode people paste these values
from LiveChat's Developer Console, and change them there, instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from .configuration import DEADLINE, LiveChatError
from .deadline import protect

TIMEOUT = (5, 15)


@dataclass(frozen=True)
class ProvisionedApp:
    client_id: str
    client_secret: str
    organization_id: str
    account_id: str
    personal_access_token: str


class SandboxProvisioner:
    def __init__(
        self,
        sandbox_url: str,
        session: requests.Session | None = None,
        deadline: float = DEADLINE,
    ) -> None:
        self.base = sandbox_url.rstrip("/")
        self.url = f"{self.base}/provision"
        self.session = session or protect(requests.Session(), deadline)

    def provision_app(
        self, name: str, redirect_uris: list[str], scopes: list[str] | None = None
    ) -> ProvisionedApp:
        """A new client; with ``scopes``, its consent screen asks for exactly those."""
        payload: dict[str, Any] = {"name": name, "redirect_uris": redirect_uris}
        if scopes:
            payload["scopes"] = scopes
        body = self._post(self.url, payload, 201)
        try:
            return ProvisionedApp(
                client_id=str(body["client_id"]),
                client_secret=str(body["client_secret"]),
                organization_id=str(body["organization_id"]),
                account_id=str(body["account_id"]),
                personal_access_token=str(body["personal_access_token"]),
            )
        except KeyError as exc:
            raise LiveChatError("internal", f"the sandbox's answer lacks {exc}") from exc

    def update_client(self, client_id: str, scopes: list[str], redirect_uris: list[str]) -> None:
        """What a person changes in the Developer Console after editing the app's settings."""
        client = f"{self.base}/clients/{quote(client_id, safe='')}"
        self._post(f"{client}/scopes", {"scopes": scopes}, 200)
        self._post(f"{client}/redirect-uris", {"redirect_uris": redirect_uris}, 200)

    def _post(self, url: str, payload: dict[str, Any], expected: int) -> dict[str, Any]:
        try:
            response = self.session.post(url, json=payload, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise LiveChatError("connection", "the sandbox did not answer") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != expected or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise LiveChatError(
                "internal", message or f"HTTP {response.status_code}", status=response.status_code
            )
        return body
