"""Registration: make LiveChat's registered webhooks match a webhook set.

``control`` is what requests do with runs, ``plan`` what pressing Register will change, and
``run`` how a worker carries a run out.
"""

from __future__ import annotations

from .control import (
    MARKER,
    AlreadyRunning,
    active_run,
    client_for,
    description,
    desired,
    latest_run,
    problem,
    release_rows,
    request_cancel,
    start,
    undo_start,
)
from .run import RunSettings, claim, execute

__all__ = [
    "MARKER",
    "AlreadyRunning",
    "RunSettings",
    "active_run",
    "claim",
    "client_for",
    "description",
    "desired",
    "execute",
    "latest_run",
    "problem",
    "release_rows",
    "request_cancel",
    "start",
    "undo_start",
]
