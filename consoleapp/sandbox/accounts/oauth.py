"""LiveChat's accounts server as use cases: authorization requests, codes, tokens, revocation
(livechat-api.md §5). Views turn ``OAuthError`` into LiveChat's error page or JSON body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from ...extensions import db
from ...livechat.redirect_uris import accepts
from ...models import utcnow
from .credentials import needs_administrator
from .models import (
    SandboxAccount,
    SandboxAuthorizationCode,
    SandboxClient,
    SandboxInstallation,
    SandboxToken,
    digest,
    digest_matches,
)

ACCESS_TOKEN_LIFETIME = 28800
CODE_LIFETIME = timedelta(minutes=5)
MAX_TOKENS_PER_CLIENT_AND_ACCOUNT = 25
# LiveChat sends a user back to one app at most 3 times in 30 s (livechat-api.md §5.3).
MAX_REDIRECTS = 3
REDIRECT_WINDOW = timedelta(seconds=30)
_PKCE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

# Token-endpoint statuses: LiveChat's OpenAPI gives 401 for an unauthorized client, 403 for a
# wrong grant type or scope and 422 for missing parameters; invalid_grant follows RFC 6749.
STATUS_BY_ERROR = {
    "invalid_request": 422,
    "unauthorized_client": 401,
    "invalid_client": 401,
    "invalid_grant": 400,
    "unsupported_grant_type": 403,
    "invalid_scope": 403,
    "unauthorized": 401,
    "resource_not_found": 404,
}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, details: str | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.details = details

    @property
    def status(self) -> int:
        return STATUS_BY_ERROR.get(self.error, 400)

    def body(self) -> dict[str, str]:
        return {
            "error": self.error,
            "error_description": self.description,
            "request_id": secrets.token_hex(16),
        }


@dataclass
class AuthorizeRequest:
    client: SandboxClient
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    params: dict[str, str] = field(default_factory=dict)

    def redirect(self, **values: str) -> str:
        """The redirect URI with ``values`` (and the state, unchanged) added to its query."""
        if self.state is not None:
            values["state"] = self.state
        parts = urlsplit(self.redirect_uri)
        query = "&".join(part for part in (parts.query, urlencode(values)) if part)
        return urlunsplit(parts._replace(query=query))


AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "prompt",
)


def authorize_request(args: dict[str, str]) -> AuthorizeRequest:
    """Check an authorization request; errors here go to the error page, never the app."""
    client_id = args.get("client_id", "")
    client = db.session.get(SandboxClient, client_id) if client_id else None
    if client is None:
        raise OAuthError("unauthorized_client", "Unknown client_id.", "client_id_not_found")
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri:
        raise OAuthError("unauthorized_client", "redirect_uri is missing.", "redirect_uri_not_set")
    if len(redirect_uri) > 500 or not accepts(client.redirect_uris, redirect_uri):
        raise OAuthError(
            "unauthorized_client",
            "redirect_uri is not in the app's Redirect URI whitelist.",
            "invalid_redirect_uri",
        )
    response_type = args.get("response_type", "")
    if response_type != "code":
        raise OAuthError(
            "unsupported_response_type",
            "response_type must be code (the sandbox serves the authorization-code grant).",
        )
    challenge = args.get("code_challenge") or None
    method = args.get("code_challenge_method") or None
    if challenge is None and method is not None:
        raise OAuthError("invalid_request", "code_challenge_method given without code_challenge.")
    if challenge is not None:
        method = (method or "plain").lower()
        if method not in {"s256", "plain"}:
            raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain.")
        if not _PKCE.match(challenge):
            raise OAuthError(
                "invalid_request", "code_challenge must be 43-128 URL-safe characters."
            )
        method = "S256" if method == "s256" else "plain"
    requested = [s for s in re.split(r"[,\s]+", args.get("scope", "")) if s]
    unknown = [scope for scope in requested if scope not in client.scopes]
    if unknown:
        raise OAuthError("invalid_scope", f"The app is not configured for: {', '.join(unknown)}.")
    return AuthorizeRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=list(dict.fromkeys(requested)) or list(client.scopes),
        state=args.get("state"),
        code_challenge=challenge,
        code_challenge_method=method if challenge else None,
        params={key: args[key] for key in AUTHORIZE_PARAMS if args.get(key)},
    )


def install(client_id: str, organization_id: str) -> SandboxInstallation:
    """Install the app on the organization's license. A disable made earlier stays."""
    row = db.session.execute(
        db.select(SandboxInstallation).where(
            SandboxInstallation.client_id == client_id,
            SandboxInstallation.organization_id == organization_id,
        )
    ).scalar_one_or_none()
    if row is None:
        row = SandboxInstallation(client_id=client_id, organization_id=organization_id)
        db.session.add(row)
    if row.installed_at is None or row.uninstalled_at is not None:
        row.installed_at = utcnow()
        row.uninstalled_at = None
    db.session.flush()
    return row


