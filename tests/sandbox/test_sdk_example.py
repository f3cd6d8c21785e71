"""The official lc-sdk-python package registers, lists and unregisters webhooks against a
running sandbox, through scripts/sdk_example.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "sdk_example.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", ["3.5", "3.6"])
def test_sdk_registers_lists_and_unregisters(live_server_factory, version):
    live = live_server_factory()
    result = load_script().run(f"{live.url}/sandbox", version=version)
    webhook_id = result["registered"]["id"]
    assert [item["id"] for item in result["listed"]] == [webhook_id]
    listed = result["listed"][0]
    assert listed["owner_client_id"] == result["client_id"]
    assert listed["filters"] == {"source_type": ["other_clients", "system"]}
    assert listed["additional_data"] == ["chat_properties"]
    assert result["unregistered"] == {}
    assert result["remaining"] == []


def test_sdk_example_main_with_given_credentials(live_server_factory, capsys):
    live = live_server_factory()
    client = live.app.test_client()
    provisioned = client.post("/sandbox/provision", json={"name": "x", "redirect_uris": []})
    body = provisioned.get_json()
    script = load_script()
    code = script.main(
        [
            "--sandbox-url",
            f"{live.url}/sandbox",
            "--client-id",
            body["client_id"],
            "--basic",
            body["basic_authorization"],
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["client_id"] == body["client_id"]


def test_sdk_example_reports_livechat_errors(live_server_factory, capsys):
    live = live_server_factory()
    code = load_script().main(
        ["--sandbox-url", f"{live.url}/sandbox", "--client-id", "x", "--basic", "bm9wZTpub3Bl"]
    )
    assert code == 1
    assert "authentication: Invalid personal access token." in capsys.readouterr().err
