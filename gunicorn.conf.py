"""gunicorn settings for the console: `gunicorn wsgi:app`, run from this folder, reads them.

Anything here can be overridden on the command line (`--bind`, `--workers`, ...) or in
GUNICORN_CMD_ARGS.
"""

from __future__ import annotations

from typing import Any

from consoleapp.config import web_server

# PORT, WEB_CONCURRENCY and WEB_THREADS, with their defaults and checks in consoleapp/config.py.
_server = web_server()
# Loopback only: a TLS-terminating proxy on the same machine forwards to it (README). In a
# container whose port only the proxy can reach, pass --bind 0.0.0.0:8000.
bind = f"127.0.0.1:{_server['port']}"
workers = _server["workers"]
worker_class = "gthread"
threads = _server["threads"]
# Requests that call LiveChat wait up to 10 s a call, with retries; a worker silent for a
# minute is stuck and gets replaced.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Each process listens on the port itself (SO_REUSEPORT), so the kernel spreads connections
# evenly between them: with one shared socket, a burst of kept-alive connections (LiveChat
# sending many deliveries at once) could all land on one process while the other sat idle.
# Only a fixed port allows it; `--bind 127.0.0.1:0` (any free port) turns it off below.
reuse_port = True

accesslog = "-"
errorlog = "-"
loglevel = "info"
# The combined log format plus the time taken. Credentials in paths, query strings and
# referrers (invitation links, /hooks/<token>, OAuth code and state) are masked.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


def _redact_logs() -> None:
    from consoleapp.redaction import install_redaction

    install_redaction()


def on_starting(server: Any) -> None:
    """The master's own log lines, before any worker exists; and one socket for every
    process when the port is chosen by the system (each would get a port of its own)."""
    _redact_logs()
    if any(isinstance(address, tuple) and address[1] == 0 for address in server.cfg.address):
        server.cfg.set("reuse_port", False)


def post_worker_init(worker: object) -> None:
    """Each worker, also one that never builds the app through create_app."""
    _redact_logs()
