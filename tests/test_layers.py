"""Data flows one way: web → services → livechat/outbound/models. The lower layers import
nothing from the layers above them, nor Flask."""

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
