"""Make LiveChat's registered webhooks match a webhook set: one webhook per chosen trigger.

A request starts a *run* (a ``RegistrationRun`` row) and a worker carries it out, so the page
answers at once and follows the run's progress from the database. At most one run of a set is
active at a time. Every webhook id is saved the moment LiveChat gives it, with the run that made
it, so a run can be resumed after any failure and cancelled with only its own webhooks removed
(CHECKS.md R6-R10).

- ``wanted``: what each chosen trigger should be registered as, marked as the console's own.
- ``control``: runs as requests see them: may one start, start it, find it, ask it to stop.
- ``plan``: what pressing Register will change at LiveChat, before it is pressed.
- ``lease``: which worker carries out a run, and until when.
- ``calls``: the LiveChat client and the two calls a run makes, register and remove.
- ``pump``: those calls a few at a time, each answer written down as it comes.
- ``align``: the rows brought in line with what LiveChat lists (lost answers adopted).
- ``removal``: webhooks taken off LiveChat, by a remove run or after a cancel.
- ``run``: a run carried out in a worker, to its end.

Callers use the names below; the modules are the package's own business.
"""

from __future__ import annotations

from .calls import client_for
from .control import (
    AlreadyRunning,
    active_run,
    latest_run,
    problem,
    release_rows,
    request_cancel,
    start,
    undo_start,
)
from .lease import RunSettings, claim
from .run import execute
from .wanted import MARKER, description, desired

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
