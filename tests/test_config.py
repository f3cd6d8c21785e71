"""K2 and the factory: required settings are checked at start, and create_app does no I/O:
sandbox mode's keys are written by `flask --app wsgi keys init`, process-wide logging is set up
by wsgi.py."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from consoleapp import config, create_app, keyfiles
from consoleapp.cli import keys_cli
from consoleapp.config import ConfigurationError
from support import TEST_FERNET_KEY

GOOD_SECRET = "s" * 40
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def start(tmp_path, **environ: str):
    """Create an app from exactly this environment (no test defaults), on a SQLite file."""
    environ.setdefault("DATABASE_URL", f"sqlite:///{tmp_path / 'never-created.db'}")
    return create_app({"ENVIRON": environ}, instance_path=str(tmp_path / "instance"))


def init_keys(tmp_path, **environ: str):
    """`flask --app wsgi keys init` for this test's instance folder, in exactly this environment."""
    environ = {"LIVECHAT_MODE": None, "SECRET_KEY": None, "FERNET_KEYS": None, **environ}
    arguments = ["init", "--instance", str(tmp_path / "instance")]
    return CliRunner().invoke(keys_cli, arguments, env=environ)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SECRET_KEY": GOOD_SECRET}, "FERNET_KEYS"),
        ({"SECRET_KEY": GOOD_SECRET, "FERNET_KEYS": "   "}, "FERNET_KEYS"),
        ({"SECRET_KEY": GOOD_SECRET, "FERNET_KEYS": "not-a-key"}, "FERNET_KEYS key #1"),
        ({"SECRET_KEY": GOOD_SECRET, "FERNET_KEYS": "x" * 44}, "FERNET_KEYS key #1"),
        (
            {"SECRET_KEY": GOOD_SECRET, "FERNET_KEYS": f"{TEST_FERNET_KEY},garbage"},
            "FERNET_KEYS key #2",
        ),
        ({"SECRET_KEY": GOOD_SECRET, "FERNET_KEYS": " , ,"}, "FERNET_KEYS is empty"),
        ({"FERNET_KEYS": TEST_FERNET_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "short", "FERNET_KEYS": TEST_FERNET_KEY}, "SECRET_KEY must be at least"),
        ({}, "SECRET_KEY, FERNET_KEYS"),
    ],
)
def test_live_mode_refuses_to_start_without_its_settings(tmp_path, environ, message):
    with pytest.raises(ConfigurationError, match=message):
        start(tmp_path, LIVECHAT_MODE="live", **environ)
    # Nothing was generated to paper over the missing setting.
    assert not (tmp_path / "instance").exists()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FERNET_KEYS": "not-a-key"}, "FERNET_KEYS key #1"),
        ({"LIVECHAT_MODE": "production"}, "LIVECHAT_MODE must be"),
        ({"PROXY_COUNT": "two"}, "PROXY_COUNT must be a whole number"),
        ({"PROXY_COUNT": "-1"}, "PROXY_COUNT must be a whole number"),
    ],
)
def test_malformed_settings_refuse_to_start_in_any_mode(tmp_path, environ, message):
    with pytest.raises(ConfigurationError, match=message):
        start(tmp_path, **environ)


def test_live_mode_starts_with_its_settings(tmp_path):
    app = start(tmp_path, LIVECHAT_MODE="live", SECRET_KEY=GOOD_SECRET, FERNET_KEYS=TEST_FERNET_KEY)
    assert app.config["SECRET_KEY"] == GOOD_SECRET
    assert app.config["FERNET_KEYS"] == [TEST_FERNET_KEY]
    assert app.config["LIVECHAT_ACCOUNTS_URL"] == "https://accounts.livechat.com"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "sandbox.overview" not in app.view_functions


def test_sandbox_without_keys_refuses_to_start_and_names_the_command(tmp_path):
    with pytest.raises(ConfigurationError, match="Run `flask --app wsgi keys init` once"):
        start(tmp_path)
    # The factory wrote nothing: the keys are the command's to create.
    assert not (tmp_path / "instance").exists()


