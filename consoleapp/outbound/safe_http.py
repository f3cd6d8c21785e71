"""Guarded outbound HTTP for addresses a person typed (CHECKS.md, section S).

Built on ``requests-hardened``: the host is resolved once, the address is checked with the
project's rule (``addresses.is_public``, the same one the form uses), the connection is pinned
to the address that was checked, and redirects are never followed. On top of that: a
connect/read timeout, a total deadline (``deadline``), a cap on the response size, and a result
that carries only the status code, the latency and an error in plain words, never the
response body.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import requests
from requests_hardened import Config, HTTPSession, Manager
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from .addresses import is_public
from .deadline import Deadline, DeadlineAdapter, DeadlineExceeded

log = logging.getLogger("consoleapp.safe_http")

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_DEADLINE = 15.0
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024
USER_AGENT = "consoleapp/1"
_CHUNK = 16 * 1024

# Error classes, stable for code and storage; ``error`` carries the words for people.
BLOCKED_ADDRESS = "blocked_address"
TIMEOUT = "timeout"
REDIRECT = "redirect"
TOO_LARGE = "too_large"
REFUSED = "refused"
UNRESOLVED = "unresolved"
CONNECTION = "connection"
TLS = "tls"
INVALID_URL = "invalid_url"

NOT_PUBLIC_MESSAGE = "address is not publicly reachable"


@dataclass(frozen=True)
class HttpResult:
    """What a request to a typed address produced: never the body."""

    status_code: int | None
    latency_ms: int
    error_class: str | None = None
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.error_class is None and self.status_code is not None

    @property
    def ok(self) -> bool:
        return self.answered and 200 <= (self.status_code or 0) < 300

    def summary(self) -> str:
        if self.error:
            return f"failed: {self.error} after {self.latency_ms} ms"
        try:
            phrase = f" {HTTPStatus(self.status_code or 0).phrase}"
        except ValueError:
            phrase = ""
        return f"{self.status_code}{phrase} in {self.latency_ms} ms"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException) and _caused_by(arg, kind):
                return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException) and _caused_by(reason, kind):
            return True
        current = current.__cause__ or current.__context__
    return False


class _GuardedAdapter(DeadlineAdapter, IPFilterAdapter):
    """requests-hardened's adapter (resolve once, pin the address), with the project's rule.

    requests-hardened checks the address with its own list first; the address it pins is then
    checked with ``is_public``, so what the form refuses is refused here too.
    """

    def __init__(self, *, deadline: float, https: bool, allow_loopback: bool) -> None:
        super().__init__(deadline=deadline, is_https_proto=https, allow_loopback=allow_loopback)
        self.allow_loopback = allow_loopback

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        pinned = ipaddress.ip_address(host_params["host"].strip("[]"))
        if not is_public(pinned, self.allow_loopback):
            raise InvalidIPAddress(pinned)
        return host_params, pool_kwargs


class SafeHttpClient:
    """Sends requests to user-supplied URLs; loopback only when the caller allows it."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_response_bytes = max_response_bytes
        self._manager = Manager(
            Config(
                ip_filter_enable=True,
                ip_filter_allow_loopback_ips=allow_loopback,
                never_redirect=True,
                default_timeout=(connect_timeout, read_timeout),
                user_agent_override=USER_AGENT,
            )
        )

    def post_json(self, url: str, body: Any, headers: dict[str, str] | None = None) -> HttpResult:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        merged = {"Content-Type": "application/json", **(headers or {})}
        return self.request("POST", url, data=data, headers=merged)

    def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResult:
        started = time.monotonic()
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            return _result(started, None, INVALID_URL, "not a valid http or https address")

        outcome: HttpResult | None = None
        try:
            with self._session() as session, Deadline(self.deadline):
                outcome = self._exchange(session, method, url, data, headers, started)
        except DeadlineExceeded:
            status = outcome.status_code if outcome else None
            return _result(started, status, TIMEOUT, f"timed out after {_seconds(self.deadline)}")
        return outcome

    def _session(self) -> HTTPSession:
        session = self._manager.get_session()
        # Proxies from the environment would connect on our behalf and skip the IP check.
        session.trust_env = False
        for scheme in ("https", "http"):
            adapter = _GuardedAdapter(
                deadline=self.deadline, https=scheme == "https", allow_loopback=self.allow_loopback
            )
            session.mount(f"{scheme}://", adapter)
        return session

    def _exchange(
        self,
        session: requests.Session,
        method: str,
        url: str,
        data: bytes | None,
        headers: dict[str, str] | None,
        started: float,
    ) -> HttpResult:
        def result(status: int | None, error_class: str | None = None, error: str | None = None):
            return _result(started, status, error_class, error)

        timed_out = f"timed out after {_seconds(self.read_timeout)}"
        try:
            response = session.request(
                method, url, data=data, headers=headers, stream=True, allow_redirects=False
            )
        except InvalidIPAddress:
            log.warning("refused request to a non-public address: %s", urlsplit(url).hostname)
            return result(None, BLOCKED_ADDRESS, NOT_PUBLIC_MESSAGE)
        except requests.Timeout:
            return result(None, TIMEOUT, timed_out)
        except requests.exceptions.SSLError:
            return result(None, TLS, "the TLS certificate could not be verified")
        except requests.ConnectionError as exc:
            if _caused_by(exc, ConnectionRefusedError):
                return result(None, REFUSED, "connection refused")
            if "resolve" in str(exc):
                return result(None, UNRESOLVED, "the host name could not be resolved")
            return result(None, CONNECTION, "could not connect")
        except (requests.exceptions.InvalidURL, ValueError):
            return result(None, INVALID_URL, "not a valid http or https address")
        except requests.RequestException:
            return result(None, CONNECTION, "the connection failed")

        with response:
            status = response.status_code
            if 300 <= status < 400:
                return result(status, REDIRECT, f"redirect not followed ({status})")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                return result(status, TOO_LARGE, "response too large")
            received = 0
            try:
                for chunk in response.iter_content(_CHUNK):
                    received += len(chunk)
                    if received > self.max_response_bytes:
                        return result(status, TOO_LARGE, "response too large")
            except requests.exceptions.ConnectionError as exc:
                if _caused_by(exc, TimeoutError) or "timed out" in str(exc).lower():
                    return result(status, TIMEOUT, timed_out)
                return result(status, CONNECTION, "the connection broke while reading")
            except requests.RequestException:
                return result(status, CONNECTION, "the connection broke while reading")
            return result(status)


def _result(
    started: float, status: int | None, error_class: str | None = None, error: str | None = None
) -> HttpResult:
    elapsed = int((time.monotonic() - started) * 1000)
    return HttpResult(status, elapsed, error_class, error)
