"""Incoming Chat Webhook deliveries: parse leniently, verify the secret, mask it, dedupe.

LiveChat's envelope (``livechat-api.md`` 4.1) carries ``webhook_id``, ``secret_key``,
``action``, ``organization_id`` (3.4+) or an integer ``license_id`` (3.3), ``payload``,
``additional_data`` and, for configuration webhooks in 3.6, ``requester``. Unknown top-level
keys are kept, not refused: a strict parser would reject the next version's envelopes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from dataclasses import dataclass
from typing import Any

SECRET_FIELD = "secret_key"
MASK = "[redacted]"
MAX_ACTION_LENGTH = 64
MAX_WEBHOOK_ID_LENGTH = 64


class MalformedDelivery(ValueError):
    """The body is not a delivery envelope; the message says what is wrong, in plain words."""


@dataclass(frozen=True)
class Envelope:
    """A parsed delivery. ``secret_key`` is whatever was sent (maybe not text, maybe absent)."""

    action: str
    webhook_id: str | None
    organization_id: str | None
    license_id: int | None
    payload: Any
    additional_data: Any
    secret_key: object
    has_secret_key: bool
    raw: dict[str, Any]


@dataclass(frozen=True)
class Verification:
    verified: bool
    # Why it was rejected, in plain words; None when verified.
    reason: str | None = None


def _refuse_constant(name: str) -> Any:
    raise MalformedDelivery(f"The body is not valid JSON ({name} is not a JSON value).")


def _printable(value: object, limit: int) -> str | None:
    """A short, printable text form of an identifier, or None when there is none."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = "".join(ch for ch in str(value) if ch.isprintable())[:limit]
    return text or None


def _is_trigger_name(value: object) -> bool:
    # Control characters and lone surrogates cannot be stored or shown; the rest is LiveChat's.
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ACTION_LENGTH
        and all(unicodedata.category(ch) not in {"Cc", "Cs"} for ch in value)
    )


def parse_envelope(body: bytes) -> Envelope:
    """Parse a delivery body; raise ``MalformedDelivery`` when it cannot be one."""
    if not body.strip():
        raise MalformedDelivery("The body is empty; send the delivery as a JSON object.")
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except MalformedDelivery:
        raise
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, bad UTF-8 and over-long integers.
        raise MalformedDelivery("The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise MalformedDelivery("The body must be a JSON object, not a list or a single value.")
    action = data.get("action")
    if action is None or action == "":
        raise MalformedDelivery("The body has no action; LiveChat always names the trigger there.")
    if not _is_trigger_name(action):
        raise MalformedDelivery(
            f"The action must be a trigger name of at most {MAX_ACTION_LENGTH} characters, "
            "such as incoming_chat."
        )
    license_id = data.get("license_id")
    organization_id = data.get("organization_id")
    return Envelope(
        action=action,
        webhook_id=_printable(data.get("webhook_id"), MAX_WEBHOOK_ID_LENGTH),
        organization_id=organization_id if isinstance(organization_id, str) else None,
        license_id=license_id if type(license_id) is int else None,
        payload=data.get("payload"),
        additional_data=data.get("additional_data"),
        secret_key=data.get(SECRET_FIELD),
        has_secret_key=data.get(SECRET_FIELD) is not None,
        raw=data,
    )


def verify_secret(envelope: Envelope, expected: str | None) -> Verification:
    """Compare the sent ``secret_key`` with the saved one in constant time."""
    if expected is None:
        return Verification(False, "this webhook set has no secret key yet")
    if not envelope.has_secret_key:
        return Verification(False, "no secret_key in the body")
    given = envelope.secret_key
    # Type first: compare_digest refuses mixed types, and an int or list is never a secret.
    if not isinstance(given, str):
        return Verification(False, "secret_key is not text")
    # Bytes, so non-ASCII secrets compare too; lone surrogates from JSON escapes just differ.
    if not hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    ):
        return Verification(False, "wrong secret key")
    return Verification(True)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dedupe_key(envelope: Envelope) -> str:
    """sha256 of webhook id, action and canonical payload.

    ``webhook_id`` is the same for every delivery of one registration, so alone it is no key;
    with the payload it names one event, however often LiveChat retries it.
    """
    webhook_id = envelope.raw.get("webhook_id")
    parts = [
        canonical_json(webhook_id if webhook_id is not None else ""),
        canonical_json(envelope.action),
        canonical_json(envelope.payload),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: MASK if key == SECRET_FIELD and item is not None else _masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def masked_body(envelope: Envelope) -> str:
    """The body pretty-printed, with every ``secret_key`` (at any depth) masked."""
    text = json.dumps(_masked(envelope.raw), indent=2, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\\ud800") cannot be stored as text; keep it escaped instead.
        text = json.dumps(_masked(envelope.raw), indent=2)
    return text
