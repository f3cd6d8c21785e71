"""Template filters: formatting stays out of templates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from . import browsers

AUDIT_ACTIONS = {
    "user.created_owner": "created the owner account",
    "user.signed_in": "signed in",
    "user.invited": "invited a teammate",
    "user.invitation_cancelled": "cancelled an invitation",
    "user.joined": "joined the team",
    "user.role_changed": "changed a role",
    "user.removed": "removed a teammate",
    "user.password_changed": "changed their password",
    "user.password_reset_link_created": "made a password reset link",
    "user.password_reset": "set a new password with a reset link",
    "user.sessions_ended": "signed out their other sessions",
    "app.created": "created an app",
    "app.renamed": "renamed an app",
    "app.deleted": "deleted an app",
    "app.authorization_updated": "changed authorization settings",
    "app.developer_credential_updated": "changed the developer credential",
    "app.installed": "installed an app on a LiveChat license",
    "app.disconnected": "disconnected an app from LiveChat",
    "app.provisioned": "had the sandbox fill in an app's credentials",
    "webhooks.set_created": "created a webhook set",
    "webhooks.url_changed": "changed a webhook URL",
    "webhooks.secret_generated": "generated a secret key",
    "webhooks.secret_entered": "entered a secret key",
    "webhooks.triggers_chosen": "chose triggers",
    "webhooks.set_deleted": "deleted a webhook set",
    "webhooks.registration_started": "started registering webhooks with LiveChat",
    "webhooks.removal_started": "started removing webhooks from LiveChat",
    "webhooks.registration_cancelled": "cancelled a registration",
    "test.event_started": "started a test event",
}


def format_datetime(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def duration(value: timedelta) -> str:
    """12 hours, 1 hour, 90 minutes: the largest whole unit."""
    minutes = int(value.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def count_of(number: int, singular: str, plural: str | None = None) -> str:
    """0 → "no webhook sets", 1 → "1 webhook set", 3 → "3 webhook sets"."""
    word = singular if number == 1 else plural or f"{singular}s"
    return f"{number:,} {word}" if number else f"no {word}"


def organization(organization_id: str) -> str:
    """LiveChat tells the console only an organization's id (a UUID): say whose it is in
    words, with the id's end to tell two apart."""
    return f"your LiveChat organization (ID ending …{organization_id[-6:]})"


def audit_action(action: str) -> str:
    return AUDIT_ACTIONS.get(action, action.replace("_", " ").replace(".", ": "))


def audit_details(details: dict[str, Any] | None) -> str:
    if not details:
        return ""
    parts = []
    for key, value in details.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


def init_app(app: Flask) -> None:
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(audit_action)
    app.add_template_filter(duration)
    app.add_template_filter(count_of)
    app.add_template_filter(organization)
    app.add_template_filter(browsers.describe, "browser")
    app.add_template_filter(audit_details)
