"""JSON API of the simulated license: run scenarios, read deliveries and their attempts.

``POST /sandbox/simulate/<scenario>`` is what the console's test page calls. It is exempt from
CSRF because it is an API; it takes only ``application/json`` (or no body), which a
cross-site form cannot send.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request

from ...extensions import csrf, db
from .. import delivery
from ..delivery.models import SandboxDelivery
from . import scenarios
from .scenarios.context import ScenarioError

bp = Blueprint("sandbox_api_events", __name__, url_prefix="/sandbox")
csrf.exempt(bp)

MAX_LISTED = 200


def _error(error_type: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify(error={"type": error_type, "message": message}), status


@bp.get("/simulate")
def list_scenarios() -> Response:
    return jsonify(
        scenarios=[
            {
                "name": item.name,
                "title": item.title,
                "group": item.group,
                "triggers": list(item.triggers),
                "versions": list(item.versions),
            }
            for item in scenarios.SCENARIOS
        ],
        parameters=sorted(scenarios.PARAMETERS),
    )


@bp.post("/simulate/<name>")
def simulate(name: str) -> tuple[Response, int]:
    if name not in scenarios.BY_NAME:
        return _error("not_found", f"There is no scenario called {name!r}.", 404)
    body = None
    if request.content_length or request.data:
        if not request.is_json:
            return _error("validation", "Send the parameters as application/json.", 415)
        body = request.get_json(silent=True)
        if body is None:
            return _error("validation", "The body is not valid JSON.", 400)
    try:
        outcome = scenarios.run(name, body)
    except ScenarioError as exc:
        db.session.rollback()
        return _error(exc.type, exc.message, exc.status)
    db.session.commit()
    return jsonify(outcome), 200


@bp.get("/deliveries")
def list_deliveries() -> Response:
    limit = request.args.get("limit", type=int) or 50
    found = delivery.recent(
        limit=max(1, min(limit, MAX_LISTED)),
        action=request.args.get("action") or None,
        webhook_id=request.args.get("webhook_id") or None,
    )
    return jsonify(deliveries=[delivery.as_json(item) for item in found])


@bp.get("/deliveries/<int:delivery_id>")
def show_delivery(delivery_id: int) -> Response:
    item = db.session.get(SandboxDelivery, delivery_id)
    if item is None:
        abort(404)
    return jsonify(delivery.as_json(item))
