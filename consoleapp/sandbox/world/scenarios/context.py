"""What a scenario runs with: the license, who performs it, and a record of what it caused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ... import delivery
from ...accounts import seed
from ...accounts.models import SandboxOrganization
from ...configuration_api.catalog import CONFIGURATION_ACTIONS
from ...delivery import explain
from ...delivery.matching import Occurrence
from ..models import SandboxChat

# "Another app": a client id that is not any sandbox client, so source_type says other_clients.
OTHER_APP_CLIENT_ID = "0e5ca1ab1e0ddba11deadbeefcafe000"
PERFORMERS = ("this_app", "other_app", "system")


class ScenarioError(Exception):
    """Bad input or an impossible request; ``type`` follows LiveChat's error types."""

    def __init__(self, message: str, type_: str = "validation", status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.type = type_
        self.status = status


@dataclass
class Context:
    organization: SandboxOrganization
    client_id: str | None
    performed_by: str
    now: datetime
    author_type: str = "customer"
    chat_id: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    caused: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def source_client_id(self) -> str | None:
        if self.performed_by == "system":
            return None
        if self.performed_by == "this_app":
            return self.client_id
        return OTHER_APP_CLIENT_ID

    def require_client(self) -> str:
        if not self.client_id:
            raise ScenarioError(
                "This scenario needs an app: pass client_id, or install an app on this license."
            )
        return self.client_id

    def requester(self) -> dict[str, str]:
        """Who asked for a configuration change, as 3.6 configuration webhooks carry it."""
        admin = seed.administrator_of(self.organization)
        requester = {"user_id": admin.email, "account_id": admin.id}
        if self.source_client_id is not None:
            requester["client_id"] = self.source_client_id
        return requester

    def emit(
        self,
        action: str,
        payload: Any,
        *,
        chat: SandboxChat | None = None,
        author_type: str | None = None,
        agent_id: str | None = None,
        by_version: dict[str, Any] | None = None,
    ) -> None:
        occurrence = Occurrence(
            organization=self.organization,
            action=action,
            payload=payload,
            source_client_id=self.source_client_id,
            requester=self.requester() if action in CONFIGURATION_ACTIONS else None,
            chat=chat,
            author_type=author_type,
            agent_id=agent_id,
            payload_by_version=by_version or {},
        )
        queued = delivery.enqueue(occurrence, self.now)
        caused = {"action": action, "payload": payload, "deliveries": [item.id for item in queued]}
        if not queued:
            caused["nothing_sent_because"] = explain.why_nothing_was_sent(occurrence, self.now)
        self.caused.append(caused)