def grant(request: AuthorizeRequest, account: SandboxAccount) -> str:
    """The account allowed access: a redirect carrying a code, or ``invalid_scope``."""
    if not account.can_grant_administrator_scopes and any(
        needs_administrator(scope) for scope in request.scopes
    ):
        return request.redirect(
            error="invalid_scope",
            error_description="The app needs administrator scopes; sign in as an administrator.",
        )
    now = utcnow()
    _limit_redirects(request.client.id, account.id, now)
    code = f"{account.organization.region}:{secrets.token_urlsafe(24)}"
    db.session.add(
        SandboxAuthorizationCode(
            code_hash=digest(code),
            client_id=request.client.id,
            account_id=account.id,
            organization_id=account.organization_id,
            redirect_uri=request.redirect_uri,
            scopes=request.scopes,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    install(request.client.id, account.organization_id)
    return request.redirect(code=code)


def _limit_redirects(client_id: str, account_id: str, now: datetime) -> None:
    """Refuse a fourth redirect with a code within the window; every code is one redirect.

    The limit is documented with its detail ``too_many_redirects``; the ``oauth_exception``
    it comes with is not, so the sandbox uses ``invalid_request``.
    """
    recent = db.session.execute(
        db.select(db.func.count())
        .select_from(SandboxAuthorizationCode)
        .where(
            SandboxAuthorizationCode.client_id == client_id,
            SandboxAuthorizationCode.account_id == account_id,
            SandboxAuthorizationCode.created_at > now - REDIRECT_WINDOW,
        )
    ).scalar_one()
    if recent >= MAX_REDIRECTS:
        raise OAuthError(
            "invalid_request",
            f"More than {MAX_REDIRECTS} redirects to this app in 30 seconds; wait and retry.",
            "too_many_redirects",
        )


def deny(request: AuthorizeRequest) -> str:
    return request.redirect(
        error="access_denied", error_description="The user denied access to the app."
    )


def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise OAuthError("invalid_request", f"{name} is required.")
    return value


def _client(params: dict[str, Any]) -> SandboxClient:
    client_id = _required(params, "client_id")
    client = db.session.get(SandboxClient, client_id)
    if client is None:
        raise OAuthError("unauthorized_client", "Unknown client_id.", "client_id_not_found")
    secret = params.get("client_secret")
    if not isinstance(secret, str) or not secret:
        raise OAuthError("invalid_request", "client_secret is required in the request body.")
    if not digest_matches(secret, client.secret_hash):
        raise OAuthError("unauthorized_client", "Wrong client_secret.")
    return client


def _verify_pkce(code: SandboxAuthorizationCode, verifier: Any) -> None:
    if code.code_challenge is None:
        if verifier is not None:
            raise OAuthError(
                "invalid_grant", "code_verifier sent, but the authorization had no code_challenge."
            )
        return
    if not isinstance(verifier, str) or not _PKCE.match(verifier):
        raise OAuthError("invalid_grant", "code_verifier is missing or malformed.")
    if code.code_challenge_method == "S256":
        hashed = hashlib.sha256(verifier.encode("ascii")).digest()
        expected = base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")
    else:
        expected = verifier
    if not hmac.compare_digest(expected, code.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge.")


def _issue(
    client_id: str,
    account: SandboxAccount,
    organization_id: str,
    scopes: list[str],
    refresh_token: str | None = None,
) -> dict[str, Any]:
    access_token = f"{account.organization.region}:{secrets.token_urlsafe(24)}"
    refresh_token = refresh_token or secrets.token_urlsafe(24)
    now = utcnow()
    db.session.add(
        SandboxToken(
            access_token_hash=digest(access_token),
            refresh_token_hash=digest(refresh_token),
            client_id=client_id,
            account_id=account.id,
            organization_id=organization_id,
            scopes=scopes,
            created_at=now,
            expires_at=now + timedelta(seconds=ACCESS_TOKEN_LIFETIME),
        )
    )
    db.session.flush()
    _enforce_token_limit(client_id, account.id)
    return {
        "access_token": access_token,
        "account_id": account.id,
        "expires_in": ACCESS_TOKEN_LIFETIME,
        "organization_id": organization_id,
        "refresh_token": refresh_token,
        "scope": ",".join(scopes),
        "token_type": "Bearer",
    }


def _enforce_token_limit(client_id: str, account_id: str) -> None:
    live = db.session.execute(
        db.select(SandboxToken)
        .where(
            SandboxToken.client_id == client_id,
            SandboxToken.account_id == account_id,
            SandboxToken.revoked_at.is_(None),
        )
        .order_by(SandboxToken.created_at.desc(), SandboxToken.id.desc())
    ).scalars()
    now = utcnow()
    for token in list(live)[MAX_TOKENS_PER_CLIENT_AND_ACCOUNT:]:
        token.revoked_at = now


def exchange_code(params: dict[str, Any]) -> dict[str, Any]:
    code_value = _required(params, "code")
    redirect_uri = _required(params, "redirect_uri")
    client = _client(params)
    code = db.session.execute(
        db.select(SandboxAuthorizationCode).where(
            SandboxAuthorizationCode.code_hash == digest(code_value)
        )
    ).scalar_one_or_none()
    if code is None or code.client_id != client.id:
        raise OAuthError("invalid_grant", "The code is unknown.")
    if code.used_at is not None:
        raise OAuthError("invalid_grant", "The code was already used.")
    if code.expires_at <= utcnow():
        raise OAuthError("invalid_grant", "The code has expired.")
    if redirect_uri != code.redirect_uri:
        raise OAuthError(
            "unauthorized_client",
            "redirect_uri differs from the one in the authorization request.",
            "invalid_redirect_uri",
        )
    _verify_pkce(code, params.get("code_verifier"))
    code.used_at = utcnow()
    account = db.session.get(SandboxAccount, code.account_id)
    assert account is not None
    return _issue(client.id, account, code.organization_id, list(code.scopes))


def refresh(params: dict[str, Any]) -> dict[str, Any]:
    refresh_token = _required(params, "refresh_token")
    client = _client(params)
    row = db.session.execute(
        db.select(SandboxToken).where(SandboxToken.refresh_token_hash == digest(refresh_token))
    ).scalar_one_or_none()
    if row is None or row.client_id != client.id or row.revoked_at is not None:
        raise OAuthError("invalid_grant", "The refresh token is unknown or revoked.")
    # Server-side apps keep their refresh token; it moves to the newest access token, so
    # revoking that access token revokes the refresh token too.
    row.refresh_token_hash = None
    db.session.flush()
    return _issue(client.id, row.account, row.organization_id, list(row.scopes), refresh_token)


def token_grant(params: dict[str, Any]) -> dict[str, Any]:
    grant_type = _required(params, "grant_type")
    if grant_type == "authorization_code":
        return exchange_code(params)
    if grant_type == "refresh_token":
        return refresh(params)
    raise OAuthError(
        "unsupported_grant_type", "grant_type must be authorization_code or refresh_token."
    )


def _find(token: str) -> SandboxToken | None:
    hashed = digest(token)
    return db.session.execute(
        db.select(SandboxToken).where(
            (SandboxToken.access_token_hash == hashed) | (SandboxToken.refresh_token_hash == hashed)
        )
    ).scalar_one_or_none()


def token_info(token: str) -> dict[str, Any]:
    row = db.session.execute(
        db.select(SandboxToken).where(SandboxToken.access_token_hash == digest(token))
    ).scalar_one_or_none()
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise OAuthError("unauthorized", "The access token is invalid, expired or revoked.")
    return {
        "access_token": token,
        "account_id": row.account_id,
        "client_id": row.client_id,
        "expires_in": int((row.expires_at - now).total_seconds()),
        "organization_id": row.organization_id,
        "scope": ",".join(row.scopes),
        "token_type": "Bearer",
    }


def revoke(token: str) -> None:
    """Revoke an access or refresh token; its pair goes with it."""
    row = _find(token)
    if row is None or row.revoked_at is not None:
        raise OAuthError("resource_not_found", "The token does not exist or was revoked.")
    row.revoked_at = utcnow()
