"""The Configuration API: ``POST /sandbox/api/v<version>/configuration/action/<method>``.

Every answer, including unknown paths, wrong HTTP methods and oversized bodies, is a JSON body
in LiveChat's error shape, and nothing half-done is ever stored: a method's changes are
committed together or rolled back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ...extensions import csrf, db
from . import catalog, faults, webhooks
from .auth import Caller, authenticate
from .errors import ApiError, validation

log = logging.getLogger("consoleapp.sandbox")

bp = Blueprint("sandbox_api", __name__, url_prefix="/sandbox/api")
csrf.exempt(bp)

AuthenticatedMethod = Callable[[Caller, dict[str, Any], str], Any]
METHODS: dict[str, AuthenticatedMethod] = {
    "register_webhook": webhooks.register_webhook,
    "list_webhooks": webhooks.list_webhooks,
    "unregister_webhook": webhooks.unregister_webhook,
    "enable_license_webhooks": webhooks.enable_license_webhooks,
    "disable_license_webhooks": webhooks.disable_license_webhooks,
    "get_license_webhooks_state": webhooks.get_license_webhooks_state,
}
UNAUTHENTICATED = {"list_webhook_names"}
# Methods whose change is stored before the answer; a timeout fault holds their answer.
WRITES = {
    "register_webhook",
    "unregister_webhook",
    "enable_license_webhooks",
    "disable_license_webhooks",
}
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _body() -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise validation("`Content-Type` must be application/json")
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation("The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object")
    return body


def _call(version: str, method: str) -> Any:
    if version not in catalog.SUPPORTED_VERSIONS:
        raise ApiError(
            "unsupported_version",
            f"Cannot call unsupported API version {version}; the sandbox serves "
            + ", ".join(catalog.SUPPORTED_VERSIONS),
        )
    if method not in METHODS and method not in UNAUTHENTICATED:
        raise ApiError("not_found", f"Method `{method}` does not exist or is not simulated")
    faults.before_call(method)
    if method == "list_webhook_names":
        return webhooks.list_webhook_names(_body(), version)
    caller = authenticate(request.headers.get("Authorization"))
    result = METHODS[method](caller, _body(), version)
    db.session.commit()
    if method in WRITES:
        faults.after_store(method)
    return result


@bp.route("/v<version>/configuration/action/<method>", methods=ALL_METHODS)
def action(version: str, method: str) -> Response:
    if request.method != "POST":
        raise ApiError(
            "validation", f"Use POST to call `{method}`, not {request.method}", status=405
        )
    return jsonify(_call(version, method))


@bp.route("/", defaults={"rest": ""}, methods=ALL_METHODS)
@bp.route("/<path:rest>", methods=ALL_METHODS)
def unknown(rest: str) -> Response:
    raise ApiError("not_found", "No such endpoint; call /v<version>/configuration/action/<method>")


@bp.after_request
def lifecycle_header(response: Response) -> Response:
    # Every answer of a legacy version says so, errors included (livechat-api.md §1.1).
    version = (request.view_args or {}).get("version")
    if version in catalog.LEGACY_UNTIL:
        response.headers["Legacy"] = catalog.LEGACY_UNTIL[version]
    return response


@bp.errorhandler(ApiError)
def api_error(exc: ApiError) -> Response:
    db.session.rollback()
    return exc.response()


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    db.session.rollback()
    if isinstance(exc, RequestEntityTooLarge):
        return ApiError("entity_too_large", "The request body is larger than 1 MB").response()
    return ApiError("validation", exc.description or "Wrong format of request").response()


@bp.errorhandler(Exception)
def unexpected(exc: Exception) -> Response:
    db.session.rollback()
    log.error("sandbox API call failed: %s", type(exc).__name__)
    return ApiError("internal").response()
