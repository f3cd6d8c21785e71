"""Ask the LiveChat sandbox to make something happen on its license, so webhooks fire.

Only the test page uses this, and only in sandbox mode: in live mode people act in LiveChat
itself. Every failure is a ``LiveChatError`` whose ``plain`` text a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from .configuration import DEADLINE, LiveChatError
from .deadline import protect

TIMEOUT = (5, 15)
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
