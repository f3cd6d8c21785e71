"""Domain results as people see them: pills, display rows, JSON bodies, and the template filters
that make them. Services say what is so; this module says how it looks.

A pill is a CSS class (``pill-ok``, ``pill-wait``, ``pill-bad``, ``pill-muted``) and a word:
never colour alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from ..livechat import catalog
from ..models import RegisteredWebhook, RegistrationState, WebhookSet, WebhookTrigger, WizardStep
from ..services.checklist import Check, Checklist, CheckState
from ..services.installation import InstallStatus
from ..services.webhook_sets import AppProgress, SetStage, SetStatus
from . import trigger_words

# -- time -----------------------------------------------------------------------------------


def took(start: datetime, end: datetime) -> str:
    """7 s, 2 min 5 s, 1 h 3 min."""
    seconds = max(0, round((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time for JSON."""
    return value.isoformat() + "Z" if value else None


# -- Install & test's checklist -------------------------------------------------------------

CHECK_PILLS = {CheckState.VERIFIED: "ok", CheckState.WAITING: "wait", CheckState.FAILED: "bad"}


def check_pill(check: Check) -> str:
    return CHECK_PILLS[check.state]


def check_label(check: Check) -> str:
    return f"failed: {check.why}" if check.state == CheckState.FAILED else str(check.state)


def check_detail(check: Check) -> str:
    """The row's plain-words detail, with the time a verified trigger took."""
    if check.elapsed is None:
        return check.detail
    elapsed = check.elapsed
    after = "after the test started" if elapsed.since_test else "after registration"
    return f"{check.detail.removesuffix('.')} {took(elapsed.start, elapsed.end)} {after}."


def checklist_json(checks: Checklist) -> dict[str, Any]:
    """The body of the checklist's status poll: what the page's script redraws."""
    return {
        "verified": checks.verified,
        "total": checks.total,
        "state": checks.state,
        "rows": [
            {
                "key": row.key,
                "title": row.title,
                "pill": check_pill(row),
                "label": check_label(row),
                "detail": check_detail(row),
            }
            for row in checks.rows
        ],
    }


# -- webhook sets ---------------------------------------------------------------------------

STEP_TITLES = {
    WizardStep.URL: "Webhook URL",
    WizardStep.SECRET: "Secret key",
    WizardStep.TRIGGERS: "Triggers and filters",
}
SET_PILLS = {
    SetStage.DRAFT: "wait",
    SetStage.READY: "wait",
    SetStage.REGISTERED: "ok",
    SetStage.FAILED: "bad",
}


def set_pill(status: SetStatus) -> str:
    return SET_PILLS[status.stage]


def set_label(status: SetStatus) -> str:
    counted = f"{status.registered}/{status.total}"
    if status.stage == SetStage.DRAFT:
        return f"step {int(status.step)} of 3: {STEP_TITLES[status.step]}"
    if status.stage == SetStage.FAILED:
        return f"failed: {counted} registered"
    if status.stage == SetStage.REGISTERED:
        return f"registered {counted}"
    return f"ready to register ({counted})"


def progress_text(progress: AppProgress) -> str:
    """The Overview's "Chat webhooks" line, after its title."""
    if progress.state == "done":
        return f"{progress.registered} triggers registered"
    if progress.next_status is not None:
        return set_label(progress.next_status)
    return "No webhook set yet"


def describe_filters(trigger: WebhookTrigger) -> str:
    """A chosen trigger's filters and extra data in one plain line."""
    return trigger_words.effect(trigger.action, trigger.filters, trigger.additional_data)


# -- registration ---------------------------------------------------------------------------

REGISTRATION_PILLS = {
    RegistrationState.REGISTERED: ("ok", "registered"),
    RegistrationState.PENDING: ("wait", "waiting"),
    RegistrationState.QUEUED: ("wait", "queued"),
    RegistrationState.REGISTERING: ("wait", "registering…"),
    RegistrationState.REMOVING: ("wait", "to be removed"),
    RegistrationState.FAILED: ("bad", "failed"),
    RegistrationState.CLEANUP_PENDING: ("bad", "cleanup pending"),
}


def registration_rows(webhook_set: WebhookSet) -> list[dict[str, Any]]:
    """One row per chosen trigger (and per webhook still to clean up), with its pill."""
    by_action = {row.action: row for row in webhook_set.registered}
    shown = []
    for trigger in webhook_set.triggers:
        row = by_action.pop(trigger.action, None)
        shown.append(_registration_row(webhook_set, trigger.action, row, chosen=True))
    for action, row in by_action.items():
        shown.append(_registration_row(webhook_set, action, row, chosen=False))
    return shown


def _registration_row(
    webhook_set: WebhookSet, action: str, row: RegisteredWebhook | None, chosen: bool
) -> dict[str, Any]:
    trigger = catalog.trigger(webhook_set.api_version, action)
    state = row.state if row is not None else RegistrationState.PENDING
    pill, word = REGISTRATION_PILLS.get(RegistrationState(state), ("wait", "waiting"))
    if not chosen and state == RegistrationState.REGISTERED:
        # Still at LiveChat, but no longer chosen: the next run removes it.
        pill, word = "muted", "will be removed"
    if row is not None and row.last_error and state != RegistrationState.REGISTERED:
        word = f"{word}: {row.last_error}"
    return {
        "action": action,
        "title": trigger.title if trigger else action,
        "state": str(state),
        "chosen": chosen,
        "pill": pill,
        "label": word,
        "webhook_id": row.livechat_webhook_id if row is not None else None,
    }


# -- installation ---------------------------------------------------------------------------


def installation_json(status: InstallStatus) -> dict[str, Any]:
    """The body of the install status poll: the page behind the popup waits for it."""
    return {
        "app_id": status.app_id,
        "installed": status.installed,
        "needs_reauth": status.needs_reauth,
        "webhooks_enabled": status.webhooks_enabled,
        "installations": [
            {
                "id": row.uid,
                "organization_id": row.organization_id,
                "account_id": row.account_id,
                "installed_at": iso(row.installed_at),
                "webhooks_enabled": row.webhooks_enabled,
                "webhooks_checked_at": iso(row.webhooks_checked_at),
                "needs_reauth": row.needs_reauth,
            }
            for row in status.installations
        ],
    }


def init_app(app: Flask) -> None:
    for function in (
        check_pill,
        check_label,
        check_detail,
        set_pill,
        set_label,
        progress_text,
        describe_filters,
    ):
        app.add_template_filter(function)
    app.add_template_global(catalog.noun, "trigger_noun")
