"""Provisioning for the console: one call creates an app's client and developer credential.

``POST /sandbox/provision`` and ``POST /sandbox/clients/<client_id>/redirect-uris`` (and
``.../scopes``) stand in for what a person does by hand in LiveChat's Developer Console.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from ...extensions import csrf, db
from ...livechat.redirect_uris import RedirectUriError, check_entry
from .credentials import DEFAULT_PAT_SCOPES, create_client, create_pat, is_scope
from .models import SandboxClient
from .seed import administrator_of, first_organization

bp = Blueprint("sandbox_api_provision", __name__, url_prefix="/sandbox")
csrf.exempt(bp)

MAX_REDIRECT_URIS = 20


class ProvisionError(Exception):
    def __init__(self, message: str, status: int = 400, type_: str = "validation") -> None:
        super().__init__(message)
        self.message, self.status, self.type = message, status, type_


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ProvisionError("Send a JSON object with Content-Type: application/json.")
    return body


def _redirect_uris(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(uri, str) for uri in value):
        raise ProvisionError("`redirect_uris` must be an array of strings")
    if len(value) > MAX_REDIRECT_URIS:
        raise ProvisionError(f"`redirect_uris` takes at most {MAX_REDIRECT_URIS} addresses")
    for uri in value:
        try:
            check_entry(uri)
        except RedirectUriError as exc:
            raise ProvisionError(f"`redirect_uris`: {exc}") from exc
    return list(dict.fromkeys(value))


def _scopes(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(is_scope(scope) for scope in value):
        raise ProvisionError("`scopes` must be a non-empty array of scope names like a:rw")
    return list(dict.fromkeys(value))


def _client(client_id: str) -> SandboxClient:
    client = db.session.get(SandboxClient, client_id)
    if client is None:
        raise ProvisionError(f"No sandbox client {client_id!r}", 404, "not_found")
    return client


@bp.post("/provision")
def provision() -> tuple[Response, int]:
    body = _body()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ProvisionError("`name` must be a string of 1 to 100 characters")
    redirect_uris = _redirect_uris(body.get("redirect_uris", []))
    scopes = _scopes(body["scopes"]) if body.get("scopes") is not None else None
    organization = first_organization()
    issued = create_client(organization.id, name.strip(), redirect_uris, scopes)
    pat = create_pat(administrator_of(organization), list(DEFAULT_PAT_SCOPES))
    db.session.commit()
    return jsonify(
        client_id=issued.client.id,
        client_secret=issued.secret,
        organization_id=organization.id,
        **pat.as_dict(),
    ), 201


@bp.post("/clients/<client_id>/redirect-uris")
def update_redirect_uris(client_id: str) -> tuple[Response, int]:
    client = _client(client_id)
    client.redirect_uris = _redirect_uris(_body().get("redirect_uris"))
    db.session.commit()
    return jsonify(client_id=client.id, redirect_uris=client.redirect_uris), 200


@bp.post("/clients/<client_id>/scopes")
def update_scopes(client_id: str) -> tuple[Response, int]:
    client = _client(client_id)
    client.scopes = _scopes(_body().get("scopes"))
    db.session.commit()
    return jsonify(client_id=client.id, scopes=client.scopes), 200


@bp.errorhandler(ProvisionError)
def provision_error(exc: ProvisionError) -> tuple[Response, int]:
    db.session.rollback()
    return jsonify(error={"type": exc.type, "message": exc.message}), exc.status
