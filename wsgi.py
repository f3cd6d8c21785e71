"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``.

In sandbox mode run ``flask --app wsgi keys init`` once first (``make run`` does). Process-wide
logging is set up here, for the process that serves, rather than in the factory.
"""

from consoleapp import create_app
from consoleapp.redaction import configure_logging

app = create_app()
configure_logging(app.config["LOG_LEVEL"])
