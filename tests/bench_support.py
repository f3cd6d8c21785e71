"""What the benchmarks in ``bench/`` share: the database they run on and the environment they
serve the console with. (``bare_app.py`` beside it is the reference app the receiver benchmark
serves.) Each benchmark prints one JSON object as its last line."""

from __future__ import annotations

import atexit
import os
import uuid
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def database_for(work: Path) -> tuple[str, str]:
    """The database a benchmark runs on: a new, empty database on the PostgreSQL server that
    DATABASE_URL names (dropped when the benchmark ends), else a SQLite file in ``work``.
    Returns its kind and URL."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        return "postgresql", _fresh_postgresql(url)
    return "sqlite", f"sqlite:///{work / 'console.db'}"


def _fresh_postgresql(url: str) -> str:
    admin = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    name = f"consoleapp_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    atexit.register(drop)
    return make_url(url).set(database=name).render_as_string(hide_password=False)


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
