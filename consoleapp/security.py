"""Response headers and log redaction."""

from __future__ import annotations

import logging
import re
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
_PATTERNS = [
    # JSON: "secret_key": "value"
    (re.compile(rf'("(?:{_KEYS})"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE), rf'\1"{REDACTED}"'),
    # query strings and form bodies: code=value
    (re.compile(rf"\b((?:{_KEYS})=)[^&\s'\"]+", re.IGNORECASE), rf"\1{REDACTED}"),
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


def init_app(app: Flask) -> None:
    redacting = RedactingFilter()
    for name in ("consoleapp", "authlib", "werkzeug", "urllib3", "requests_hardened"):
        logger = logging.getLogger(name)
        logger.addFilter(redacting)
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
