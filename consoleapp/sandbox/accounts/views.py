"""LiveChat's accounts server under ``/sandbox/accounts``: the sign-in and consent page,
``/v2/token``, ``/v2/info`` and revocation, with LiveChat's error page and error bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ...extensions import csrf, db
from . import oauth
from .models import SandboxAccount
from .seed import accounts_by_organization

bp = Blueprint(
    "sandbox_accounts", __name__, url_prefix="/sandbox/accounts", template_folder="templates"
)

OOOPS_DESCRIPTIONS = {
    "unauthorized_client": "The application could not be authorized.",
    "unsupported_response_type": "The application asked for a response type LiveChat does not "
    "support.",
    "invalid_request": "The application sent an incomplete or malformed authorization request.",
    "invalid_scope": "The application asked for permissions it is not configured for.",
    "too_many_redirects": "You were sent to this application too many times in a short while. "
    "Wait half a minute, then start again.",
}


def _ooops(error: oauth.OAuthError) -> BaseResponse:
    query = {"oauth_exception": error.error}
    if error.details:
        query["exception_details"] = error.details
    return redirect(url_for(".ooops") + "?" + urlencode(query))


@bp.get("/")
def authorize() -> BaseResponse | tuple[str, int] | str:
    try:
        wanted = oauth.authorize_request(request.args.to_dict())
    except oauth.OAuthError as exc:
        return _ooops(exc)
    return render_template(
        "sandbox/accounts/authorize.html",
        wanted=wanted,
        organizations=accounts_by_organization(),
    )


@bp.post("/")
def decide() -> BaseResponse | tuple[str, int]:
    # The form carries the original request back; it is checked again, never trusted.
    try:
        wanted = oauth.authorize_request(request.form.to_dict())
    except oauth.OAuthError as exc:
        return _ooops(exc)
    if request.form.get("decision") == "deny":
        return redirect(oauth.deny(wanted))
    account = db.session.get(SandboxAccount, request.form.get("account_id", ""))
    if account is None or request.form.get("decision") != "allow":
        message = "Choose the account to sign in with, then Allow or Deny."
        page = render_template(
            "sandbox/accounts/authorize.html",
            wanted=wanted,
            organizations=accounts_by_organization(),
            error=message,
        )
        return page, 400
    try:
        location = oauth.grant(wanted, account)
    except oauth.OAuthError as exc:
        db.session.rollback()
        return _ooops(exc)
    db.session.commit()
    return redirect(location)


@bp.get("/ooops")
def ooops() -> tuple[str, int]:
    exception = request.args.get("oauth_exception", "")
    return (
        render_template(
            "sandbox/accounts/ooops.html",
            exception=exception,
            details=request.args.get("exception_details", ""),
            description=OOOPS_DESCRIPTIONS.get(
                request.args.get("exception_details", ""),
                OOOPS_DESCRIPTIONS.get(exception, "The authorization request failed."),
            ),
        ),
        400,
    )


def _params() -> dict[str, Any]:
    # LiveChat's docs send form bodies; its OpenAPI spec declares JSON. Both are accepted.
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise oauth.OAuthError("invalid_request", "The JSON body must be an object.")
        return body
    return request.form.to_dict()


def _json_error(error: oauth.OAuthError) -> tuple[Response, int]:
    db.session.rollback()
    return jsonify(error.body()), error.status


@bp.post("/v2/token")
@csrf.exempt
def token() -> tuple[Response, int]:
    try:
        body = oauth.token_grant(_params())
    except oauth.OAuthError as exc:
        return _json_error(exc)
    db.session.commit()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 200


def _presented_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    code = request.args.get("code", "")
    if code:
        return code
    raise oauth.OAuthError(
        "unauthorized", "Send the token as 'Authorization: Bearer <token>' or ?code=<token>."
    )


@bp.get("/v2/info")
def info() -> tuple[Response, int]:
    try:
        body = oauth.token_info(_presented_token())
    except oauth.OAuthError as exc:
        return _json_error(exc)
    return jsonify(body), 200


@bp.delete("/v2/token")
@csrf.exempt
def revoke() -> tuple[Response, int]:
    try:
        oauth.revoke(_presented_token())
    except oauth.OAuthError as exc:
        return _json_error(exc)
    db.session.commit()
    return jsonify({}), 200
