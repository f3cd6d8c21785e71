"""Fixtures and helpers for the simulated license, its scenarios and deliveries."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from local_receiver import Receiver, running_receiver

from consoleapp.extensions import db
from consoleapp.models import utcnow
from consoleapp.sandbox.accounts import seed
from consoleapp.sandbox.accounts.models import SandboxClient, SandboxInstallation
from consoleapp.sandbox.configuration_api.models import SandboxWebhook

SAMPLES = Path("/work/shared/livechat-samples")
ACME = seed.organization_id("acme")
GLOBEX = seed.organization_id("globex")
CHAT_DATA = ["chat_properties", "chat_presence_user_ids"]


# Registered under their fixture names, so test modules can import them without shadowing.
@pytest.fixture(name="sandbox_app")
def sandbox_app_fixture(app_factory) -> Flask:
    """The app with short delivery timeouts and no background thread."""
    return app_factory(SANDBOX_DELIVERY_TIMEOUT=0.5)


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def add_client(app: Flask, organization_id: str = ACME, install_on: str | None = ACME) -> str:
    """A sandbox client (app) of the organization, installed on a license unless None."""
    with app.app_context():
        seed.ensure_seeded()
        client = SandboxClient(
            id=secrets.token_hex(16),
            organization_id=organization_id,
            name=f"App {secrets.token_hex(2)}",
            secret_hash="0" * 64,
            redirect_uris=[],
            scopes=[],
        )
        db.session.add(client)
        db.session.flush()
        if install_on:
            db.session.add(SandboxInstallation(client_id=client.id, organization_id=install_on))
        db.session.commit()
        return client.id


def add_webhook(
    app: Flask,
    client_id: str,
    action: str,
    url: str,
    *,
    filters: dict[str, Any] | None = None,
    additional_data: list[str] | None = None,
    api_version: str = "3.6",
    type_: str = "license",
    secret: str = "s3cret-key",
    active_from: datetime | None = None,
) -> str:
    with app.app_context():
        webhook = SandboxWebhook(
            id=secrets.token_hex(16),
            owner_client_id=client_id,
            action=action,
            url=url,
            type=type_,
            filters=filters or {},
            additional_data=additional_data or [],
            api_version=api_version,
            active_from=active_from or utcnow() - timedelta(seconds=1),
        )
        webhook.secret_key = secret
        db.session.add(webhook)
        db.session.commit()
        return webhook.id


def simulate(client, name: str, **params: Any) -> dict[str, Any]:
    response = client.post(f"/sandbox/simulate/{name}", json=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def run_due(app: Flask, after_seconds: float = 0) -> int:
    from consoleapp.sandbox import delivery

    with app.app_context():
        return delivery.run_due(now=utcnow() + timedelta(seconds=after_seconds))


def deliveries(client, **query: str) -> list[dict[str, Any]]:
    response = client.get("/sandbox/deliveries", query_string={"limit": 200, **query})
    assert response.status_code == 200
    return response.get_json()["deliveries"]


# -- LiveChat's documented samples ------------------------------------------------------

_COMMENT = re.compile(r'("(?:[^"\\]|\\.)*")|//[^\n]*')


def jsonc_keys(text: str) -> dict[tuple[str, ...], set[str]]:
    """Keys per object path in a documented sample: comments stripped, sloppy commas forgiven.

    The samples are not always valid JSON (trailing or missing commas, a stray bracket), so
    this reads keys with a tiny scanner instead of ``json.loads``. Array items share the path
    of their array with "[]" appended.
    """
    text = _COMMENT.sub(lambda match: match.group(1) or "", text)
    keys: dict[tuple[str, ...], set[str]] = {}
    stack: list[tuple[str, tuple[str, ...]]] = []
    pending_key: str | None = None
    position = 0
    token = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:]')
    while (found := token.search(text, position)) is not None:
        piece, position = found.group(), found.end()
        path = stack[-1][1] if stack else ()
        if piece.startswith('"'):
            following = text[position:].lstrip()
            if following.startswith(":") and stack and stack[-1][0] == "{":
                pending_key = json.loads(piece)
                keys.setdefault(path, set()).add(pending_key)
        elif piece in "{[":
            if stack and stack[-1][0] == "[":
                child = (*path, "[]")
            elif pending_key is not None:
                child = (*path, pending_key)
            else:
                child = path
            stack.append((piece, child))
            pending_key = None
        elif piece in "}]":
            if stack and stack[-1][0] == ("{" if piece == "}" else "["):
                stack.pop()
        elif piece == ":":
            continue
    return keys


def sample_keys(version: str, action: str) -> dict[tuple[str, ...], set[str]] | None:
    path = SAMPLES / f"v{version}" / "webhooks" / f"{action}.jsonc"
    return jsonc_keys(path.read_text()) if path.exists() else None


def body_keys(body: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], set[str]]:
    found: dict[tuple[str, ...], set[str]] = {}
    if isinstance(body, dict):
        found.setdefault(path, set()).update(body)
        for key, value in body.items():
            for sub, names in body_keys(value, (*path, key)).items():
                found.setdefault(sub, set()).update(names)
    elif isinstance(body, list):
        for item in body:
            for sub, names in body_keys(item, (*path, "[]")).items():
                found.setdefault(sub, set()).update(names)
    return found


# Where a sample says `// "Thread" object` and the like, the structure file(s) it stands for.
# "events" means every event structure of that version.
_USERS = ("users/customer.json", "users/agent.json")
PLACEHOLDERS: dict[str, dict[tuple[str, ...], tuple[str, ...] | str]] = {
    "incoming_chat": {
        ("payload", "chat", "users", "[]"): _USERS,
        ("payload", "chat", "thread"): ("other-structures/thread.json",),
        ("payload", "chat", "thread", "events", "[]"): "events",
    },
    "incoming_event": {("payload", "event"): "events"},
    "event_updated": {("payload", "event"): "events"},
    "user_added_to_chat": {("payload", "user"): _USERS},
    "incoming_customer": {("payload", "customer"): ("users/customer.json",)},
}
# livechat-api.md §3.2 lists event_deleted [3.6] without a sample file: its documented keys.
UNSAMPLED = {
    ("3.6", "event_deleted"): {
        (): {"webhook_id", "secret_key", "action", "organization_id", "payload", "additional_data"},
        ("payload",): {"chat_id", "thread_id", "event_id"},
        ("additional_data",): {"chat_properties", "chat_presence_user_ids"},
    }
}


def structure_keys(version: str, names: tuple[str, ...] | str) -> dict[tuple[str, ...], set[str]]:
    folder = SAMPLES / f"v{version}" / "structures"
    files = sorted((folder / "events").glob("*.json")) if names == "events" else []
    files += [folder / name for name in names] if names != "events" else []
    merged: dict[tuple[str, ...], set[str]] = {}
    for path in files:
        for sub, keys in jsonc_keys(path.read_text()).items():
            merged.setdefault(sub, set()).update(keys)
    return merged


def full_sample_keys(version: str, action: str) -> dict[tuple[str, ...], set[str]] | None:
    """A sample's keys at every depth, with its placeholders replaced by the structures they
    name. Samples that show only the payload (3.5 group_*) come back under ``payload``."""
    if (version, action) in UNSAMPLED:
        return {path: set(keys) for path, keys in UNSAMPLED[(version, action)].items()}
    sample = sample_keys(version, action)
    if sample is None:
        return None
    if "payload" not in sample.get((), set()):
        sample = {("payload", *path): keys for path, keys in sample.items()}
    for at, names in PLACEHOLDERS.get(action, {}).items():
        for sub, keys in structure_keys(version, names).items():
            sample.setdefault((*at, *sub), set()).update(keys)
    return sample
