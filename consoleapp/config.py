"""Settings: defaults, then the environment, checked once when the app is created.

Every setting is listed in ``SETTINGS`` with its default and meaning; the README's table is the
same list. Nothing here runs at import time. Sandbox mode's key files are written by
``flask --app wsgi keys init`` and read here (``keyfiles``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from . import keyfiles
from .keyfiles import KEYS_INIT
from .taskqueue import storage_for


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    meaning: str


SETTINGS = [
    Setting("LIVECHAT_MODE", "sandbox", "`sandbox` (the built-in LiveChat simulation) or `live`."),
    Setting(
        "SECRET_KEY",
        None,
        "Signs session cookies. Required in live mode; in sandbox mode read from the instance "
        f"folder, where `{KEYS_INIT}` writes it once.",
    ),
    Setting(
        "FERNET_KEYS",
        None,
        "Comma-separated Fernet keys, newest first, that encrypt secrets at rest. Required in "
        f"live mode; in sandbox mode read from the instance folder, where `{KEYS_INIT}` writes "
        "it once.",
    ),
    Setting(
        "DATABASE_URL",
        "sqlite:///<instance>/consoleapp.db",
        "SQLAlchemy URL. `postgresql://user@host/db` for PostgreSQL.",
    ),
    Setting(
        "PUBLIC_URL",
        "http://127.0.0.1:5000",
        "The address people and LiveChat use to reach the console (callback and inbox URLs).",
    ),
    Setting(
        "LIVECHAT_ACCOUNTS_URL",
        "sandbox: PUBLIC_URL/sandbox/accounts; live: https://accounts.livechat.com",
        "Base URL of LiveChat's accounts server.",
    ),
    Setting(
        "LIVECHAT_API_URL",
        "sandbox: PUBLIC_URL/sandbox/api; live: https://api.livechatinc.com",
        "Base URL of LiveChat's Configuration API.",
    ),
    Setting(
        "SECURE_COOKIES",
        "off in sandbox mode, on in live mode",
        "Mark cookies `Secure` and name the session cookie `__Host-session`. Needs HTTPS.",
    ),
    Setting(
        "PROXY_COUNT",
        "0",
        "How many reverse proxies stand in front of the console; their X-Forwarded-* headers "
        "are trusted only then.",
    ),
    Setting(
        "ALLOW_PRIVATE_TARGETS",
        "on in sandbox mode, off in live mode",
        "Allow outgoing requests to loopback addresses (the console's own inbox).",
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "memory://",
        "Where rate-limit counters live; use `redis://…` when several processes serve.",
    ),
    Setting(
        "REJECTED_PER_MINUTE",
        "60",
        "How many deliveries with a wrong or missing secret key one inbox stores per minute; "
        "beyond that they are answered 429 (with `Retry-After`) and not stored. Deliveries with "
        "the right secret key are never limited.",
    ),
    Setting(
        "SANDBOX_PROVISIONING",
        "on in sandbox mode",
        "Creating an app asks the sandbox for a Client ID, secret and developer token.",
    ),
    Setting(
        "SESSION_IDLE_MINUTES",
        "60",
        "A sign-in ends after this many minutes without a page load or form post (a page's "
        "own live updates do not count).",
    ),
    Setting(
        "SESSION_MAX_HOURS",
        "12",
        "A sign-in ends this many hours after it started, however active.",
    ),
    Setting("LOG_LEVEL", "INFO", "Log level of the console's own logger."),
    Setting(
        "TASK_QUEUE_URL",
        "sqlite:///<instance>/tasks.db",
        "Where background work waits for a worker: a SQLite file on one machine, "
        "`redis://host:6379/0` or `postgresql://user@host/db` when several machines serve.",
    ),
    Setting(
        "WORKER_THREADS",
        "4",
        "How many tasks one worker process (`flask --app wsgi worker`) runs at once.",
    ),
    Setting(
        "REGISTRATION_IN_FLIGHT",
        "8",
        "How many calls to LiveChat one registration run makes at once (1 to 32).",
    ),
    Setting(
        "DELIVERY_RETENTION_DAYS",
        "7",
        "The Inbox keeps deliveries this many days; older ones are removed.",
    ),
    Setting(
        "INBOX_MAX_DELIVERIES",
        "10000",
        "The Inbox keeps at most this many deliveries per webhook set, the newest.",
    ),
    Setting(
        "REGISTRATION_LEASE_SECONDS",
        "15",
        "How long a worker's hold on a registration run lasts unless it renews it; a run whose "
        "worker died goes on on another worker after this long.",
    ),
    # gunicorn's, read by gunicorn.conf.py through web_server().
    Setting(
        "PORT",
        "8000",
        "The port gunicorn listens on, on 127.0.0.1 (`make run` serves on 5000).",
    ),
    Setting("WEB_CONCURRENCY", "2", "How many gunicorn processes serve the console."),
    Setting("WEB_THREADS", "8", "How many requests each gunicorn process serves at once."),
]

LIVE_ACCOUNTS_URL = "https://accounts.livechat.com"
LIVE_API_URL = "https://api.livechatinc.com"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _proxy_count(raw: str) -> int:
    # A wrong count makes the console trust a forged X-Forwarded-For: refuse to guess.
    raw = raw.strip() or "0"
    if not raw.isdigit():
        raise ConfigurationError(
            f"PROXY_COUNT must be a whole number (0 when no proxy is in front), not {raw!r}."
        )
    return int(raw)


def _per_minute(name: str, raw: str, default: int) -> int:
    return _whole_number(name, raw, default)


def _whole_number(name: str, raw: str | None, default: int, highest: int | None = None) -> int:
    raw = (raw or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, not {raw!r}.")
    if highest is not None and int(raw) > highest:
        raise ConfigurationError(f"{name} must be a whole number from 1 to {highest}, not {raw}.")
    return int(raw)


def _task_queue_url(raw: str | None, instance: Path) -> str:
    url = (raw or "").strip() or f"sqlite:///{instance / 'tasks.db'}"
    try:
        storage_for(url)
    except ValueError:
        raise ConfigurationError(
            "TASK_QUEUE_URL must start with sqlite:///, redis://, postgresql:// or memory://, "
            f"not {url.split(':', 1)[0]!r}."
        ) from None
    return url


# Upper bounds keep every session time computable; a year is longer than anyone needs.
SESSION_LIMITS = {
    "SESSION_IDLE_MINUTES": ("60", "minutes", 366 * 24 * 60),
    "SESSION_MAX_HOURS": ("12", "hours", 366 * 24),
}


def _session_limit(name: str, raw: str | None) -> int:
    default, unit, highest = SESSION_LIMITS[name]
    value = (raw or "").strip() or default
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= highest:
        raise ConfigurationError(
            f"{name} must be a whole number of {unit} from 1 to {highest}, not {value!r}."
        )
    return int(value)


def parse_fernet_keys(raw: str) -> list[str]:
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise ConfigurationError("FERNET_KEYS is empty: give at least one Fernet key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"FERNET_KEYS key #{position} is not a valid Fernet key (32 url-safe base64 "
                "bytes). Make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc
    return keys


def load(instance_path: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the configuration mapping from the environment, failing on missing settings."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("LIVECHAT_MODE", "sandbox").strip().lower()
    if mode not in {"sandbox", "live"}:
        raise ConfigurationError(f"LIVECHAT_MODE must be 'sandbox' or 'live', not {mode!r}.")
    sandbox = mode == "sandbox"
    instance = Path(instance_path)

    secret_key = env.get("SECRET_KEY", "").strip()
    fernet_raw = env.get("FERNET_KEYS", "").strip()
    if not sandbox:
        missing = [
            name
            for name, value in (("SECRET_KEY", secret_key), ("FERNET_KEYS", fernet_raw))
            if not value
        ]
        if missing:
            raise ConfigurationError(
                "Live mode needs these settings: " + ", ".join(missing) + ". See the README's "
                "Settings table."
            )
        if len(secret_key) < 32:
            raise ConfigurationError("SECRET_KEY must be at least 32 characters in live mode.")

    public_url = env.get("PUBLIC_URL", "http://127.0.0.1:5000").strip().rstrip("/")
    database_url = env.get("DATABASE_URL", "").strip() or (
        f"sqlite:///{instance / 'consoleapp.db'}"
    )
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    secure = _flag(env.get("SECURE_COOKIES"), default=not sandbox)

    settings = {
        "LIVECHAT_MODE": mode,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_URL": public_url,
        "LIVECHAT_ACCOUNTS_URL": env.get("LIVECHAT_ACCOUNTS_URL", "").strip().rstrip("/")
        or (f"{public_url}/sandbox/accounts" if sandbox else LIVE_ACCOUNTS_URL),
        "LIVECHAT_API_URL": env.get("LIVECHAT_API_URL", "").strip().rstrip("/")
        or (f"{public_url}/sandbox/api" if sandbox else LIVE_API_URL),
        "SECURE_COOKIES": secure,
        "PROXY_COUNT": _proxy_count(env.get("PROXY_COUNT", "")),
        "ALLOW_PRIVATE_TARGETS": _flag(env.get("ALLOW_PRIVATE_TARGETS"), default=sandbox),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "REJECTED_PER_MINUTE": _per_minute(
            "REJECTED_PER_MINUTE", env.get("REJECTED_PER_MINUTE", ""), default=60
        ),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").upper(),
        "SESSION_IDLE_MINUTES": _session_limit(
            "SESSION_IDLE_MINUTES", env.get("SESSION_IDLE_MINUTES")
        ),
        "SESSION_MAX_HOURS": _session_limit("SESSION_MAX_HOURS", env.get("SESSION_MAX_HOURS")),
        "TASK_QUEUE_URL": _task_queue_url(env.get("TASK_QUEUE_URL"), instance),
        "WORKER_THREADS": _whole_number("WORKER_THREADS", env.get("WORKER_THREADS"), 4, 64),
        "REGISTRATION_IN_FLIGHT": _whole_number(
            "REGISTRATION_IN_FLIGHT", env.get("REGISTRATION_IN_FLIGHT"), 8, 32
        ),
        "DELIVERY_RETENTION_DAYS": _whole_number(
            "DELIVERY_RETENTION_DAYS", env.get("DELIVERY_RETENTION_DAYS"), 7, 36500
        ),
        "INBOX_MAX_DELIVERIES": _whole_number(
            "INBOX_MAX_DELIVERIES", env.get("INBOX_MAX_DELIVERIES"), 10_000, 100_000_000
        ),
        "REGISTRATION_LEASE_SECONDS": _whole_number(
            "REGISTRATION_LEASE_SECONDS", env.get("REGISTRATION_LEASE_SECONDS"), 15, 3600
        ),
        "SANDBOX_URL": f"{public_url}/sandbox"
        if sandbox and _flag(env.get("SANDBOX_PROVISIONING"), default=True)
        else None,
    }
    # Keys last, so a malformed setting is reported before a key file is looked for.
    if fernet_raw:
        parse_fernet_keys(fernet_raw)
    if not (secret_key and fernet_raw):
        try:
            secret_key, fernet_raw = keyfiles.read_keys(instance, secret_key, fernet_raw)
        except keyfiles.KeyFileError as exc:
            raise ConfigurationError(str(exc)) from None
    settings["SECRET_KEY"] = secret_key
    settings["FERNET_KEYS"] = parse_fernet_keys(fernet_raw)
    return settings


def web_server(environ: dict[str, str] | None = None) -> dict[str, int]:
    """gunicorn's settings, for gunicorn.conf.py: the port, processes and threads per process."""
    env = os.environ if environ is None else environ
    return {
        "port": _whole_number("PORT", env.get("PORT"), 8000, 65535),
        "workers": _whole_number("WEB_CONCURRENCY", env.get("WEB_CONCURRENCY"), 2),
        "threads": _whole_number("WEB_THREADS", env.get("WEB_THREADS"), 8),
    }


