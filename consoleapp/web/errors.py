"""Error pages: HTML for people, JSON for machines, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.routing import IntegerConverter, Map, ValidationError

log = logging.getLogger("consoleapp.errors")

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    401: ("Sign in needed", "Sign in to continue."),
    403: ("Not allowed", "Your role can look but not change this. Ask an owner or admin."),
    404: ("Not found", "That page does not exist, or what it showed was deleted."),
    405: ("Not allowed here", "That page does not take this kind of request."),
    413: ("Too large", "What you sent is larger than 1 MB. Send something smaller."),
    429: ("Too many tries", "Wait a minute, then try again."),
    500: (
        "Something went wrong",
        "The console hit an error. Nothing you did caused it; "
        "try again, and if it keeps happening tell whoever runs this console.",
    ),
}


# The webhook receiver's paths: a method it does not take fails routing, so no blueprint is known.
MACHINE_PATHS = ("/hooks/",)


def wants_json() -> bool:
    if request.blueprint and request.blueprint.startswith(("receiver", "sandbox_api")):
        return True
    if request.blueprint is None and request.path.startswith(MACHINE_PATHS):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def error_response(status: int, message: str | None = None) -> tuple[Response | str, int]:
    title, default_message = MESSAGES.get(status, MESSAGES[400 if status < 500 else 500])
    message = message or default_message
    if wants_json():
        return jsonify(error={"status": status, "message": message}), status
    return render_template("error.html", status=status, title=title, message=message), status


def handle_http_error(exc: HTTPException) -> tuple[Response | str, int]:
    status = exc.code or 500
    response = error_response(status, getattr(exc, "user_message", None))
    if status == 405 and exc.valid_methods:
        body, code = response
        resp = body if isinstance(body, Response) else Response(body, mimetype="text/html")
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp, code
    return response


def handle_csrf_error(exc: CSRFError) -> tuple[Response | str, int]:
    return error_response(400, "Form expired, reload and retry.")


def handle_server_error(exc: Exception) -> tuple[Response | str, int]:
    original = getattr(exc, "original_exception", exc)
    log.error("unhandled error: %s", type(original).__name__)
    return error_response(500)


class RowIdConverter(IntegerConverter):
    """``<int:…>`` bounded to the databases' integer range (PostgreSQL's is 32-bit).

    A larger number names no row, so it is a 404 here rather than a database error (500).
    """

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        # Not a ValidationError: Werkzeug would then answer 405 where the same address has a
        # GET rule and a POST rule (a confirmation page and its action).
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def init_app(app: Flask) -> None:
    # Before any blueprint registers its rules, so every <int:…> in a URL uses it.
    app.url_map.converters["int"] = RowIdConverter
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_server_error)
