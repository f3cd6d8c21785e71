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
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

SECRET_FIELD = "secret_key"
MASK = "[redacted]"
MAX_ACTION_LENGTH = 64
MAX_WEBHOOK_ID_LENGTH = 64
PRETTY = "pretty"
RAW = "raw"
# As received, secret masked, laid out when someone looks at it (PRETTY and RAW are what
# deliveries stored before that keep).
RECEIVED = "received"
# Laid out, a body grows with its depth (each level indents every line inside it). One that
# would grow past this many times its size (or past the floor) is kept as received instead.
LAID_OUT_GROWTH = 8
LAID_OUT_FLOOR = 64 * 1024

log = logging.getLogger("consoleapp.deliveries")


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
    except RecursionError as exc:
        raise MalformedDelivery(
            "The body is nested too deeply to read (about a thousand levels or more)."
        ) from exc
    except ValueError as exc:
        # JSONDecodeError, bad UTF-8 and over-long integers.
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
    """Sorted keys, no spaces: the same text for the same value, however it was sent."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:
        # Nested deeper than the encoder recurses; the same text, built without recursion.
        return _canonical_json_iteratively(value)


class _Text(str):
    """Finished JSON text on the work stack of ``_canonical_json_iteratively``."""


def _canonical_json_iteratively(value: Any) -> str:
    parts: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Text):
            parts.append(item)
        elif isinstance(item, dict):
            # Pushed in reverse, so they come off the stack in order.
            stack.append(_Text("}"))
            for position, (key, child) in enumerate(sorted(item.items(), reverse=True)):
                stack.append(child)
                stack.append(_Text(json.dumps(key, ensure_ascii=False) + ":"))
                if position < len(item) - 1:
                    stack.append(_Text(","))
            stack.append(_Text("{"))
        elif isinstance(item, list):
            stack.append(_Text("]"))
            for position, child in enumerate(reversed(item)):
                stack.append(child)
                if position < len(item) - 1:
                    stack.append(_Text(","))
            stack.append(_Text("["))
        else:
            parts.append(json.dumps(item, ensure_ascii=False))
    return "".join(parts)


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


def masked(value: Any) -> Any:
    """A copy with every ``secret_key`` (at any depth) masked, built without recursion."""
    if not isinstance(value, dict | list):
        return value
    copy: dict[str, Any] | list[Any] = {} if isinstance(value, dict) else []
    stack = [(value, copy)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(source, dict) and key == SECRET_FIELD and item is not None:
                item = MASK
            elif isinstance(item, dict | list):
                child: dict[str, Any] | list[Any] = {} if isinstance(item, dict) else []
                stack.append((item, child))
                item = child
            if isinstance(target, dict):
                target[key] = item
            else:
                target.append(item)
    return copy


def _laid_out(value: Any, max_length: int | None, ensure_ascii: bool) -> str | None:
    """``value`` pretty-printed, or None when that text would be longer than ``max_length``."""
    chunks: list[str] = []
    length = 0
    for chunk in json.JSONEncoder(indent=2, ensure_ascii=ensure_ascii).iterencode(value):
        length += len(chunk)
        if max_length is not None and length > max_length:
            return None
        chunks.append(chunk)
    return "".join(chunks)


def masked_body(envelope: Envelope, max_length: int | None = None) -> str | None:
    """The body pretty-printed, with every ``secret_key`` (at any depth) masked.

    None when, laid out, it would be longer than ``max_length`` characters. The encoder
    recurses: a body nested deeper than it can go raises ``RecursionError``.
    """
    masked_value = masked(envelope.raw)
    text = _laid_out(masked_value, max_length, ensure_ascii=False)
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\\ud800") cannot be stored as text; keep it escaped instead.
        text = _laid_out(masked_value, max_length, ensure_ascii=True)
    return text


# -- the body as received ------------------------------------------------------------------

# One JSON token: a string, a punctuation mark, or a number or literal. Whitespace is skipped.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')
_SURROGATE = re.compile("[\ud800-\udfff]")
_MASKED_VALUE = json.dumps(MASK)


def _is_secret_field(token: str) -> bool:
    return token == f'"{SECRET_FIELD}"' or ("\\" in token and json.loads(token) == SECRET_FIELD)


# The one ``secret_key`` of a body without escapes, and its value when that is not an object or
# an array: a string (which cannot hold a quote without an escape) or a number or literal.
_ONE_SECRET = re.compile(rf'"{SECRET_FIELD}"\s*:\s*(?P<value>"[^"]*"|[^\s{{}}\[\]:,"]+)')


def masked_text(body: bytes) -> str:
    """The body as received, with the value of every ``secret_key`` replaced by the mask.

    ``body`` must be JSON that parsed. A body as LiveChat sends it is masked with one search;
    any other token by token, without recursion, so it works at any depth, and a key that
    appears twice in one object is masked both times.
    """
    text = body.decode(json.detect_encoding(body), "surrogatepass")  # as json.loads reads it
    masked = _masked_at_once(text)
    if masked is None:
        masked = _masked_token_by_token(text)
    # A lone surrogate cannot be stored as text; inside a JSON string its escape means the same.
    return _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", masked)


def _masked_at_once(text: str) -> str | None:
    """A delivery as LiveChat sends it, masked with one search; None when it is not that simple.

    Simple means no backslash anywhere and ``secret_key`` written once. Without escapes every
    quote in valid JSON opens or closes a string, so ``"secret_key"`` is a whole string, and
    followed by a colon it is a key: the only one of that name. Its value is masked here when it
    is a string, a number or a literal; an object or an array is left to the token walk.
    """
    if "\\" in text or text.count(SECRET_FIELD) != 1:
        return None
    found = _ONE_SECRET.search(text)
    if found is None:
        return None
    if found.group("value") == "null":  # as in the laid-out form: an absent secret stays visible
        return text
    return text[: found.start("value")] + _MASKED_VALUE + text[found.end("value") :]


def _masked_token_by_token(text: str) -> str:
    pieces: list[str] = []
    copied = 0  # text[:copied] is in pieces
    containers: list[str] = []
    key_next = secret_next = False
    secret_from, depth = -1, 0  # where a masked object or array began, and how deep we are in it
    for match in _TOKEN.finditer(text):
        token, start = match.group(), match.start()
        kind = token[0]
        if secret_from >= 0:
            depth += 1 if kind in "{[" else -1 if kind in "}]" else 0
            if depth == 0:
                pieces += [text[copied:secret_from], _MASKED_VALUE]
                copied, secret_from = match.end(), -1
            continue
        if kind in "{[":
            if secret_next:
                secret_next, secret_from, depth = False, start, 1
                continue
            containers.append(kind)
            key_next = kind == "{"
        elif kind in "}]":
            containers.pop()
            key_next = False
        elif kind == ",":
            key_next = containers[-1] == "{"
        elif kind == ":":
            continue
        elif key_next:
            key_next = False
            secret_next = _is_secret_field(token)
        elif secret_next:
            secret_next = False
            if token != "null":  # as in the laid-out form: an absent secret stays visible
                pieces += [text[copied:start], _MASKED_VALUE]
                copied = match.end()
    pieces.append(text[copied:])
    return "".join(pieces)


@dataclass(frozen=True)
class KeptBody:
    """What is stored of a delivery body: never its secret."""

    text: str
    # PRETTY (laid out) or RAW (as received).
    format: str
    # Only the first ``limit`` bytes of the body are in ``text``.
    truncated: bool
    # Of the body as received, in bytes.
    size: int
    # sha256 of the body as received with every secret_key masked (a hash of the secret itself
    # would let anyone with the database test guesses of it).
    sha256: str


def _cut(text: str, limit: int) -> tuple[str, bool]:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, False
    return encoded[:limit].decode("utf-8", "ignore"), True


def kept_body(envelope: Envelope, body: bytes, limit: int | None = None) -> KeptBody:
    """The body to store, with every ``secret_key`` masked: laid out when that works, else as
    received. With ``limit``, at most that many bytes are kept; a longer body is kept as
    received and cut there.
    """
    as_received = masked_text(body)
    size, digest = len(body), hashlib.sha256(as_received.encode("utf-8")).hexdigest()
    if limit is not None and size > limit:
        text, truncated = _cut(as_received, limit)
        return KeptBody(text, RAW, truncated, size, digest)
    max_length = max(LAID_OUT_FLOOR, LAID_OUT_GROWTH * size) if limit is None else limit
    try:
        pretty = masked_body(envelope, max_length)
        why = f"laid out it would be longer than {max_length} characters"
    except Exception as exc:  # whatever fails in laying it out, the body is still kept
        pretty, why = None, f"{type(exc).__name__} while laying it out"
    if pretty is not None and len(pretty.encode("utf-8")) <= max_length:
        return KeptBody(pretty, PRETTY, False, size, digest)
    if limit is None:
        log.warning("delivery body kept as received: %s", why)
        return KeptBody(as_received, RAW, False, size, digest)
    text, truncated = _cut(as_received, limit)
    return KeptBody(text, RAW, truncated, size, digest)


def received_body(body: bytes, limit: int | None = None) -> KeptBody:
    """The body to store, as received with every ``secret_key`` masked, laid out later (when
    someone looks at it), so that storing it costs no more than it must. With ``limit``, at
    most that many bytes are kept."""
    text = masked_text(body)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if limit is not None:
        text, truncated = _cut(text, limit)
        return KeptBody(text, RECEIVED, truncated, len(body), digest)
    return KeptBody(text, RECEIVED, False, len(body), digest)


def laid_out(text: str, size: int) -> str | None:
    """A stored body (already masked) pretty-printed; None when it cannot be: nested too deeply
    for the parser or the encoder, or longer laid out than 8 times its size (64 KB at least)."""
    try:
        value = json.loads(text)
        pretty = _laid_out(value, max(LAID_OUT_FLOOR, LAID_OUT_GROWTH * size), ensure_ascii=False)
        if pretty is not None:
            pretty.encode("utf-8")
        return pretty
    except UnicodeEncodeError:
        return _laid_out(value, None, ensure_ascii=True)
    except (ValueError, RecursionError, MemoryError):
        return None
