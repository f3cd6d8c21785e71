"""The console's own webhook receiver: LiveChat POSTs deliveries to ``/hooks/<inbox_token>``.

It authenticates by ``secret_key`` (so CSRF does not apply), answers JSON only, and stores every
delivery and commits before it answers 200 (``services.intake``: one commit for the deliveries
that arrive together). If the delivery cannot be stored it answers 503, so LiveChat retries.
Nothing else happens before the answer: what follows from a delivery is worked out afterwards.
Rejected deliveries are stored in part (401), and past a limit a minute not at all (429). A body
over the cap is 413, however it is sent; it is never cut short and stored.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import csrf, limiter
from ..livechat import deliveries
from ..services import group_commit, intake, webhook_sets
from .auth import without_sign_in
from .errors import error_response

log = logging.getLogger("consoleapp.receiver")

bp = Blueprint("receiver", __name__, url_prefix="/hooks")
# LiveChat authenticates with the secret key; a burst of real events must never be refused.
# Rejected deliveries have a limit of their own (REJECTED_PER_MINUTE), counted after the check.
csrf.exempt(bp)


@limiter.request_filter
def _never_limited() -> bool:
    """Deliveries skip the limiter altogether: decided before any limit is looked up, which an
    exempt blueprint's requests still pay for on every delivery."""
    return request.blueprint == bp.name


NOT_JSON = "Send the delivery as JSON, with Content-Type: application/json."
UNKNOWN_INBOX = "No webhook set has this inbox address. Copy it again from the Inbox tab."
NOT_STORED = "The delivery could not be stored. Send it again later."
TOO_MANY_REJECTED = (
    "Too many deliveries with a wrong or missing secret key came to this inbox this minute, so "
    "this one was not stored. Check the secret key, then send again after Retry-After seconds."
)
READ_CHUNK = 64 * 1024
RECEIVED = '{"status": "received", "delivery_id": %d}\n'


def inbox_url(inbox_token: str) -> str:
    """The address to give LiveChat, on the console's public URL."""
    return webhook_sets.inbox_url(current_app.config["PUBLIC_URL"], inbox_token)


def read_body(limit: int) -> bytes:
    """The whole body, or 413 when it is longer than ``limit``: never a shortened body.

    Werkzeug stops reading a chunked body (no Content-Length) at the limit without saying that
    more was coming. Reading up to one byte past the limit tells the two apart.
    """
    request.max_content_length = limit + 1
    chunks, size = [], 0
    while chunk := request.stream.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


# What ``intake.receive`` raises for a delivery it did not take; a larger body is 413 on its own.
NOT_TAKEN = (
    deliveries.MalformedDelivery,
    intake.UnknownInbox,
    intake.TooManyRejected,
    group_commit.NotStored,
    SQLAlchemyError,
)


def _refusal(exc: Exception) -> ResponseReturnValue:
    """The answer to a delivery that was not taken (``NOT_TAKEN``)."""
    if isinstance(exc, deliveries.MalformedDelivery):
        return error_response(400, str(exc))
    if isinstance(exc, intake.UnknownInbox):
        return error_response(404, UNKNOWN_INBOX)
    if isinstance(exc, intake.TooManyRejected):
        return (*error_response(429, TOO_MANY_REJECTED), {"Retry-After": str(exc.retry_after)})
    log.error("delivery not stored, answering 503: %s", exc)
    return error_response(503, NOT_STORED)


@bp.post("/<inbox_token>")
@without_sign_in
def receive_delivery(inbox_token: str) -> ResponseReturnValue:
    if not request.is_json:
        return error_response(415, NOT_JSON)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        body = read_body(app.config["MAX_CONTENT_LENGTH"])
        stored = intake.receive(app, inbox_token, body, request.headers.items())
    except NOT_TAKEN as exc:
        return _refusal(exc)
    if not stored.verified:
        # The reason is on the Inbox page; the sender learns nothing about the secret.
        return jsonify(error="unauthorized"), 401
    # Every delivery gets this answer: written out, not built by the JSON provider each time.
    return app.response_class(RECEIVED % stored.delivery_id, mimetype="application/json")
