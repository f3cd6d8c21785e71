"""The audit log page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..services import audit
from .auth import login_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@login_required
def list_events():
    number = request.args.get("page", 1, type=int)
    return render_template("audit/list.html", page=audit.page(number))