def test_keys_init_writes_keys_once_with_mode_0600_and_apps_reuse_them(tmp_path):
    created = init_keys(tmp_path)
    assert created.exit_code == 0, created.output
    assert "secret_key: created (SECRET_KEY)" in created.output
    first = start(tmp_path)
    instance = tmp_path / "instance"
    secret_file, keys_file = instance / "secret_key", instance / "fernet_keys"
    for path in (secret_file, keys_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == secret_file.read_text().strip()
    assert first.config["FERNET_KEYS"] == [keys_file.read_text().strip()]
    Fernet(first.config["FERNET_KEYS"][0])

    again = init_keys(tmp_path)
    assert again.exit_code == 0, again.output
    assert "fernet_keys: already there, kept (FERNET_KEYS)" in again.output
    second = start(tmp_path)
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert second.config["FERNET_KEYS"] == first.config["FERNET_KEYS"]
    assert sorted(p.name for p in instance.iterdir()) == ["fernet_keys", "secret_key"]


@pytest.mark.parametrize(
    ("environ", "written"),
    [
        ({"SECRET_KEY": GOOD_SECRET}, ["fernet_keys"]),
        ({"SECRET_KEY": GOOD_SECRET, "FERNET_KEYS": TEST_FERNET_KEY}, []),
        ({"LIVECHAT_MODE": "live"}, []),
    ],
)
def test_keys_init_writes_no_key_the_environment_gives(tmp_path, environ, written):
    result = init_keys(tmp_path, **environ)
    assert result.exit_code == 0, result.output
    instance = tmp_path / "instance"
    assert (sorted(p.name for p in instance.iterdir()) if instance.exists() else []) == written


def test_keys_init_runs_before_the_console_can_start(tmp_path):
    """The real command, while the factory still refuses to build the app for want of keys."""
    environ = {
        key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "FERNET_KEYS"}
    }
    environ.update(LIVECHAT_MODE="sandbox", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    command = [str(BIN / "flask"), "--app", "wsgi", "keys", "init"]
    command += ["--instance", str(tmp_path / "instance")]
    done = subprocess.run(
        command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "secret_key: created (SECRET_KEY)" in done.stdout
    assert sorted(p.name for p in (tmp_path / "instance").iterdir()) == [
        "fernet_keys",
        "secret_key",
    ]


def test_logging_is_set_up_by_wsgi_py_not_by_the_factory(tmp_path):
    script = """
import logging
from consoleapp import create_app
def redacting():
    return getattr(logging.getLogRecordFactory(), "redacting", False)
create_app()
assert not redacting(), "the factory changed process-wide logging"
assert logging.getLogger("consoleapp").level == logging.NOTSET
import wsgi
assert redacting(), "wsgi.py did not install redaction"
assert logging.getLogger("consoleapp").level == logging.WARNING
assert logging.getLogger("authlib").level == logging.INFO
"""
    environ = {
        **os.environ,
        "LIVECHAT_MODE": "sandbox",
        "SECRET_KEY": GOOD_SECRET,
        "FERNET_KEYS": TEST_FERNET_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never-created.db'}",
        "TASK_QUEUE_URL": "memory://",
        "LOG_LEVEL": "warning",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environ, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def test_sandbox_uses_given_keys_and_writes_nothing(tmp_path):
    app = start(tmp_path, SECRET_KEY=GOOD_SECRET, FERNET_KEYS=TEST_FERNET_KEY)
    assert app.config["SECRET_KEY"] == GOOD_SECRET
    assert not (tmp_path / "instance").exists()


def test_create_app_does_not_touch_the_database(tmp_path):
    start(tmp_path, SECRET_KEY=GOOD_SECRET, FERNET_KEYS=TEST_FERNET_KEY)
    # SQLite creates the file on the first connection; there was none, so no tables either.
    assert not (tmp_path / "never-created.db").exists()


def test_create_app_does_not_connect_to_postgresql(tmp_path):
    # Nothing listens on port 1: any connection attempt during start would fail it.
    app = start(
        tmp_path,
        SECRET_KEY=GOOD_SECRET,
        FERNET_KEYS=TEST_FERNET_KEY,
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing",
    )
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("filename", "setting"), [("secret_key", "SECRET_KEY"), ("fernet_keys", "FERNET_KEYS")]
)
def test_sandbox_refuses_an_empty_key_file(tmp_path, filename, setting):
    init_keys(tmp_path)
    (tmp_path / "instance" / filename).write_text("\n")
    with pytest.raises(ConfigurationError, match=f"{setting} is missing and .*{filename} is empty"):
        start(tmp_path)


def test_processes_creating_keys_together_share_one_generated_key(tmp_path):
    barrier = threading.Barrier(8)

    def start_worker(_: int):
        barrier.wait()
        # The settings loader alone: building whole apps in threads at once trips a CPython
        # 3.11 compiler bug ("AST constructor recursion depth mismatch") unrelated to keys.
        keyfiles.create_key_files(tmp_path / "instance", {"LIVECHAT_MODE": "sandbox"})
        settings = config.load(str(tmp_path / "instance"), {"LIVECHAT_MODE": "sandbox"})
        return settings["SECRET_KEY"], tuple(settings["FERNET_KEYS"])

    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(start_worker, range(8)))
    assert len(seen) == 1
    (secret_key, _), *_ = seen
    assert secret_key
    # No drafts are left behind.
    assert sorted(p.name for p in (tmp_path / "instance").iterdir()) == [
        "fernet_keys",
        "secret_key",
    ]


def test_gunicorn_settings_have_their_defaults_and_checks_here():
    assert config.web_server({}) == {"port": 8000, "workers": 2, "threads": 8}
    chosen = {"PORT": "5000", "WEB_CONCURRENCY": "3", "WEB_THREADS": "4"}
    assert config.web_server(chosen) == {"port": 5000, "workers": 3, "threads": 4}
    for name, value in [("PORT", "70000"), ("WEB_CONCURRENCY", "two"), ("WEB_THREADS", "0")]:
        with pytest.raises(ConfigurationError, match=f"{name} must be a whole number"):
            config.web_server({name: value})


def test_every_setting_is_in_the_readme():
    from pathlib import Path

    from consoleapp.config import SETTINGS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("## Settings") : readme.index("## Commands")]
    missing = [setting.name for setting in SETTINGS if f"| `{setting.name}` |" not in table]
    assert missing == []
