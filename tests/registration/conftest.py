"""Fixtures of the registration tests: the console and its sandbox on one socket, a signed-in
owner, and a record of every Configuration API call."""

from __future__ import annotations

import pytest

from consoleapp.livechat.configuration import ConfigurationApi
from consoleapp.models import Role
from support import add_user, sign_in


@pytest.fixture
def live(live_server_factory):
    return live_server_factory(worker=False, ENVIRON={"SANDBOX_PROVISIONING": "on"})


@pytest.fixture
def console(live):
    client = live.app.test_client()
    sign_in(client, add_user(live.app, "owner@example.com", Role.OWNER))
    return client


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """Every Configuration API method the console calls, in order."""
    seen: list[str] = []
    send = ConfigurationApi._send

    def recording(self, method, body, region):
        seen.append(method)
        return send(self, method, body, region)

    monkeypatch.setattr(ConfigurationApi, "_send", recording)
    return seen
