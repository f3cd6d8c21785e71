"""Log redaction: secrets, tokens and credential paths are masked in every log record, whichever
logger or server made it."""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"

# Keys whose values never reach a log line, in JSON, form or header form.
SECRET_KEYS = (
    "secret_key",
    "client_secret",
    "access_token",
    "refresh_token",
    "code_verifier",
    "code",
    "password",
    "token",
    "authorization",
)
_KEYS = "|".join(SECRET_KEYS)
# Paths whose next segment is a credential: invitation and password-reset links, the inbox.
CREDENTIAL_PATHS = ("invitations", "password-reset", "reset-password", "hooks")
_PATHS = "|".join(re.escape(path) for path in CREDENTIAL_PATHS)
# A quoted string in either quote style, or a bare scalar (a number, null, True).
_VALUE = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,}\])]+)"""
_PATTERNS = [
    # JSON and Python dict reprs: "secret_key": "value", 'client_secret': 'value', "code": 123
    (
        re.compile(rf"""(["'](?:{_KEYS})["']\s*:\s*){_VALUE}""", re.IGNORECASE),
        rf'\1"{REDACTED}"',
    ),
    # pairs, as in MultiDict and header list reprs: ('client_secret', 'value')
    (
        re.compile(rf"""(\(\s*["'](?:{_KEYS})["']\s*,\s*){_VALUE}""", re.IGNORECASE),
        rf'\1"{REDACTED}"',
    ),
    # query strings and form bodies: code=value
    (re.compile(rf"\b((?:{_KEYS})=)[^&\s'\"]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # OAuth state, in query strings only, so "state: registered" or "state": "pending" stay
    (re.compile(r"([?&;]state=)[^&#\s'\"]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # request lines, referrers and links: /invitations/<token>, /hooks/<token>
    (
        re.compile(rf"(/(?:{_PATHS})(?:/|%2F)+)[^/?#\s'\"<>]+", re.IGNORECASE),
        rf"\1{REDACTED}",
    ),
    # headers: Authorization: Bearer value
    (
        re.compile(r"(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",}\n]+", re.IGNORECASE),
        rf"\1{REDACTED}",
    ),
    # bare LiveChat tokens (dal:..., fra:...)
    (re.compile(r"\b(?:dal|fra|fra-a|fra-b):[A-Za-z0-9_\-\.]{6,}"), REDACTED),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's final message, so no handler ever sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction() -> None:
    """Redact every log record as it is made, whichever logger and handler it goes to.

    A filter added to a logger sees only records logged on that very logger, not those of its
    children (``consoleapp.errors``, ``authlib.integrations…``) nor of servers' access logs,
    so the filter runs in the record factory instead. Installing twice is a no-op.
    """
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacting", False):
        return
    redacting = RedactingFilter()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redacting.filter(record)
        return record

    redacting_factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def configure_logging(level: str) -> None:
    """Process-wide logging for a process that serves the console: secrets masked in every
    record, the console's own logger at ``level`` (LOG_LEVEL), Authlib no chattier than INFO
    (its DEBUG lines carry tokens). The entry points call it (wsgi.py); the factory does not."""
    install_redaction()
    logging.getLogger("consoleapp").setLevel(level)
    logging.getLogger("authlib").setLevel(logging.INFO)
