"""Make LiveChat's registered webhooks match a webhook set: one webhook per chosen trigger.

A run reconciles what the set wants with what ``list_webhooks`` shows (CHECKS.md R6-R10). It is a
job boundary, so it commits itself: each webhook id is saved the moment it is known, and no
transaction is open during a call to LiveChat (SQLite takes its write lock at BEGIN, and the
sandbox served by this same process would wait for it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..crypto import SecretUnavailable
from ..extensions import db
from ..livechat import catalog
from ..livechat.configuration import DEADLINE, ConfigurationApi, Credential, LiveChatError
from ..livechat.configuration import RegisteredWebhook as ListedWebhook
from ..models import App, RegisteredWebhook, RegistrationState, WebhookSet, WizardStep, utcnow

log = logging.getLogger("consoleapp.registration")

# Errors about one trigger's request: the others are still worth trying (R9).
PER_TRIGGER_ERRORS = {"limit_reached", "validation", "already_exists"}
MARKER = "consoleapp set"


def problem(webhook_set: WebhookSet) -> str | None:
    """Why registration cannot start, in words a person can act on; None when it can."""
    app = webhook_set.app
    if not app.client_id:
        return "Add the app's Client ID on the Authorization tab first."
    if not app.developer_credential_complete or not app.secret_readable("developer_token"):
        return "Add a developer credential (Personal Access Token) on the Authorization tab."
    if webhook_set.wizard_step < WizardStep.REVIEW:
        return "Finish the three steps first."
    try:
        webhook_set.secret_key  # noqa: B018 - reading it proves it can be opened
    except SecretUnavailable:
        return "The saved secret key can no longer be read. Generate a new one in step 2."
    return None


def client_for(
    app: App, api_url: str, timeout: tuple[float, float], deadline: float = DEADLINE
) -> ConfigurationApi:
    credential = Credential.personal_access_token(
        app.developer_account_id or "", app.developer_token or ""
    )
    return ConfigurationApi(
        api_url, app.api_version, credential, timeout=timeout, deadline=deadline
    )


def description(webhook_set: WebhookSet) -> str:
    """Marks webhooks this console made for this set and key, so a lost answer can be found
    again in ``list_webhooks`` and nobody else's webhook is ever adopted or removed."""
    saved = webhook_set.secret_saved_at
    stamp = saved.strftime("%Y%m%d%H%M%S%f") if saved else "0"
    return f"{MARKER} {webhook_set.uid} key {stamp}"


def desired(webhook_set: WebhookSet) -> dict[str, dict[str, Any]]:
    """What each chosen trigger should be registered as (never the secret itself)."""
    return {
        trigger.action: {
            "url": webhook_set.target_url,
            "filters": dict(trigger.filters or {}),
            "additional_data": list(trigger.additional_data or []),
            "description": description(webhook_set),
        }
        for trigger in webhook_set.triggers
    }


def prepare(webhook_set: WebhookSet) -> None:
    """A waiting row for every chosen trigger that has none yet; the caller commits."""
    have = {row.action for row in webhook_set.registered}
    for trigger in webhook_set.triggers:
        if trigger.action not in have:
            webhook_set.registered.append(RegisteredWebhook(action=trigger.action))
    db.session.flush()


@dataclass(frozen=True)
class Row:
    id: int
    action: str
    livechat_id: str | None
    state: str
    registered_as: dict[str, Any]


@dataclass
class Snapshot:
    set_id: int
    uid: str
    owner_client_id: str
    secret: str
    version: str
    desired: dict[str, dict[str, Any]]
    rows: dict[str, Row]


@dataclass
class Outcome:
    """What a run did, for the flash message and the tests."""

    registered: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None


def _snapshot(set_id: int) -> Snapshot:
    webhook_set = db.session.get(WebhookSet, set_id)
    assert webhook_set is not None
    prepare(webhook_set)
    snapshot = Snapshot(
        set_id=webhook_set.id,
        uid=webhook_set.uid,
        owner_client_id=webhook_set.app.client_id or "",
        secret=webhook_set.secret_key or "",
        version=webhook_set.api_version,
        desired=desired(webhook_set),
        rows={
            row.action: Row(
                row.id,
                row.action,
                row.livechat_webhook_id,
                row.state,
                dict(row.registered_as or {}),
            )
            for row in webhook_set.registered
        },
    )
    db.session.commit()
    return snapshot


