"""Faults on demand: slow calls, rate limiting, internal errors, ambiguous timeouts and a
propagation delay before new webhooks fire. Stored as rows, so every process sees them.

``POST /sandbox/faults`` and ``DELETE /sandbox/faults`` set and clear them as JSON.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import update

from ... import database
from ...extensions import csrf, db
from ...models import utcnow
from .errors import ApiError
from .models import SandboxFault

KINDS = {
    # kind: (unit of value, default value)
    "latency": ("milliseconds", 1000.0),
    "too_many_requests": ("seconds to put in Retry-After", 1.0),
    "internal": ("unused", 0.0),
    "timeout_after_store": ("seconds to hold the response after storing", 16.0),
    "propagation_delay": ("seconds before a new webhook fires", 120.0),
}
MAX_VALUE = 600.0


def set_fault(
    kind: str, method: str = "*", value: float | None = None, remaining: int | None = None
) -> SandboxFault:
    """Add a fault; the caller commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
    fault = SandboxFault(
        kind=kind,
        method=method or "*",
        value=KINDS[kind][1] if value is None else value,
        remaining=remaining,
    )
    db.session.add(fault)
    db.session.flush()
    return fault


def clear_faults(kind: str | None = None) -> int:
    """Remove every fault, or every fault of one kind; the caller commits."""
    statement = db.delete(SandboxFault)
    if kind is not None:
        statement = statement.where(SandboxFault.kind == kind)
    return db.session.execute(statement).rowcount or 0


def list_faults() -> list[SandboxFault]:
    return list(db.session.execute(db.select(SandboxFault).order_by(SandboxFault.id)).scalars())


def describe(fault: SandboxFault) -> dict[str, Any]:
    return {
        "id": fault.id,
        "kind": fault.kind,
        "method": fault.method,
        "value": fault.value,
        "unit": KINDS.get(fault.kind, ("", 0))[0],
        "remaining": fault.remaining,
    }


def _matching(method: str) -> list[tuple[int, str, float, int | None]]:
    """Every fault that applies to ``method``, in one look that takes no write lock; kept for
    the rest of the request (the timeout-after-store fault is looked for after the change)."""
    if "sandbox_faults" not in g:
        with database.reading():
            g.sandbox_faults = db.session.execute(
                db.select(
                    SandboxFault.id, SandboxFault.kind, SandboxFault.value, SandboxFault.remaining
                )
                .where(SandboxFault.method.in_(["*", method]))
                .order_by(SandboxFault.id)
            ).all()
    return g.sandbox_faults


def _take(kind: str, method: str) -> float | None:
    """The value of the first matching fault of ``kind``, counting one use of it; None when
    none applies. A fault with a budget is counted in a short write of its own, committed at
    once, so a fault that answers with an error is still used up."""
    for fault_id, fault_kind, value, remaining in _matching(method):
        if fault_kind != kind:
            continue
        if remaining is None:
            return value
        # A conditional decrement, so concurrent callers share the budget exactly.
        used = db.session.execute(
            update(SandboxFault)
            .where(SandboxFault.id == fault_id, SandboxFault.remaining > 0)
            .values(remaining=SandboxFault.remaining - 1)
        ).rowcount
        db.session.commit()
        if used:
            return value
    return None


def before_call(method: str) -> None:
    """Apply latency, rate-limit and internal-error faults before a method runs."""
    latency = _take("latency", method)
    if latency is not None:
        time.sleep(min(latency, MAX_VALUE * 1000) / 1000)
    limited = _take("too_many_requests", method)
    if limited is not None:
        retry_after = max(int(limited), 0)
        raise ApiError("too_many_requests", headers={"Retry-After": str(retry_after)})
    if _take("internal", method) is not None:
        raise ApiError("internal")


def after_store(method: str) -> None:
    """Hold the response of a call whose change is already committed (the ambiguous case)."""
    hold = _take("timeout_after_store", method)
    if hold is not None:
        time.sleep(min(hold, MAX_VALUE))


def webhook_active_from(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    delay = db.session.execute(
        db.select(SandboxFault.value)
        .where(SandboxFault.kind == "propagation_delay")
        .order_by(SandboxFault.id.desc())
    ).scalar()
    return now + timedelta(seconds=min(delay or 0, MAX_VALUE))


bp = Blueprint("sandbox_api_faults", __name__, url_prefix="/sandbox/faults")
csrf.exempt(bp)


def _error(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify(error={"type": "validation", "message": message}), status


@bp.get("")
def list_json() -> Response:
    return jsonify(faults=[describe(fault) for fault in list_faults()])


@bp.post("")
def create() -> tuple[Response, int]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error('Send a JSON object such as {"kind": "latency", "value": 500}.')
    kind, method = body.get("kind"), body.get("method", "*")
    value, remaining = body.get("value"), body.get("remaining")
    if kind not in KINDS:
        return _error(f"`kind` must be one of: {', '.join(KINDS)}")
    if not isinstance(method, str) or not method or len(method) > 64:
        return _error('`method` must be a method name or "*"')
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 600_000
    ):
        return _error("`value` must be a number from 0 to 600000")
    if remaining is not None and (
        isinstance(remaining, bool) or not isinstance(remaining, int) or remaining < 1
    ):
        return _error("`remaining` must be a positive integer, or null for no limit")
    fault = set_fault(kind, method, None if value is None else float(value), remaining)
    db.session.commit()
    return jsonify(describe(fault)), 201


@bp.delete("")
def clear() -> Response:
    kind = request.args.get("kind")
    removed = clear_faults(kind)
    db.session.commit()
    return jsonify(removed=removed)


@bp.delete("/<int:fault_id>")
def remove(fault_id: int) -> tuple[Response, int]:
    fault = db.session.get(SandboxFault, fault_id)
    if fault is None:
        return jsonify(error={"type": "not_found", "message": "No such fault."}), 404
    db.session.delete(fault)
    db.session.commit()
    return jsonify(removed=1), 200
