"""Blueprints, one module per area."""

from __future__ import annotations

from flask import Flask

from . import (
    account,
    apps,
    audit,
    auth,
    checklist,
    errors,
    filters,
    headers,
    inbox,
    install,
    presenters,
    receiver,
    registration,
    team,
    wizard,
    wizard_steps,
)


def register_blueprints(app: Flask) -> None:
    headers.init_app(app)
    errors.init_app(app)
    filters.init_app(app)
    presenters.init_app(app)
    wizard_steps.init_app(app)
    auth.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(apps.bp)
    app.register_blueprint(team.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(receiver.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(wizard.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(install.bp)
    app.register_blueprint(checklist.bp)
