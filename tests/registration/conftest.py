"""Fixtures of the registration tests: a record of every Configuration API call. The console
and its sandbox on one socket (``live``) and its signed-in owner (``console``) come from
tests/conftest.py."""

from __future__ import annotations

import pytest

from consoleapp.livechat.configuration import ConfigurationApi


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
