"""The LiveChat sandbox: LiveChat's accounts server, Configuration API and webhook delivery.

Mounted under ``/sandbox`` only in sandbox mode. Nothing outside this package imports from it;
the console reaches it over HTTP, exactly as it reaches LiveChat.
"""

from __future__ import annotations

from flask import Flask

from . import (
    accounts,
    cli,
    configuration,
    events_api,
    faults,
    models,  # noqa: F401 - registers the sandbox tables
    provision,
    views,
    world_models,  # noqa: F401 - registers the simulated license's tables
)


def init_app(app: Flask) -> None:
    """Register the sandbox's blueprints and commands."""
    app.register_blueprint(accounts.bp)
    app.register_blueprint(configuration.bp)
    app.register_blueprint(faults.bp)
    app.register_blueprint(provision.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(events_api.bp)
    cli.init_app(app)