def derived(config: dict[str, Any]) -> dict[str, Any]:
    """Settings that follow from others (cookie names and flags, limits)."""
    secure = config["SECURE_COOKIES"]
    return {
        "SESSION_COOKIE_NAME": "__Host-session" if secure else "consoleapp_session",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_PATH": "/",
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "RATELIMIT_HEADERS_ENABLED": True,
        # A server's connection can drop between requests; a SQLite file's cannot.
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": not config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
        },
        "WTF_CSRF_TIME_LIMIT": 3600 * 8,
        # How long the console waits for LiveChat (and for the sandbox playing it): seconds to
        # connect and to read, and a deadline for the whole call. Tests shorten them.
        "LIVECHAT_API_TIMEOUT": (5.0, 15.0),
        "LIVECHAT_API_DEADLINE": 15.0,
        "SANDBOX_EVENTS_TIMEOUT": (5.0, 15.0),
        "SANDBOX_EVENTS_DEADLINE": 15.0,
        # The sandbox's deliveries: LiveChat gives an endpoint about 10 s to answer, and
        # retries 3 times within about a minute.
        "SANDBOX_DELIVERY_TIMEOUT": 10.0,
        "SANDBOX_DELIVERY_RETRY_DELAYS": (5.0, 15.0, 30.0),
    }
