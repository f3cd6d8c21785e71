"""The audit trail: who changed what, and when."""

from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import AuditEvent, User


def record(actor: User | None, action: str, target: str = "", **details: Any) -> AuditEvent:
    """Add an audit event to the session; the caller commits with the change it describes."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else None,
        action=action,
        target=target[:300],
        details=details,
    )
    db.session.add(event)
    return event


# A page number beyond this is empty anyway; bounding it keeps the OFFSET a valid integer.
MAX_PAGE = 1_000_000


def page(number: int, per_page: int = 50):
    number = min(max(number, 1), MAX_PAGE)
    return db.paginate(
        db.select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()),
        page=number,
        per_page=per_page,
        error_out=False,
    )
