"""Ask the LiveChat sandbox for a ready app: Client ID, secret and a developer token.

This is the console's only sandbox-specific call; in live mode people paste these values from
LiveChat's Developer Console instead.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        self.url = f"{sandbox_url.rstrip('/')}/provision"
        self.session = session or protect(requests.Session(), deadline)

    def provision_app(self, name: str, redirect_uris: list[str]) -> ProvisionedApp:
        try:
            response = self.session.post(
                self.url, json={"name": name, "redirect_uris": redirect_uris}, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise LiveChatError("connection", "the sandbox did not answer") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 201 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise LiveChatError(
                "internal", message or f"HTTP {response.status_code}", status=response.status_code
            )
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
