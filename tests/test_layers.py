"""Data flows one way: web → services → livechat/outbound/models. The lower layers import
nothing from the layers above them, nor Flask; the sandbox uses only the console's plumbing."""

from __future__ import annotations

import pytest
from test_sandbox_boundary import PACKAGE, imported_modules

# What each lower package may import from the console itself, besides its own modules.
ALLOWED = {
    "outbound": set(),
    "livechat": {"outbound"},
}


def console_imports(package: str) -> dict[str, set[str]]:
    """Per module of ``package``: the console packages it imports and the third-party roots."""
    found = {}
    for path in (PACKAGE / package).rglob("*.py"):
        imports = set()
        for module in imported_modules(path):
            if module.startswith("..."):
                continue
            if module.startswith(".."):
                imports.add(module[2:].split(".")[0])
            elif module.startswith("consoleapp."):
                imports.add(module.split(".")[1])
            elif not module.startswith("."):
                imports.add(module.split(".")[0])
        found[str(path.relative_to(PACKAGE))] = imports
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_lower_layers_import_nothing_from_above_nor_flask(package):
    above = {"web", "services", "models", "extensions", "database", "tasks", "sandbox"}
    offenders = {
        module: sorted(
            imports & (above | {"flask", "flask_sqlalchemy", "sqlalchemy"}) - ALLOWED[package]
        )
        for module, imports in console_imports(package).items()
    }
    assert {module: found for module, found in offenders.items() if found} == {}


# The sandbox plays LiveChat beside the console: it may use the console's plumbing, never its
# pages, use cases or background jobs (and the console imports nothing of it but in the factory,
# see test_sandbox_boundary.py).
SANDBOX_MAY_USE = {"crypto", "database", "extensions", "livechat", "models", "outbound"}


def absolute(module: str, path) -> list[str]:
    """``module`` as imported in ``path``, with relative imports resolved."""
    if not module.startswith("."):
        return module.split(".")
    package = list(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    rest = module.lstrip(".")
    level = len(module) - len(rest)
    return package[: len(package) - level + 1] + (rest.split(".") if rest else [])


def test_the_sandbox_uses_only_the_console_plumbing():
    used: dict[str, set[str]] = {}
    for path in (PACKAGE / "sandbox").rglob("*.py"):
        for module in imported_modules(path):
            parts = absolute(module, path)
            if parts[0] == "consoleapp" and len(parts) > 1 and parts[1] != "sandbox":
                used.setdefault(parts[1], set()).add(str(path.relative_to(PACKAGE)))
    beyond = {name: sorted(where) for name, where in used.items() if name not in SANDBOX_MAY_USE}
    assert beyond == {}
    assert "extensions" in used  # the resolution finds the plumbing it does use
