"""The Inbox: every delivery the console's receiver got for an app, newest first, a page at a
time; a chart of the last hour; what is kept and for how long."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)

from ..extensions import db
from ..livechat import catalog
from ..livechat.deliveries import PRETTY, RECEIVED, laid_out
from ..models import App, Delivery, WebhookSet
from ..services import inbox, retention
from . import inbox_chart
from .auth import background_poll, login_required
from .headers import no_store
from .receiver import inbox_url

bp = Blueprint("inbox", __name__, url_prefix="/apps/<int:app_id>/inbox")

POLL_SECONDS = 1
# A cursor is a delivery id: digits only. Longer than this it is not one a page ever made.
CURSOR = re.compile(r"[0-9]{1,30}")
BAD_PAGE_LINK = "That page link is not valid, so the newest deliveries are shown."
BAD_AFTER = "after must be a delivery id: a whole number, 0 or more."


class BadCursor(ValueError):
    """A page link's or a poll's cursor that is not a delivery id."""


def cursor_value(value: str | None) -> int | None:
    """The delivery id a cursor names; None when there is none. Raises BadCursor."""
    if value is None:
        return None
    if not CURSOR.fullmatch(value.strip()):
        raise BadCursor(value)
    return int(value)


@bp.app_template_filter("received_at")
def format_received_at(value: datetime) -> str:
    # Seconds matter here: retries of one event arrive seconds apart.
    return value.strftime("%Y-%m-%d %H:%M:%S")


@bp.app_template_filter("thousands")
def format_thousands(value: int) -> str:
    return f"{value:,}"


@dataclass(frozen=True)
class ShownBody:
    text: str
    note: str
    as_received: bool


@bp.app_template_filter("shown_body")
def shown_body(delivery: Delivery) -> ShownBody:
    """The stored body as the Inbox shows it (laid out when it can be), and how, in plain words."""
    kept = f"{inbox.REJECTED_BODY_KEPT // 1024} KB"
    if delivery.body_truncated:
        size = format_thousands(delivery.body_size or 0)
        note = (
            f"First {kept} of {size} bytes shown, as received: of a rejected delivery only "
            f"the first {kept} are kept."
        )
        return ShownBody(delivery.body, note, True)
    if delivery.body_format == PRETTY:
        return ShownBody(delivery.body, "As received, pretty-printed.", False)
    if delivery.body_format == RECEIVED:
        pretty = laid_out(delivery.body, delivery.body_size or len(delivery.body))
        if pretty is not None:
            return ShownBody(pretty, "As received, pretty-printed.", False)
    if delivery.verified:
        return ShownBody(delivery.body, "Shown as received: too deeply nested to lay out.", True)
    note = (
        f"Shown as received: laid out, it would be longer than the {kept} kept of a rejected "
        "delivery."
    )
    return ShownBody(delivery.body, note, True)


def chosen_filter(args: Mapping[str, str]) -> inbox.InboxFilter:
    """The filter in the query string; unknown values are ignored rather than refused."""
    action = args.get("action", "").strip()[:64] or None
    status = args.get("status") if args.get("status") in inbox.STATUSES else None
    return inbox.InboxFilter(action=action, status=status)


def page_cursors(args: Mapping[str, str]) -> tuple[int | None, int | None]:
    """``before`` and ``after`` from the query string; at most one of them. Raises BadCursor."""
    before, after = cursor_value(args.get("before")), cursor_value(args.get("after"))
    if before is not None and after is not None:
        raise BadCursor("both before and after")
    return before, after


def requested_page(args: Mapping[str, str]) -> tuple[int | None, int | None, str | None]:
    """``before``, ``after`` and a notice: a bad page link shows the newest, and says so."""
    try:
        before, after = page_cursors(args)
    except BadCursor:
        return None, None, BAD_PAGE_LINK
    return before, after, None


def trigger_titles(sets: list[WebhookSet]) -> dict[str, str]:
    """Plain words for each trigger of the sets' API versions, in the catalogue's order."""
    titles: dict[str, str] = {}
    for version in dict.fromkeys(item.api_version for item in sets):
        for trigger in catalog.triggers_for(version):
            titles.setdefault(trigger.action, trigger.title)
    return titles


def retention_note(config: Mapping[str, Any]) -> str:
    policy = retention.Policy.from_config(config)
    days = f"{policy.days:,} day{'s' if policy.days != 1 else ''}"
    return (
        f"Deliveries are kept for {days}, at most {policy.per_inbox:,} per inbox; "
        "older ones are removed."
    )


def about_the_inbox(app_id: int) -> dict[str, Any]:
    """What the list shows beside the deliveries: the triggers received and their words, the
    last hour's chart, what is kept, and each set's inbox address."""
    sets = inbox.webhook_sets(app_id)
    titles = trigger_titles(sets)
    return {
        "actions": inbox.actions_received(app_id),
        "titles": titles,
        "chart": inbox_chart.last_hour(inbox.traffic(app_id), titles) if sets else None,
        "kept": retention_note(current_app.config),
        "inbox_urls": [inbox_url(item.inbox_token) for item in sets],
    }


def conditional_json(**body: Any) -> Response:
    """A JSON answer with an ETag: 304 to a poll that names it (If-None-Match)."""
    response = jsonify(**body)
    response.add_etag()
    return response.make_conditional(request)


def delivery_summary(app_id: int, delivery: Delivery) -> dict[str, Any]:
    """One row of the list, as the page's script shows it."""
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "url": url_for("inbox.show_delivery", app_id=app_id, delivery_id=delivery.id),
        "received_at": format_received_at(delivery.received_at),
        "action": delivery.action,
        "verified": delivery.verified,
        "status": "verified" if delivery.verified else f"rejected: {delivery.rejection}",
        "times_received": delivery.event.times_received if delivery.event else 0,
    }


@bp.get("/")
@login_required
def list_deliveries(app_id: int):
    app = db.get_or_404(App, app_id)
    chosen = chosen_filter(request.args)
    before, after, notice = requested_page(request.args)
    shown = inbox.page(app.id, chosen, before=before, after=after)
    return render_template(
        "inbox/list.html",
        app=app,
        chosen=chosen,
        shown=shown,
        paged=before is not None or after is not None,
        notice=notice,
        resume_after=inbox.resume_after(shown.items),
        poll_seconds=POLL_SECONDS,
        **about_the_inbox(app.id),
    )


@bp.get("/feed")
@login_required
@background_poll
@no_store
def newer_deliveries(app_id: int) -> Response | tuple[Response, int]:
    """What came after ``after`` (a delivery id; without one, the newest), for the page's live
    updates. Answers 304 to a poll that names (If-None-Match) its last answer, when nothing
    changed."""
    app = db.get_or_404(App, app_id)
    try:
        after = cursor_value(request.args.get("after", "0"))
    except BadCursor:
        return jsonify(error={"status": 400, "message": BAD_AFTER}), 400
    found = inbox.newer_than(app.id, chosen_filter(request.args), after or 0)
    return conditional_json(
        deliveries=[delivery_summary(app.id, item) for item in found.deliveries],
        cursor=found.cursor,
    )


@bp.get("/<int:delivery_id>")
@login_required
def show_delivery(app_id: int, delivery_id: int):
    app = db.get_or_404(App, app_id)
    delivery = inbox.get_delivery(app.id, delivery_id)
    if delivery is None:
        abort(404)
    return render_template("inbox/show.html", app=app, delivery=delivery)
