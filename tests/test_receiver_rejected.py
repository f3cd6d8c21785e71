"""Rejected deliveries are kept bounded: the first 4 KB, the size and a hash, and only so many a
minute per inbox. Verified deliveries are kept whole and never limited."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from consoleapp.extensions import db, limiter
from consoleapp.models import Delivery, DeliveryEvent, WebhookSet
from support import INBOX_SECRET, add_webhook_set, delivery_body, fold, sign_in, words

KEPT = 4096
TAGS = re.compile(r"<[^>]+>")


def big_body(size: int, secret: object = "wrong-secret-value", **fields: object) -> bytes:
    """A delivery of exactly ``size`` bytes: the payload carries the padding."""
    body = delivery_body(secret=secret, payload={"text": ""}, **fields)
    padding = size - len(json.dumps(body).encode())
    body["payload"] = {"text": "x" * padding}
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


def post(client, token: str, data: bytes):
    return client.post(f"/hooks/{token}", data=data, content_type="application/json")


def rows(app) -> list[Delivery]:
    with app.app_context():
        found = db.session.execute(db.select(Delivery).order_by(Delivery.id)).scalars().all()
        db.session.expunge_all()
        return list(found)


def stored_bytes(app) -> int:
    with app.app_context():
        total = db.session.execute(db.select(db.func.sum(db.func.length(Delivery.body))))
        return int(total.scalar_one() or 0)


def test_a_rejected_1mb_body_keeps_its_first_4kb_size_and_hash(app, client, inbox_set):
    _, token = inbox_set
    data = big_body(1024 * 1024)
    response = post(client, token, data)
    assert response.status_code == 401 and response.get_json() == {"error": "unauthorized"}
    [row] = rows(app)
    assert not row.verified and row.rejection == "wrong secret key"
    assert row.body_truncated and row.body_format == "received"
    assert len(row.body.encode("utf-8")) == KEPT
    assert row.body_size == 1024 * 1024
    masked = data.replace(b'"wrong-secret-value"', b'"[redacted]"')
    assert row.body == masked[:KEPT].decode()
    assert row.body_sha256 == hashlib.sha256(masked).hexdigest()
    assert "wrong-secret-value" not in row.body


def test_thirty_rejected_1mb_bodies_store_at_most_4kb_each(app_factory):
    """The finding: 30 rejected 1 MB bodies grew the database by 31 MB."""
    app = app_factory(ENVIRON={"REJECTED_PER_MINUTE": "100"})
    token = add_webhook_set(app)[1]
    client = app.test_client()
    for number in range(30):
        assert (
            post(client, token, big_body(1024 * 1024, webhook_id=f"w{number}")).status_code == 401
        )
    assert len(rows(app)) == 30
    assert stored_bytes(app) <= 30 * KEPT


@pytest.mark.parametrize(
    ("secret", "reason"),
    [(None, "no secret_key in the body"), (12345, "secret_key is not text")],
    ids=["missing", "not-text"],
)
def test_every_kind_of_rejection_is_bounded(app, client, inbox_set, secret, reason):
    _, token = inbox_set
    assert post(client, token, big_body(200_000, secret=secret)).status_code == 401
    [row] = rows(app)
    assert row.rejection == reason and row.body_truncated and row.body_size == 200_000
    assert len(row.body.encode("utf-8")) <= KEPT


def test_an_unreadable_saved_secret_is_bounded_too(app, client, inbox_set):
    with app.app_context():
        webhook_set = db.session.execute(db.select(WebhookSet)).scalar_one()
        webhook_set.uid = "0" * 32  # the ciphertext is bound to the old uid
        db.session.commit()
    assert post(client, inbox_set[1], big_body(100_000, secret=INBOX_SECRET)).status_code == 401
    [row] = rows(app)
    assert "cannot be read" in row.rejection and row.body_truncated
    assert INBOX_SECRET not in row.body


def test_a_small_rejected_body_is_kept_whole_to_be_laid_out(app, client, inbox_set):
    _, token = inbox_set
    data = json.dumps(delivery_body(secret="wrong")).encode()
    assert post(client, token, data).status_code == 401
    [row] = rows(app)
    assert not row.body_truncated and row.body_format == "received"
    assert json.loads(row.body) == {**json.loads(data), "secret_key": "[redacted]"}
    assert row.body_size == len(data)


def test_a_verified_1mb_body_is_kept_whole(app, client, inbox_set):
    _, token = inbox_set
    data = big_body(1024 * 1024, secret=INBOX_SECRET)
    assert post(client, token, data).status_code == 200
    [row] = rows(app)
    assert row.verified and not row.body_truncated and row.body_format == "received"
    assert json.loads(row.body) == {**json.loads(data), "secret_key": "[redacted]"}
    assert row.body_size == len(data)


def test_the_inbox_says_how_much_of_a_rejected_body_is_shown(app, client, inbox_set, owner_id):
    app_id, token = inbox_set
    post(client, token, big_body(1024 * 1024))
    sign_in(client, owner_id)
    [row] = rows(app)
    page = words(client.get(f"/apps/{app_id}/inbox/{row.id}"))
    assert "First 4 KB of 1,048,576 bytes shown, as received" in page
    assert "Body size 1,048,576 bytes" in page
    assert row.body_sha256 in page
    assert "wrong-secret-value" not in page


# -- the rate limit ------------------------------------------------------------------------


def test_rejected_deliveries_beyond_the_limit_get_429_and_are_not_stored(app_factory):
    app = app_factory(ENVIRON={"REJECTED_PER_MINUTE": "3"})
    token = add_webhook_set(app)[1]
    other = add_webhook_set(app, app_name="Other app")[1]
    client = app.test_client()
    wrong = json.dumps(delivery_body(secret="wrong")).encode()
    missing = json.dumps(delivery_body(secret=None)).encode()
    assert [post(client, token, wrong).status_code for _ in range(3)] == [401, 401, 401]
    for data in (wrong, missing):
        response = post(client, token, data)
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert "Check the secret key" in response.get_json()["error"]["message"]
    assert len(rows(app)) == 3

    # The right secret still gets through to the same inbox, and is stored.
    right = json.dumps(delivery_body()).encode()
    assert [post(client, token, right).status_code for _ in range(5)] == [200] * 5
    # Another inbox has a limit of its own.
    assert post(client, other, wrong).status_code == 401
    stored = rows(app)
    assert len(stored) == 3 + 5 + 1
    assert sum(row.verified for row in stored) == 5
    fold(app)
    with app.app_context():
        [event] = db.session.execute(db.select(DeliveryEvent)).scalars().all()
        assert event.times_received == 5


def test_the_count_is_kept_in_the_rate_limiter_storage(app_factory):
    """Flask-Limiter's storage (RATELIMIT_STORAGE_URI), so processes sharing Redis share it."""
    app = app_factory(ENVIRON={"REJECTED_PER_MINUTE": "1"})
    token = add_webhook_set(app)[1]
    client = app.test_client()
    wrong = json.dumps(delivery_body(secret="wrong")).encode()
    assert [post(client, token, wrong).status_code for _ in range(2)] == [401, 429]
    limiter.reset()
    assert post(client, token, wrong).status_code == 401


def test_a_broken_limiter_storage_still_keeps_the_delivery(app, client, inbox_set, monkeypatch):
    """If the storage (Redis) is down, the rejected delivery is kept (bounded), never a 500."""

    def down(*args: object, **kwargs: object) -> bool:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(limiter.limiter, "hit", down)
    wrong = json.dumps(delivery_body(secret="wrong")).encode()
    assert post(client, inbox_set[1], wrong).status_code == 401
    assert len(rows(app)) == 1


def test_the_limit_defaults_to_60_a_minute(app, client, inbox_set):
    _, token = inbox_set
    wrong = json.dumps(delivery_body(secret="wrong")).encode()
    statuses = [post(client, token, wrong).status_code for _ in range(61)]
    assert statuses == [401] * 60 + [429]
    assert len(rows(app)) == 60


@pytest.mark.parametrize("value", ["0", "-5", "many", "1.5", "²"])
def test_a_malformed_limit_refuses_to_start(app_factory, value):
    from consoleapp.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="REJECTED_PER_MINUTE must be a whole number"):
        app_factory(ENVIRON={"REJECTED_PER_MINUTE": value})
