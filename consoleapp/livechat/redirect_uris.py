"""LiveChat's Redirect URI whitelist rules (livechat-api.md 5.5), as plain functions.

A requested URI is accepted by a whitelist entry when the schemes are equal, host and port are
equal, and the entry's path is a prefix of the requested path with no ``..`` traversal.
Whitelist entries may carry no query string or fragment.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

MAX_LENGTH = 500
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RedirectUriError(ValueError):
    """The address breaks one of LiveChat's rules; the message says which."""


def _split(uri: str) -> SplitResult:
    if any(ch.isspace() for ch in uri) or any(ord(ch) < 32 for ch in uri):
        raise RedirectUriError(f"“{uri.strip()}” contains spaces or line breaks; remove them.")
    if len(uri) > MAX_LENGTH:
        raise RedirectUriError(f"An address has at most {MAX_LENGTH} characters.")
    parts = urlsplit(uri)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise RedirectUriError(f"“{uri}” must start with https:// (or http:// for a test setup).")
    if not parts.hostname:
        raise RedirectUriError(f"“{uri}” has no host name.")
    if parts.username is not None or parts.password is not None:
        raise RedirectUriError(f"“{uri}” must not contain a user name or password.")
    try:
        parts.port  # noqa: B018 - raises for a malformed port
    except ValueError as exc:
        raise RedirectUriError(f"“{uri}” has an invalid port.") from exc
    return parts


def check_uri(uri: str) -> SplitResult:
    """Validate one address used as a redirect target (the Direct installation URL)."""
    parts = _split(uri)
    if parts.fragment or uri.endswith("#"):
        raise RedirectUriError(f"“{uri}” must not contain a fragment (#…).")
    return parts


def check_entry(uri: str) -> SplitResult:
    """Validate one whitelist entry: an address with no query string or fragment."""
    parts = check_uri(uri)
    if parts.query or "?" in uri:
        raise RedirectUriError(
            f"Whitelist entry “{uri}” must not contain a query string (?…); LiveChat refuses it."
        )
    return parts


def parse_whitelist(text: str) -> list[str]:
    """Split a whitelist typed as lines or commas, validating every entry."""
    entries = [entry.strip() for entry in re.split(r"[,\n]", text) if entry.strip()]
    if not entries:
        raise RedirectUriError("Enter at least one redirect URI.")
    if len(entries) > 20:
        raise RedirectUriError("Use at most 20 redirect URIs.")
    for entry in entries:
        check_entry(entry)
    return list(dict.fromkeys(entries))


def _port(parts: SplitResult) -> int:
    return parts.port or _DEFAULT_PORTS[parts.scheme.lower()]


def entry_rejection(entry: str, uri: str) -> str | None:
    """Why ``entry`` does not accept ``uri``, or None when it does."""
    allowed, requested = urlsplit(entry), urlsplit(uri)
    if allowed.scheme.lower() != requested.scheme.lower():
        return f"the scheme differs ({allowed.scheme} vs {requested.scheme})"
    if (allowed.hostname or "").lower() != (requested.hostname or "").lower():
        return f"the host differs ({allowed.hostname} vs {requested.hostname})"
    if _port(allowed) != _port(requested):
        return f"the port differs ({_port(allowed)} vs {_port(requested)})"
    segments = requested.path.split("/")
    if ".." in segments:
        return "the address contains “..”"
    if not (requested.path or "/").startswith(allowed.path or "/"):
        return f"the path “{requested.path or '/'}” does not start with “{allowed.path}”"
    return None


def accepts(whitelist: list[str], uri: str) -> bool:
    return any(entry_rejection(entry, uri) is None for entry in whitelist)


def whitelist_rejection(whitelist: list[str], uri: str) -> str | None:
    """A sentence naming each entry and why it refuses ``uri``, or None if one accepts it."""
    reasons = []
    for entry in whitelist:
        reason = entry_rejection(entry, uri)
        if reason is None:
            return None
        reasons.append(f"“{entry}”: {reason}")
    return (
        "No whitelist entry accepts the Direct installation URL. "
        + "; ".join(reasons)
        + ". Add the Direct installation URL itself to the whitelist."
    )
