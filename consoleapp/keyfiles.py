"""Sandbox mode's keys (SECRET_KEY, FERNET_KEYS) in files of the instance folder: written once by
``flask --app wsgi keys init`` (``create_key_files``), read when the settings are loaded
(``read_keys``). Live mode takes both from the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet

KEYS_INIT = "flask --app wsgi keys init"


class KeyFileError(ValueError):
    """A key file is missing or empty; the message says what to run or set."""


# Sandbox mode keeps its keys in the instance folder: each setting's file and how to make one.
KEY_FILES: dict[str, tuple[str, Callable[[], str]]] = {
    "SECRET_KEY": ("secret_key", lambda: secrets.token_urlsafe(48)),
    "FERNET_KEYS": ("fernet_keys", lambda: Fernet.generate_key().decode()),
}


def _write(path: Path, make: Callable[[], str]) -> bool:
    """Write a new secret to ``path`` (mode 0600) unless it exists; True if this call wrote it.

    The file is written aside and then linked into place, so it appears whole or not at all:
    several processes running this at once never leave a half-written (empty) key, and all
    keep the first one's value.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return False  # another process was first; everyone uses its value
    finally:
        draft.unlink()
    return True


def _read(path: Path, setting: str) -> str:
    value = path.read_text().strip()
    if not value:
        raise KeyFileError(
            f"{setting} is missing and {path} is empty. Set {setting}, or delete the file and "
            f"run `{KEYS_INIT}` to create a new one."
        )
    return value


def create_key_files(
    instance_path: str | Path, environ: dict[str, str] | None = None
) -> dict[str, str]:
    """Sandbox mode's keys, each written once into the instance folder unless the environment
    sets it. Returns, per setting, ``"created"``, ``"kept"`` (the file was there) or
    ``"environment"``; nothing at all in live mode, which takes both from the environment."""
    env = dict(os.environ if environ is None else environ)
    if env.get("LIVECHAT_MODE", "sandbox").strip().lower() == "live":
        return {}
    instance = Path(instance_path)
    outcome = {}
    for setting, (filename, make) in KEY_FILES.items():
        path = instance / filename
        if env.get(setting, "").strip():
            outcome[setting] = "environment"
        elif _write(path, make):
            outcome[setting] = "created"
        else:
            _read(path, setting)
            outcome[setting] = "kept"
    return outcome


def read_keys(instance: Path, secret_key: str, fernet_raw: str) -> tuple[str, str]:
    """The keys the environment leaves unset, read from the files ``keys init`` writes."""
    given = {"SECRET_KEY": secret_key, "FERNET_KEYS": fernet_raw}
    missing = [
        setting
        for setting, (filename, _) in KEY_FILES.items()
        if not given[setting] and not (instance / filename).exists()
    ]
    if missing:
        names = " and ".join(missing)
        raise KeyFileError(
            f"{names} {'is' if len(missing) == 1 else 'are'} not set and {instance} holds no key "
            f"file for {'it' if len(missing) == 1 else 'them'}. Run `{KEYS_INIT}` once to create "
            f"the keys (`make run` does), or set {names}."
        )
    for setting, (filename, _) in KEY_FILES.items():
        if not given[setting]:
            given[setting] = _read(instance / filename, setting)
    return given["SECRET_KEY"], given["FERNET_KEYS"]
