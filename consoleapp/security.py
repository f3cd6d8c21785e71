"""Response headers and log redaction."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response

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


def content_security_policy(accounts_url: str) -> str:
    accounts = urlsplit(accounts_url)
    form_targets = "'self'"
    if accounts.scheme and accounts.netloc:
        form_targets += f" {accounts.scheme}://{accounts.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form_targets}",
            "frame-ancestors 'none'",
        ]
    )


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


def init_app(app: Flask) -> None:
    install_redaction()
    logging.getLogger("consoleapp").setLevel(app.config["LOG_LEVEL"])
    logging.getLogger("authlib").setLevel(logging.INFO)
    policy = content_security_policy(app.config["LIVECHAT_ACCOUNTS_URL"])

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