def _save(row_id: int, **values: Any) -> None:
    row = db.session.get(RegisteredWebhook, row_id)
    if row is not None:
        for key, value in values.items():
            setattr(row, key, value)
    db.session.commit()


def _drop(row_id: int) -> None:
    row = db.session.get(RegisteredWebhook, row_id)
    if row is not None:
        db.session.delete(row)
    db.session.commit()


def _title(version: str, action: str) -> str:
    trigger = catalog.trigger(version, action)
    return f"“{trigger.title}” ({action})" if trigger else action


def _matches(listed: ListedWebhook, action: str, spec: dict[str, Any]) -> bool:
    return (
        listed.action == action
        and listed.url == spec["url"]
        and listed.description == spec["description"]
        and (listed.filters or {}) == spec["filters"]
        and sorted(listed.additional_data) == sorted(spec["additional_data"])
    )


def _find(listed: list[ListedWebhook], action: str, spec: dict[str, Any], claimed: set[str]):
    return next(
        (w for w in listed if w.id not in claimed and _matches(w, action, spec)),
        None,
    )


def _adopt(row: Row, webhook: ListedWebhook, spec: dict[str, Any], outcome: Outcome) -> None:
    _save(
        row.id,
        livechat_webhook_id=webhook.id,
        state=RegistrationState.REGISTERED,
        registered_as=spec,
        last_error=None,
        registered_at=utcnow(),
    )
    outcome.adopted.append(row.action)


def _unregister(api: ConfigurationApi, snap: Snapshot, webhook_id: str) -> None:
    try:
        api.unregister_webhook(webhook_id, snap.owner_client_id)
    except LiveChatError as exc:
        if exc.type != "not_found":  # already gone is what we wanted
            raise


def _remove_outdated(api: ConfigurationApi, snap: Snapshot, outcome: Outcome) -> bool:
    """Unregister webhooks of triggers no longer chosen, or registered differently (webhooks
    cannot be edited). False when LiveChat is unavailable and the run must stop."""
    for action, row in list(snap.rows.items()):
        wanted = snap.desired.get(action)
        if row.livechat_id is None:
            if wanted is None:
                _drop(row.id)
                del snap.rows[action]
            continue
        if wanted is not None and row.registered_as == wanted:
            if row.state != RegistrationState.REGISTERED:
                # Kept after all (a cancel that could not remove it, then a resume).
                _save(row.id, state=RegistrationState.REGISTERED, last_error=None)
            continue
        try:
            _unregister(api, snap, row.livechat_id)
        except LiveChatError as exc:
            state = (
                RegistrationState.CLEANUP_PENDING if wanted is None else RegistrationState.FAILED
            )
            reason = f"could not remove the old webhook: {exc.plain}"
            _save(row.id, state=state, last_error=reason)
            outcome.failed[action] = reason
            if not exc.retryable:
                continue
            outcome.stopped = f"{_title(snap.version, action)}: {reason}"
            return False
        outcome.removed.append(action)
        if wanted is None:
            _drop(row.id)
            del snap.rows[action]
        else:
            _save(
                row.id, livechat_webhook_id=None, state=RegistrationState.PENDING, registered_as={}
            )
            snap.rows[action] = Row(row.id, action, None, RegistrationState.PENDING, {})
    return True


def _register_one(
    api: ConfigurationApi,
    snap: Snapshot,
    row: Row,
    listed: list[ListedWebhook],
    claimed: set[str],
    outcome: Outcome,
) -> bool:
    """Register (or adopt) one trigger; False when the run must stop."""
    spec = snap.desired[row.action]
    found = _find(listed, row.action, spec, claimed)
    if found is not None:
        claimed.add(found.id)
        _adopt(row, found, spec, outcome)
        return True
    _save(row.id, attempts=RegisteredWebhook.attempts + 1)
    try:
        webhook_id = api.register_webhook(
            action=row.action,
            url=spec["url"],
            secret_key=snap.secret,
            owner_client_id=snap.owner_client_id,
            description=spec["description"],
            filters=spec["filters"] or None,
            additional_data=spec["additional_data"] or None,
        )
    except LiveChatError as exc:
        if exc.ambiguous and _adopt_after_ambiguous(api, snap, row, spec, claimed, outcome):
            return True
        reason = exc.plain
        _save(row.id, state=RegistrationState.FAILED, last_error=reason)
        outcome.failed[row.action] = reason
        log.warning("register_webhook %s failed: %s", row.action, exc.type)
        if exc.type in PER_TRIGGER_ERRORS:
            return True  # no retry (R9); the other triggers are still tried
        outcome.stopped = f"{_title(snap.version, row.action)}: {reason}"
        return False
    claimed.add(webhook_id)
    _save(
        row.id,
        livechat_webhook_id=webhook_id,
        state=RegistrationState.REGISTERED,
        registered_as=spec,
        last_error=None,
        registered_at=utcnow(),
    )
    outcome.registered.append(row.action)
    return True


