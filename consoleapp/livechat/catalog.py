"""What the console knows about LiveChat: API versions, scopes, triggers."""

from __future__ import annotations

from dataclasses import dataclass

API_VERSIONS = [("3.6", "3.6 (stable, recommended)"), ("3.5", "3.5 (legacy)")]
DEFAULT_API_VERSION = "3.6"


@dataclass(frozen=True)
class Scope:
    name: str
    description: str
    needed_for: str | None = None


SCOPES = [
    Scope(
        "webhooks.configuration:rw",
        "Register, list and remove the app's webhooks.",
        "Without it the console cannot register webhooks with this app's credentials.",
    ),
    Scope(
        "webhooks.state:rw",
        "Turn the app's webhooks on or off for a license.",
        "Without it the console cannot switch webhooks on after installation, so a license "
        "that turned them off stays silent.",
    ),
    Scope("webhooks.state:ro", "See whether the app's webhooks are on for a license."),
    Scope("chats--all:ro", "Read all chats, including ones the agent is not in."),
    Scope("chats--access:ro", "Read chats in the agent's groups."),
    Scope("chats--my:ro", "Read the agent's own chats."),
    Scope("agents--all:ro", "Read the license's agents."),
    Scope("agents-bot--my:rw", "Create and manage the app's own bots (for bot webhooks)."),
    Scope("accounts--my:ro", "Read the signed-in person's own account."),
]
SCOPE_NAMES = [scope.name for scope in SCOPES]
REQUIRED_SCOPES = [scope for scope in SCOPES if scope.needed_for]


def missing_scopes(chosen: list[str]) -> list[Scope]:
    return [scope for scope in REQUIRED_SCOPES if scope.name not in chosen]
