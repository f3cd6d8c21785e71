"""Response headers every answer carries: a strict Content-Security-Policy, no framing, no
sniffing, HSTS behind HTTPS, and pages that are never cached; ``no_store`` for the other answers
no cache may keep."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, make_response

NO_STORE = "no-store"


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


def no_store(view: Callable[..., Any]) -> Callable[..., Response]:
    """No browser or proxy keeps the view's answer: JSON of live state a page polls, and
    anything shown once (a new secret key, an invitation or reset link)."""

    @functools.wraps(view)
    def answer(*args: Any, **kwargs: Any) -> Response:
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = NO_STORE
        return response

    answer.no_store = True  # type: ignore[attr-defined]
    return answer


def init_app(app: Flask) -> None:
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
            response.headers.setdefault("Cache-Control", NO_STORE)
        return response
