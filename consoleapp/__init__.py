"""consoleapp: configure LiveChat Chat Webhooks in a browser and prove that they work."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import cli, config, crypto, database
from .extensions import csrf, db, limiter, migrate, queue
from .web import register_blueprints

ROOT = Path(__file__).resolve().parent.parent


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    """The console, configured from the environment (``test_config`` may override it, and its
    ``ENVIRON`` replace it). No I/O beyond reading sandbox mode's key files, which
    ``flask --app wsgi keys init`` writes; process-wide logging is the entry point's (wsgi.py)."""
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    overrides = dict(test_config or {})
    settings = config.load(app.instance_path, overrides.pop("ENVIRON", None))
    settings.update(overrides)
    app.config.from_mapping({**config.derived(settings), **settings})

    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    crypto.init_app(app)
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    queue.init_app(app)
    register_blueprints(app)
    cli.init_app(app)
    if app.config["LIVECHAT_MODE"] == "sandbox":
        # The sandbox plays LiveChat; the console reaches it only over HTTP.
        importlib.import_module("consoleapp.sandbox").init_app(app)
    return app
