"""The console's client for the sandbox's own endpoints, used only in sandbox mode.

- ``SandboxProvisioner`` asks for a ready app: Client ID, secret and a developer token, and keeps
  its scopes and redirect addresses in step with the console's (in live mode people paste these
  from LiveChat's Developer Console, and change them there, instead).
- ``SandboxEvents`` asks the sandbox to make something happen on its license, so webhooks fire
  (in live mode people act in LiveChat itself). Every failure is a ``LiveChatError`` whose
  ``plain`` text a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from .livechat.configuration import DEADLINE, LiveChatError
from .outbound.deadline import protect

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


# -- events on the sandbox license ---------------------------------------------------------

SANDBOX_MESSAGES = {
    "not_found": "The sandbox does not know this app or license. Install the app first.",
    "validation": "The sandbox could not start this event",
    "connection": "Could not reach the sandbox; check that the console is running in sandbox "
    "mode and try again.",
    "request_timeout": "The sandbox did not answer in time; try again.",
    "internal": "The sandbox had a problem and started nothing; try again in a moment.",
}


class SandboxEventError(LiveChatError):
    @property
    def plain(self) -> str:
        base = SANDBOX_MESSAGES.get(self.type)
        if self.type in {"validation", "not_found"} and self.message:
            return f"{SANDBOX_MESSAGES['validation']}: {self.message}"
        return base or f"The sandbox answered “{self.type}”: {self.message}"


@dataclass(frozen=True)
class Scenario:
    """Something the sandbox can make happen, and the triggers it fires."""

    name: str
    title: str
    triggers: tuple[str, ...]
    versions: tuple[str, ...]


@dataclass(frozen=True)
class StartedScenario:
    name: str
    deliveries: int


class SandboxEvents:
    """``GET /sandbox/simulate`` and ``POST /sandbox/simulate/<scenario>``, over HTTP."""

    def __init__(
        self,
        sandbox_url: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT,
        deadline: float = DEADLINE,
    ) -> None:
        self.url = f"{sandbox_url.rstrip('/')}/simulate"
        self.session = session or protect(requests.Session(), deadline)
        self.timeout = timeout

    def list_scenarios(self) -> list[Scenario]:
        body = self._call("GET", self.url, None)
        items = body.get("scenarios")
        if not isinstance(items, list):
            raise SandboxEventError("internal", "the sandbox's answer lacks its scenarios")
        return [
            Scenario(
                name=str(item.get("name", "")),
                title=str(item.get("title", "")),
                triggers=tuple(str(t) for t in item.get("triggers") or ()),
                versions=tuple(str(v) for v in item.get("versions") or ()),
            )
            for item in items
            if isinstance(item, dict) and item.get("name")
        ]

    def start_scenario(self, name: str, parameters: dict[str, Any]) -> StartedScenario:
        body = self._call("POST", f"{self.url}/{name}", parameters)
        deliveries = body.get("deliveries")
        return StartedScenario(
            name=str(body.get("scenario", name)),
            deliveries=len(deliveries) if isinstance(deliveries, list) else 0,
        )

    def _call(self, method: str, url: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = self.session.request(method, url, json=payload, timeout=self.timeout)
        except requests.Timeout as exc:
            raise SandboxEventError("request_timeout", "no answer in time") from exc
        except requests.RequestException as exc:
            raise SandboxEventError("connection", "the sandbox did not answer") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict):
            return body
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            raise SandboxEventError(
                "internal", f"HTTP {response.status_code}", status=response.status_code
            )
        raise SandboxEventError(
            str(error.get("type") or "internal"),
            str(error.get("message") or f"HTTP {response.status_code}"),
            status=response.status_code,
        )