def _adopt_after_ambiguous(
    api: ConfigurationApi,
    snap: Snapshot,
    row: Row,
    spec: dict[str, Any],
    claimed: set[str],
    outcome: Outcome,
) -> bool:
    """The request may have taken effect: look before anyone registers again (R8)."""
    try:
        listed = api.list_webhooks(snap.owner_client_id)
    except LiveChatError:
        return False
    found = _find(listed, row.action, spec, claimed)
    if found is None:
        return False
    claimed.add(found.id)
    _adopt(row, found, spec, outcome)
    return True


def reconcile(set_id: int, api: ConfigurationApi) -> Outcome:
    """One run: list, remove what is outdated, then register or adopt what is missing.

    Call it with no transaction open. A second run does only what is still missing (R7).
    """
    snap = _snapshot(set_id)
    outcome = Outcome()
    try:
        listed = api.list_webhooks(snap.owner_client_id)
    except LiveChatError as exc:
        outcome.stopped = f"Could not read the app's webhooks from LiveChat: {exc.plain}"
        return outcome
    listed_ids = {w.id for w in listed}
    for action, row in list(snap.rows.items()):
        if row.livechat_id and row.livechat_id not in listed_ids:
            # Removed in LiveChat by someone else: register it again.
            _save(
                row.id, livechat_webhook_id=None, state=RegistrationState.PENDING, registered_as={}
            )
            snap.rows[action] = Row(row.id, action, None, RegistrationState.PENDING, {})
    if _remove_outdated(api, snap, outcome):
        claimed = {row.livechat_id for row in snap.rows.values() if row.livechat_id}
        for action in snap.desired:
            row = snap.rows[action]
            if row.livechat_id is not None:
                continue  # registered as wanted, or its old webhook could not be removed
            if not _register_one(api, snap, row, listed, claimed, outcome):
                break
    _finish(set_id)
    return outcome


def _finish(set_id: int) -> None:
    webhook_set = db.session.get(WebhookSet, set_id)
    if webhook_set is None:
        return
    rows = {row.action: row for row in webhook_set.registered}
    complete = len(rows) == len(webhook_set.triggers) and all(
        row.state == RegistrationState.REGISTERED for row in rows.values()
    )
    if complete and webhook_set.wizard_step >= WizardStep.REVIEW:
        webhook_set.wizard_step = WizardStep.DONE
    db.session.commit()


def cancel(set_id: int, api: ConfigurationApi) -> Outcome:
    """Remove from LiveChat the webhooks this console registered for the set (R10); those that
    cannot be removed stay as "cleanup pending" for another try."""
    webhook_set = db.session.get(WebhookSet, set_id)
    assert webhook_set is not None
    owner = webhook_set.app.client_id or ""
    rows = [(row.id, row.action, row.livechat_webhook_id) for row in webhook_set.registered]
    if webhook_set.wizard_step == WizardStep.DONE:
        webhook_set.wizard_step = WizardStep.REVIEW
    db.session.commit()
    outcome = Outcome()
    for row_id, action, livechat_id in rows:
        if livechat_id is not None:
            try:
                api.unregister_webhook(livechat_id, owner)
            except LiveChatError as exc:
                if exc.type != "not_found":
                    reason = f"could not remove it: {exc.plain}"
                    _save(row_id, state=RegistrationState.CLEANUP_PENDING, last_error=reason)
                    outcome.failed[action] = reason
                    continue
            outcome.removed.append(action)
        _drop(row_id)
    return outcome
