"""The journey over plain HTTP, as a browser without JavaScript does it: forms with their CSRF
token, redirects followed. For tests and benchmarks against a console served in other
processes (gunicorn and workers), where the test client cannot reach."""

from __future__ import annotations

import re
import time
from html import unescape
from html.parser import HTMLParser
from typing import Any

import requests

_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class _Forms(HTMLParser):
    """Every form's action and its inputs (hidden ones, and the first of each radio)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append((unescape(attributes.get("action") or ""), {}))
            self._inside = True
        elif tag == "input" and self._inside and attributes.get("name"):
            name, fields = attributes["name"] or "", self.forms[-1][1]
            kind = attributes.get("type") or "text"
            if kind == "hidden" or (kind == "radio" and name not in fields):
                fields[name] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def form_to(page: str, action_part: str) -> tuple[str, dict[str, str]]:
    """The form whose action contains ``action_part`` (the top bar's Sign out is a form too)."""
    parser = _Forms()
    parser.feed(page)
    for action, fields in parser.forms:
        if action_part in action:
            return action, fields
    raise AssertionError(f"no form posting to {action_part!r}")


class Console:
    """A person's browser session with a console at ``base_url``."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.timeout = timeout
        self._token: str | None = None

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url(path), timeout=self.timeout, **kwargs)

    def token(self, page: str = "/apps/") -> str:
        if self._token is None:
            found = _TOKEN.search(self.get(page).text)
            assert found, f"no CSRF token on {page}"
            self._token = found.group(1)
        return self._token

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any):
        fields = {"csrf_token": self.token(), **(data or {})}
        return self.http.post(self.url(path), data=fields, timeout=self.timeout, **kwargs)

    # -- the journey -------------------------------------------------------------------------

    def create_owner(self, email: str = "owner@example.com", password: str = "a long password"):
        self._token = None
        self.token("/setup")
        answer = self.post("/setup", {"email": email, "password": password})
        assert answer.url.endswith("/apps/new"), answer.url
        self._token = None  # a new session after sign-in

    def create_app(self, name: str = "Helpdesk sync") -> int:
        answer = self.post("/apps/new", {"name": name}, allow_redirects=False)
        assert answer.status_code == 302, answer.text[:500]
        return int(answer.headers["Location"].split("/")[2])

    def webhook_set(self, app_id: int, actions: list[str], secret: str) -> str:
        """The three steps with the console's own inbox; returns the set's uid."""
        base = f"/apps/{app_id}/webhooks"
        answer = self.post(f"{base}/create", {"use_inbox": "y"}, allow_redirects=False)
        uid = answer.headers["Location"].split("/")[-2]
        self.post(f"{base}/{uid}/secret/own", {"secret_key": secret})
        chosen = {f"t_{action}-chosen": "y" for action in actions}
        answer = self.post(f"{base}/{uid}/triggers/save", chosen, allow_redirects=False)
        assert answer.headers["Location"].endswith("/review"), answer.headers.get("Location")
        return uid

    def register(self, app_id: int, uid: str) -> requests.Response:
        return self.post(f"/apps/{app_id}/webhooks/{uid}/register", allow_redirects=False)

    def registration(self, app_id: int, uid: str) -> dict[str, Any]:
        return self.get(f"/apps/{app_id}/webhooks/{uid}/registration.json").json()

    def wait_for_run(self, app_id: int, uid: str, seconds: float = 120) -> dict[str, Any]:
        """Poll the progress until the run has ended; returns the last status."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status = self.registration(app_id, uid)
            if status["run"]["state"] in {"finished", "cancelled"}:
                return status
            time.sleep(0.02)
        raise AssertionError(f"the run did not end in {seconds} s: {status}")

    def install(self, app_id: int) -> None:
        """Install app: LiveChat's (the sandbox's) sign-in, Allow, and back to the console."""
        start = self.post(f"/apps/{app_id}/install/start", allow_redirects=False)
        assert start.status_code == 302, start.text[:300]
        consent = self.get(start.headers["Location"])
        action, fields = form_to(consent.text, "/sandbox/accounts")
        answer = self.http.post(
            self.url(action),
            data={**fields, "decision": "allow"},
            timeout=self.timeout,
            allow_redirects=False,
        )
        assert answer.status_code == 302, answer.text[:300]
        done = self.get(answer.headers["Location"])
        assert done.status_code == 200, done.text[:500]

    def fire(self, app_id: int, action: str) -> requests.Response:
        """The Install & test page's sandbox button for a trigger."""
        return self.post(f"/apps/{app_id}/test/{action}/start")

    def sandbox_fault(self, **body: Any) -> None:
        answer = self.http.post(self.url("/sandbox/faults"), json=body, timeout=self.timeout)
        assert answer.status_code == 201, answer.text

    def clear_sandbox_faults(self) -> None:
        self.http.delete(self.url("/sandbox/faults"), timeout=self.timeout)
