"""Benchmarks, each a script that prints one JSON object as its last line (``receiver.py``,
``pages.py``, ``registration.py``). This package holds what they share; ``bare.py`` is the
reference app the receiver benchmark serves, not a benchmark itself."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet


def database_for(work: Path) -> tuple[str, str]:
    """The database a benchmark runs on: PostgreSQL when DATABASE_URL says so, else a SQLite
    file in ``work``. Returns its kind and URL."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        return "postgresql", url
    return "sqlite", f"sqlite:///{work / 'console.db'}"


def console_environ(work: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment a benchmark serves the console with: sandbox mode, fresh keys, the task
    queue in ``work``, plus ``extra``."""
    return {
        "LIVECHAT_MODE": "sandbox",
        "SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "FERNET_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": database_url,
        "TASK_QUEUE_URL": f"sqlite:///{work / 'tasks.db'}",
        "SANDBOX_PROVISIONING": "on",
        **extra,
    }
