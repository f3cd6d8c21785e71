"""Domain results as people see them: pills, display rows, JSON bodies, and the template filters
that make them. Services say what is so; this module says how it looks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from ..services.checklist import Check, Checklist

# -- time -----------------------------------------------------------------------------------


def took(start: datetime, end: datetime) -> str:
    """7 s, 2 min 5 s, 1 h 3 min."""
    seconds = max(0, round((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


# -- Install & test's checklist -------------------------------------------------------------


def check_detail(check: Check) -> str:
    """The row's plain-words detail, with the time a verified trigger took."""
    if check.elapsed is None:
        return check.detail
    elapsed = check.elapsed
    after = "after the test started" if elapsed.since_test else "after registration"
    return f"{check.detail.removesuffix('.')} {took(elapsed.start, elapsed.end)} {after}."


def checklist_json(checks: Checklist) -> dict[str, Any]:
    """The body of the checklist's status poll: what the page's script redraws."""
    return {
        "verified": checks.verified,
        "total": checks.total,
        "state": checks.state,
        "rows": [
            {
                "key": row.key,
                "title": row.title,
                "pill": row.pill,
                "label": row.label,
                "detail": check_detail(row),
            }
            for row in checks.rows
        ],
    }


def init_app(app: Flask) -> None:
    app.add_template_filter(check_detail)
