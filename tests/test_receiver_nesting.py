"""Deeply nested bodies: every depth is stored or refused with a 400, never a 500 or a lost
delivery, and the secret stays masked at every level."""

from __future__ import annotations

import html
import json
import logging
import re

import pytest

from consoleapp.extensions import db
from consoleapp.livechat import deliveries
from consoleapp.models import Delivery
from support import INBOX_SECRET, add_webhook_set, sign_in

WRONG_SECRET = "not-the-inbox-secret-Zq9w"
DEEP_SECRET = "deep-secret-value-Kp4r"
# Every depth to 50, then every 7th, and around the depths where the receiver used to fail.
DEPTHS = sorted(
    set(range(1, 51))
    | set(range(57, 2001, 7))
    | {489, 490, 491, 988, 989, 990, 991, 992, 1999, 2000}
)
# At most this deep, every body parses: the 400s start near a thousand levels.
ALWAYS_PARSED = 900
TAGS = re.compile(r"<[^>]+>")


def nested(depth: int, shape: str) -> str:
    """``depth`` levels of objects, arrays or both, with a secret_key in the innermost object."""
    opens, closes = [], []
    for level in range(depth - 1):
        if shape == "objects" or (shape == "mixed" and level % 2 == 0):
            opens.append('{"a":')
            closes.append("}")
        else:
            opens.append("[")
            closes.append("]")
    leaf = json.dumps({"secret_key": DEEP_SECRET, "n": depth})
    return "".join(opens) + leaf + "".join(reversed(closes))


def envelope_around(depth: int, shape: str, secret: str) -> str:
    """A delivery whose payload is nested ``depth`` levels deep (the body one more)."""
    head = json.dumps({"action": "incoming_event", "secret_key": secret, "webhook_id": "w"})
    return head[:-1] + ', "payload": ' + nested(depth, shape) + "}"


def envelopes_all_the_way_down(depth: int, secret: str) -> str:
    """The body itself nested from the top: every level an envelope with its own secret_key."""
    level = json.dumps({"action": "incoming_event", "secret_key": secret})[:-1] + ', "next": '
    return level * depth + "null" + "}" * depth


def bare(depth: int, shape: str) -> str:
    """The body is the nesting itself (no envelope at the top): always a 400."""
    return nested(depth, shape)


@pytest.fixture
def receiver(app_factory):
    app = app_factory(ENVIRON={"REJECTED_PER_MINUTE": "1000000"})
    return app, add_webhook_set(app)[1]


def stored_bodies(app) -> list[Delivery]:
    with app.app_context():
        rows = db.session.execute(db.select(Delivery).order_by(Delivery.id)).scalars().all()
        db.session.expunge_all()
        return list(rows)


@pytest.mark.parametrize("shape", ["objects", "arrays", "mixed", "from-the-top", "bare"])
def test_every_depth_to_2000_is_stored_or_a_json_400(receiver, caplog, shape):
    app, token = receiver
    client = app.test_client()
    caplog.set_level(logging.INFO)
    stored = 0
    for depth in DEPTHS:
        secret = INBOX_SECRET if depth % 2 == 0 else WRONG_SECRET
        if shape == "from-the-top":
            body = envelopes_all_the_way_down(depth, secret)
        elif shape == "bare":
            body = bare(depth, "mixed" if depth % 3 == 0 else "arrays" if depth % 2 else "objects")
        else:
            body = envelope_around(depth, shape, secret)
        caplog.clear()
        response = client.post(f"/hooks/{token}", data=body, content_type="application/json")
        where = f"depth {depth}: {response.status_code} {response.get_data(as_text=True)[:200]}"
        assert response.status_code in {200, 401, 400}, where
        assert response.is_json, where
        if response.status_code == 400:
            assert response.get_json()["error"]["message"], where
            assert shape == "bare" or depth > ALWAYS_PARSED, where
        else:
            assert shape != "bare", where
            assert response.status_code == (200 if secret == INBOX_SECRET else 401), where
            stored += 1
        # No traceback, and at most one warning, whatever the depth.
        assert all(record.exc_info is None for record in caplog.records), where
        assert "Traceback" not in caplog.text, where
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1, where

    rows = stored_bodies(app)
    assert len(rows) == stored
    for row in rows:
        assert INBOX_SECRET not in row.body and WRONG_SECRET not in row.body
        assert DEEP_SECRET not in row.body
        assert row.body_format == deliveries.RECEIVED  # laid out only when someone looks


@pytest.mark.parametrize("shape", ["objects", "arrays", "mixed"])
def test_a_body_too_deep_to_lay_out_is_kept_as_received_and_masked(receiver, caplog, shape):
    """600 levels parse (this depth used to be a 500); laid out the body would be hundreds of
    times its size. It is stored and verified as received, with every secret masked, and
    nothing tries to lay it out until someone looks at it."""
    app, token = receiver
    body = envelope_around(600, shape, INBOX_SECRET)
    caplog.set_level(logging.INFO)
    response = app.test_client().post(f"/hooks/{token}", data=body, content_type="application/json")
    assert response.status_code == 200
    [row] = stored_bodies(app)
    assert row.verified and row.body_format == deliveries.RECEIVED and not row.body_truncated
    assert row.body == body.replace(INBOX_SECRET, "[redacted]").replace(DEEP_SECRET, "[redacted]")
    assert row.body_size == len(body)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert deliveries.laid_out(row.body, row.body_size) is None  # the Inbox shows it as received


def test_the_inbox_says_why_a_body_is_shown_as_received(receiver, owner_id):
    app, token = receiver
    client = app.test_client()
    client.post(
        f"/hooks/{token}",
        data=envelope_around(600, "mixed", INBOX_SECRET),
        content_type="application/json",
    )
    [row] = stored_bodies(app)
    sign_in(client, owner_id)
    with app.app_context():
        app_id = db.session.get(Delivery, row.id).webhook_set.app_id
    response = client.get(f"/apps/{app_id}/inbox/{row.id}")
    assert response.status_code == 200
    words = " ".join(html.unescape(TAGS.sub(" ", response.get_data(as_text=True))).split())
    assert "Shown as received: too deeply nested to lay out. secret_key is masked." in words
    assert INBOX_SECRET not in words and DEEP_SECRET not in words


def test_a_failure_in_laying_out_never_costs_the_delivery(receiver, owner_id, monkeypatch):
    """Whatever goes wrong while making the display form, the delivery is kept, and shown as
    received."""
    app, token = receiver

    def broken(*args: object, **kwargs: object) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(deliveries, "_laid_out", broken)
    body = envelope_around(3, "objects", INBOX_SECRET)
    client = app.test_client()
    response = client.post(f"/hooks/{token}", data=body, content_type="application/json")
    assert response.status_code == 200
    [row] = stored_bodies(app)
    assert row.verified and row.body_format == deliveries.RECEIVED
    assert json.loads(row.body)["secret_key"] == "[redacted]"
    sign_in(client, owner_id)
    with app.app_context():
        app_id = db.session.get(Delivery, row.id).webhook_set.app_id
    page = client.get(f"/apps/{app_id}/inbox/{row.id}")
    assert page.status_code == 200
    assert "Shown as received: too deeply nested to lay out." in html.unescape(page.get_data(True))


def test_a_too_deep_body_is_refused_in_plain_words(receiver):
    app, token = receiver
    response = app.test_client().post(
        f"/hooks/{token}",
        data=envelope_around(5000, "arrays", INBOX_SECRET),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.get_json()["error"]["message"]
    assert stored_bodies(app) == []
