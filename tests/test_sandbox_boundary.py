"""The sandbox plays LiveChat: mounted only in sandbox mode, and never imported by the console."""

from __future__ import annotations

import ast
from pathlib import Path

from cryptography.fernet import Fernet

from support import make_app

PACKAGE = Path(__file__).resolve().parents[1] / "consoleapp"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            prefix = "." * node.level + (node.module or "")
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_console_module_imports_the_sandbox():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "sandbox" in path.relative_to(PACKAGE).parts:
            continue
        for module in imported_modules(path):
            if "sandbox" in module.split("."):
                offenders.append(f"{path.relative_to(PACKAGE)}: {module}")
    assert offenders == []


def test_sandbox_is_mounted_only_in_sandbox_mode(tmp_path, database_url):
    sandbox = make_app(tmp_path, database_url)
    assert any(rule.rule.startswith("/sandbox/") for rule in sandbox.url_map.iter_rules())

    live = make_app(
        tmp_path,
        database_url,
        ENVIRON={
            "LIVECHAT_MODE": "live",
            "SECRET_KEY": "s" * 40,
            "FERNET_KEYS": Fernet.generate_key().decode(),
        },
    )
    assert not any(rule.rule.startswith("/sandbox") for rule in live.url_map.iter_rules())
    assert live.config["LIVECHAT_API_URL"] == "https://api.livechatinc.com"
    assert live.config["LIVECHAT_ACCOUNTS_URL"] == "https://accounts.livechat.com"
    assert live.config["SANDBOX_URL"] is None
    response = live.test_client().post("/sandbox/provision", json={"name": "x"})
    assert response.status_code == 404
