"""The console as gunicorn serves it, plus ``POST /bare``: a route that only answers 200, the
reference the receiver benchmark compares with (same server, same hooks, no work)."""

from __future__ import annotations

from consoleapp.extensions import csrf
from wsgi import app


@app.post("/bare")
@csrf.exempt
def bare() -> tuple[str, int]:
    return "ok", 200
