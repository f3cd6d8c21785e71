"""Running a scenario: check the parameters shared by the page and ``POST
/sandbox/simulate/<scenario>``, find the license and the app, run it, say what it caused.

It adds and flushes; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ....extensions import db
from ....models import utcnow
from ...accounts.models import SandboxClient
from .. import licenses
from .catalog import scenario
from .context import PERFORMERS, Context, ScenarioError

STATUSES = ("accepting chats", "not accepting chats", "offline")

# Parameter name -> (expected types, largest length for strings, allowed values).
PARAMETERS: dict[str, tuple[tuple[type, ...], int, tuple[Any, ...]]] = {
    "organization_id": ((str,), 36, ()),
    "client_id": ((str,), 64, ()),
    "performed_by": ((str,), 16, PERFORMERS),
    "author_type": ((str,), 16, ("customer", "agent")),
    "chat_id": ((str,), 10, ()),
    "agent_id": ((str,), 254, ()),
    "text": ((str,), 2000, ()),
    "tag": ((str,), 100, ()),
    "status": ((str,), 32, STATUSES),
    "target": ((str,), 8, ("agent", "bot")),
    "queued": ((bool,), 0, ()),
    "awaiting_approval": ((bool,), 0, ()),
}


def clean_parameters(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScenarioError("The body must be a JSON object.", "validation", 400)
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in PARAMETERS:
            raise ScenarioError(f"Unknown field {key!r}.")
        if value is None or value == "":
            continue
        types, longest, allowed = PARAMETERS[key]
        if not isinstance(value, types) or (bool in types) != isinstance(value, bool):
            expected = "true or false" if bool in types else "a string"
            raise ScenarioError(f"{key} must be {expected}.")
        if isinstance(value, str) and len(value) > longest:
            raise ScenarioError(f"{key} must be at most {longest} characters.")
        if allowed and value not in allowed:
            raise ScenarioError(f"{key} must be one of: {', '.join(map(str, allowed))}.")
        cleaned[key] = value
    return cleaned


def context(params: dict[str, Any], now: datetime | None = None) -> Context:
    organization = licenses.organization_or_default(params.get("organization_id"))
    if organization is None:
        raise ScenarioError("There is no such organization in the sandbox.", "not_found", 404)
    client_id = params.get("client_id")
    if client_id:
        if db.session.get(SandboxClient, client_id) is None:
            raise ScenarioError(f"There is no app with client_id {client_id!r}.", "not_found", 404)
    else:
        installed = licenses.installed_clients(organization)
        client_id = installed[0].id if installed else None
    performed_by = params.get("performed_by") or ("this_app" if client_id else "other_app")
    if performed_by == "this_app" and not client_id:
        raise ScenarioError(
            "“Performed by this app” needs an app installed on this license (or a client_id). "
            "Install an app first, or choose another app or the system."
        )
    options = {
        key: value
        for key, value in params.items()
        if key not in {"organization_id", "client_id", "performed_by", "author_type", "chat_id"}
    }
    return Context(
        organization=organization,
        client_id=client_id,
        performed_by=performed_by,
        now=now or utcnow(),
        author_type=params.get("author_type", "customer"),
        chat_id=params.get("chat_id"),
        options=options,
    )


def run(name: str, raw_params: Any = None, now: datetime | None = None) -> dict[str, Any]:
    """Run one scenario and say what it caused: actions and the deliveries they queued."""
    chosen = scenario(name)
    ctx = context(clean_parameters(raw_params), now)
    chosen.run(ctx)
    db.session.flush()
    deliveries = [item for caused in ctx.caused for item in caused["deliveries"]]
    return {
        "scenario": chosen.name,
        "organization_id": ctx.organization.id,
        "client_id": ctx.client_id,
        "performed_by": ctx.performed_by,
        "source_client_id": ctx.source_client_id,
        "chat_id": ctx.chat_id,
        "caused": ctx.caused,
        "deliveries": deliveries,
        "notes": ctx.notes,
    }
