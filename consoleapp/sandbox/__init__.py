"""The LiveChat sandbox: LiveChat's accounts server, Configuration API and webhook delivery.

Mounted under ``/sandbox`` only in sandbox mode, by the console's factory; nothing else in the
console imports from it, and the console reaches it over HTTP, exactly as it reaches LiveChat.

- ``accounts/``: the accounts server (sign-in, consent, tokens) and apps' credentials
- ``configuration_api/``: the webhook methods, their rules and errors, and injected faults
- ``world/``: the simulated licenses and the scenarios that make something happen on them
- ``delivery/``: which webhooks an event reaches, and sending them with LiveChat's retries
- ``pages/``: the sandbox's own pages; ``templates/`` and ``static/`` hold their frame and look
"""

from __future__ import annotations

from flask import Blueprint, Flask

from . import cli
from .accounts import models as accounts_tables  # noqa: F401 - registers its tables
from .accounts import provisioning
from .accounts import views as accounts
from .configuration_api import faults
from .configuration_api import models as configuration_api_tables  # noqa: F401 - registers its tables
from .configuration_api import views as configuration_api
from .delivery import models as delivery_tables  # noqa: F401 - registers its tables
from .pages import views as pages
from .world import events_api
from .world import models as world_tables  # noqa: F401 - registers its tables

# The layout and stylesheet shared by the sandbox's pages and its accounts server; the
# stylesheet is served at /sandbox/static/.
assets = Blueprint(
    "sandbox_assets",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/sandbox/static",
)


def init_app(app: Flask) -> None:
    """Register the sandbox's blueprints and commands."""
    app.register_blueprint(assets)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(configuration_api.bp)
    app.register_blueprint(faults.bp)
    app.register_blueprint(provisioning.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(events_api.bp)
    cli.init_app(app)
