"""LiveChat's accounts server (livechat-api.md §5): authorize URL, code exchange, refresh,
token info and revocation, through one Authlib ``OAuth2Session`` per LiveChat app.

A session per app because each app has its own Client ID, secret and redirect URI; one shared
client would keep the first app's settings. Codes, tokens and verifiers never reach the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from ..outbound.deadline import protect
from .configuration import DEADLINE, LiveChatError

TIMEOUT = 10
# RFC 7636 allows 43-128 characters; 64 random ones leave a wide margin on both sides.
VERIFIER_LENGTH = 64


class AccountsError(LiveChatError):
    """The accounts server refused or did not answer; ``type`` is its OAuth error code."""

    @property
    def invalid_grant(self) -> bool:
        return self.type == "invalid_grant"


@dataclass(frozen=True)
class AuthorizationStart:
    url: str
    state: str
    code_verifier: str


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    organization_id: str
    account_id: str | None
    scope: str

    def __repr__(self) -> str:  # keep tokens out of tracebacks and debug output
        return f"TokenSet(organization_id={self.organization_id!r}, scope={self.scope!r})"

    @classmethod
    def from_json(cls, body: dict[str, Any], now: datetime) -> TokenSet:
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise AccountsError("invalid_response", "LiveChat's answer had no access token")
        expires_in = body.get("expires_in")
        expires_at = (
            now + timedelta(seconds=int(expires_in))
            if isinstance(expires_in, int | float | str) and str(expires_in).isdigit()
            else None
        )
        scope = body.get("scope") or ""
        return cls(
            access_token=access_token,
            refresh_token=body.get("refresh_token") or None,
            expires_at=expires_at,
            organization_id=str(body.get("organization_id") or ""),
            account_id=str(body["account_id"]) if body.get("account_id") else None,
            scope=",".join(scope) if isinstance(scope, list) else str(scope),
        )


class AccountsClient:
    """The accounts server as one LiveChat app (Client ID) sees it."""

    def __init__(
        self,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        session: OAuth2Session | None = None,
        deadline: float = DEADLINE,
    ) -> None:
        self.base = accounts_url.rstrip("/")
        self.redirect_uri = redirect_uri
        self.oauth = session or protect(
            OAuth2Session(
                client_id=client_id,
                client_secret=client_secret,
                token_endpoint_auth_method="client_secret_post",
                redirect_uri=redirect_uri,
                code_challenge_method="S256",
            ),
            deadline,
        )
        # No credentials from ~/.netrc or proxy settings in the environment.
        self.oauth.trust_env = False

    @property
    def token_url(self) -> str:
        return f"{self.base}/v2/token"

    def authorization_url(self) -> AuthorizationStart:
        verifier = generate_token(VERIFIER_LENGTH)
        state = generate_token(32)
        url, _ = self.oauth.create_authorization_url(
            f"{self.base}/", state=state, code_verifier=verifier
        )
        return AuthorizationStart(url=url, state=state, code_verifier=verifier)

    def exchange_code(self, code: str, code_verifier: str, now: datetime) -> TokenSet:
        body = self._token_call(
            lambda: self.oauth.fetch_token(
                self.token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=self.redirect_uri,
                timeout=TIMEOUT,
            )
        )
        return TokenSet.from_json(body, now)

    def refresh(self, refresh_token: str, now: datetime) -> TokenSet:
        body = self._token_call(
            lambda: self.oauth.refresh_token(
                self.token_url, refresh_token=refresh_token, timeout=TIMEOUT
            )
        )
        tokens = TokenSet.from_json(body, now)
        if tokens.refresh_token is None:
            # Server-side apps keep their refresh token when LiveChat sends none back.
            tokens = TokenSet(**{**tokens.__dict__, "refresh_token": refresh_token})
        return tokens

    def info(self, access_token: str) -> dict[str, Any]:
        response = self._plain("GET", f"{self.base}/v2/info", access_token)
        return dict(response.json())

    def revoke(self, token: str) -> None:
        """Revoke with the token in the Authorization header, never in the query string."""
        self._plain("DELETE", self.token_url, token)

    # -- transport -------------------------------------------------------------------------

    @staticmethod
    def _token_call(call: Any) -> dict[str, Any]:
        try:
            return dict(call())
        except OAuthError as exc:
            raise AccountsError(
                str(exc.error or "unknown_error"), "LiveChat refused the sign-in"
            ) from None
        except requests.Timeout:
            raise AccountsError("request_timeout", "LiveChat did not answer in time") from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise AccountsError("internal", f"HTTP {status}", status=status) from None
        except requests.RequestException as exc:
            raise AccountsError("connection", type(exc).__name__) from None
        except ValueError:
            raise AccountsError("invalid_response", "LiveChat's answer was not JSON") from None

    def _plain(self, method: str, url: str, token: str) -> requests.Response:
        try:
            response = self.oauth.request(
                method,
                url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=TIMEOUT,
                withhold_token=True,
            )
        except requests.Timeout:
            raise AccountsError("request_timeout", "LiveChat did not answer in time") from None
        except requests.RequestException as exc:
            raise AccountsError("connection", type(exc).__name__) from None
        if response.status_code != 200:
            try:
                error = str(response.json().get("error") or "internal")
            except (ValueError, AttributeError):
                error = "internal"
            raise AccountsError(error, f"HTTP {response.status_code}", status=response.status_code)
        return response
