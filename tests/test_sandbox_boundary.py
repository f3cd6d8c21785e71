"""The sandbox plays LiveChat: mounted only in sandbox mode, by the factory, and imported by no
other part of the console."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from cryptography.fernet import Fernet

from support import make_app

PACKAGE = Path(__file__).resolve().parents[1] / "consoleapp"
FACTORY = PACKAGE / "__init__.py"


def _imported(node: ast.AST) -> set[str]:
    """The modules one import statement names, relative ones with their leading dots."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom):
        prefix = "." * node.level + (node.module or "")
        joiner = "" if prefix.endswith(".") else "."
        return {prefix} | {f"{prefix}{joiner}{alias.name}" for alias in node.names}
    return set()


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        found |= _imported(node)
    return found


def names_the_sandbox(module: str) -> bool:
    return "sandbox" in module.split(".")


def console_modules() -> list[Path]:
    """Every module of the console outside the sandbox package."""
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "sandbox"
    ]


def test_only_the_factory_imports_the_sandbox():
    importers = {
        str(path.relative_to(PACKAGE)): sorted(filter(names_the_sandbox, imported_modules(path)))
        for path in console_modules()
    }
    assert {path: found for path, found in importers.items() if found} == {
        "__init__.py": [".sandbox"]
    }


def test_the_factory_imports_the_sandbox_only_in_sandbox_mode():
    tree = ast.parse(FACTORY.read_text())
    everywhere = [node for node in ast.walk(tree) if any(map(names_the_sandbox, _imported(node)))]
    create_app = next(
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "create_app"
    )
    [branch] = [
        node
        for node in ast.walk(create_app)
        if isinstance(node, ast.If)
        and re.search(r"LIVECHAT_MODE.*'sandbox'", ast.unparse(node.test))
    ]
    in_branch = [node for node in ast.walk(branch) if node in everywhere]
    assert len(everywhere) == 1 and in_branch == everywhere


def test_no_console_module_reaches_the_sandbox_by_name():
    """No importlib, no dotted path in a string (a mock target, a task name): only HTTP."""
    by_name = re.compile(r"consoleapp[./]sandbox\b|import_module|__import__")
    found = [
        f"{path.relative_to(PACKAGE)}: {match.group()}"
        for path in console_modules()
        for match in by_name.finditer(path.read_text())
    ]
    assert found == []


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
