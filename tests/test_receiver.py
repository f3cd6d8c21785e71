"""The console's webhook receiver: bad bodies, bad secrets, repeats, races and lost databases."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
from datetime import datetime

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from consoleapp.extensions import db
from consoleapp.models import Delivery
from consoleapp.services import group_commit, inbox, intake
from support import INBOX_SECRET, add_webhook_set, deliveries, delivery_body, events


def post(client, token: str, body: object, **kwargs):
    return client.post(f"/hooks/{token}", json=body, **kwargs)


@pytest.fixture
def token(inbox_set) -> str:
    return inbox_set[1]


def test_a_valid_delivery_is_stored_verified_and_acknowledged(app, client, token):
    body = delivery_body(requester={"user_id": "u", "account_id": "a", "client_id": "c"})
    response = post(client, token, body, headers={"User-Agent": "LiveChat-Webhooks"})
    assert response.status_code == 200
    assert response.is_json
    stored = deliveries(app)
    assert response.get_json() == {"status": "received", "delivery_id": stored[0].id}
    [delivery] = stored
    assert delivery.verified and delivery.rejection is None
    assert delivery.action == "incoming_event"
    assert delivery.livechat_webhook_id == "a0c22fdd1ed0b0fbbdd4cfd89a1e4ab3"
    assert delivery.headers["User-Agent"] == "LiveChat-Webhooks"
    assert INBOX_SECRET not in delivery.body and "[redacted]" in delivery.body
    assert json.loads(delivery.body)["requester"]["client_id"] == "c"
    [event] = events(app)
    assert event.times_received == 1 and delivery.event_id == event.id


def test_a_33_delivery_with_license_id_is_accepted(app, client, token):
    body = delivery_body(license_id=104130623)
    del body["organization_id"]
    assert post(client, token, body).status_code == 200


def test_credentials_in_headers_are_not_stored(app, client, token):
    post(client, token, delivery_body(), headers={"Authorization": "Bearer dal:abcdefgh123"})
    [delivery] = deliveries(app)
    assert delivery.headers["Authorization"] == "[redacted]"


def test_the_group_commit_stores_a_row_as_the_orm_would(app, client, token, inbox_set):
    """The committer sends its INSERT to the driver itself; each value went through its column
    type as SQLAlchemy would send it, so the row reads back the same and compares the same
    (on SQLite a timestamp is text, compared as text) as one the ORM stored."""
    assert post(client, token, delivery_body()).status_code == 200
    [received] = deliveries(app)
    with app.app_context():
        written = Delivery(
            webhook_set_id=inbox_set[0],
            received_at=received.received_at,
            action=received.action,
            headers=received.headers,
            body=received.body,
            verified=True,
        )
        db.session.add(written)
        db.session.commit()
        columns = "received_at, headers, verified, body_truncated"
        rows = db.session.execute(text(f"SELECT {columns} FROM deliveries ORDER BY id")).all()
        later = db.session.execute(
            db.select(Delivery.id).where(Delivery.received_at > received.received_at)
        ).all()
    assert rows[0] == rows[1]
    assert later == []
    assert isinstance(received.received_at, datetime) and received.headers["Content-Type"]


def test_a_delivery_row_with_other_columns_is_refused_before_it_waits():
    values = group_commit.Values(sqlite.dialect())
    row = dict.fromkeys(group_commit.COLUMNS)
    assert len(values(row)) == len(group_commit.COLUMNS)
    with pytest.raises(ValueError, match="columns"):
        values({**row, "event_id": 1})
    del row["folded"]
    with pytest.raises(ValueError, match="columns"):
        values(row)


# -- W4 ------------------------------------------------------------------------------------


def test_w4_csrf_does_not_apply_but_get_is_405(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    token = add_webhook_set(app)[1]
    client = app.test_client()
    assert post(client, token, delivery_body()).status_code == 200
    response = client.get(f"/hooks/{token}")
    assert response.status_code == 405
    assert response.is_json and response.get_json()["error"]["status"] == 405
    assert "POST" in response.headers["Allow"]
    assert len(deliveries(app)) == 1


def test_the_receiver_is_exempt_from_rate_limits(app_factory):
    app = app_factory(RATELIMIT_DEFAULT="5 per minute")
    token = add_webhook_set(app)[1]
    client = app.test_client()
    for _ in range(20):
        assert post(client, token, delivery_body()).status_code == 200
    # The default limit does apply elsewhere, so the exemption is what let these through.
    assert {client.get("/login").status_code for _ in range(6)} >= {429}


# -- unknown inboxes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/hooks/0123456789abcdef0123456789abcdef", "/hooks/x", "/hooks/" + "a" * 300, "/hooks/%00"],
)
def test_an_unknown_inbox_is_404_json(app, client, token, path):
    response = client.post(path, json=delivery_body())
    assert response.status_code == 404
    assert "No webhook set has this inbox address" in response.get_json()["error"]["message"]
    assert deliveries(app) == []


# -- W6 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "status", "message"),
    [
        (b"[1]", "application/json", 400, "must be a JSON object"),
        (b"{", "application/json", 400, "not valid JSON"),
        (b"x" * (2 * 1024 * 1024), "application/json", 413, "larger than 1 MB"),
        (json.dumps(delivery_body()).encode(), "text/plain", 415, "Content-Type: application/json"),
        (json.dumps(delivery_body()).encode(), None, 415, "Content-Type: application/json"),
        (b'{"secret_key": "' + INBOX_SECRET.encode() + b'"}', "application/json", 400, "no action"),
        (b"", "application/json", 400, "body is empty"),
        (b'{"action": "x' + b"y" * 80 + b'"}', "application/json", 400, "trigger name"),
    ],
    ids=["list", "truncated", "2MB", "text-plain", "no-content-type", "no-action", "empty", "long"],
)
def test_w6_bad_bodies_get_a_json_error_and_nothing_is_stored(
    app, client, token, data, content_type, status, message
):
    response = client.post(f"/hooks/{token}", data=data, content_type=content_type)
    assert response.status_code == status
    assert response.is_json
    assert message in response.get_json()["error"]["message"]
    assert deliveries(app) == []


def test_w6_json_with_a_charset_is_json(app, client, token):
    response = client.post(
        f"/hooks/{token}",
        data=json.dumps(delivery_body()),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 200


# -- K5 ------------------------------------------------------------------------------------

MISSING = object()


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("wrong-secret", "wrong secret key"),
        (MISSING, "no secret_key in the body"),
        (None, "no secret_key in the body"),
        (12345, "secret_key is not text"),
        ("ääää", "wrong secret key"),
        ("k" * 10_240, "wrong secret key"),
        ([INBOX_SECRET], "secret_key is not text"),
    ],
    ids=["wrong", "missing", "null", "int", "unicode", "10KB", "list"],
)
def test_k5_bad_secrets_are_401_and_kept_as_rejected(app, client, token, caplog, secret, reason):
    caplog.set_level(logging.DEBUG)
    body = delivery_body()
    if secret is MISSING:
        del body["secret_key"]
    else:
        body["secret_key"] = secret
    response = post(client, token, body)
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}
    [delivery] = deliveries(app)
    assert not delivery.verified and delivery.rejection == reason
    assert delivery.event_id is None and events(app) == []
    if isinstance(secret, str):
        assert secret not in delivery.body and secret not in caplog.text
        assert json.loads(delivery.body)["secret_key"] == "[redacted]"


def test_k5_a_set_without_a_secret_rejects_every_delivery(app, client):
    token = add_webhook_set(app, app_name="No secret yet", secret=None)[1]
    assert post(client, token, delivery_body()).status_code == 401
    [delivery] = deliveries(app)
    assert delivery.rejection == "this webhook set has no secret key yet"


def test_k5_an_unreadable_saved_secret_is_a_rejection_not_a_500(app, client, token):
    from consoleapp.models import WebhookSet

    with app.app_context():
        webhook_set = db.session.execute(db.select(WebhookSet)).scalar_one()
        webhook_set.uid = "0" * 32  # the ciphertext is bound to the old uid
        db.session.commit()
    assert post(client, token, delivery_body()).status_code == 401
    assert "cannot be read" in deliveries(app)[0].rejection


def test_k5_the_secret_of_another_set_is_wrong_here(app, client, token):
    other = add_webhook_set(app, app_name="Other app", secret="the-other-secret-1234")[1]
    assert post(client, other, delivery_body(secret=INBOX_SECRET)).status_code == 401
    assert post(client, token, delivery_body(secret="the-other-secret-1234")).status_code == 401


# -- R1, R3 --------------------------------------------------------------------------------


def test_r1_the_same_body_twice_is_two_deliveries_of_one_event(app, client, token):
    body = delivery_body()
    assert post(client, token, body).status_code == 200
    assert post(client, token, body).status_code == 200
    first, second = deliveries(app)
    [event] = events(app)
    assert first.event_id == second.event_id == event.id
    assert event.times_received == 2
    assert event.last_received_at >= event.first_received_at


def test_r1_a_rejected_repeat_does_not_count(app, client, token):
    post(client, token, delivery_body())
    post(client, token, delivery_body(secret="wrong"))
    [event] = events(app)
    assert event.times_received == 1 and len(deliveries(app)) == 2


def test_r3_two_bodies_with_the_same_webhook_id_are_two_events(app, client, token):
    first = delivery_body()
    second = delivery_body(payload={"chat_id": "OTHERCHAT", "event": {"id": "e2"}})
    assert first["webhook_id"] == second["webhook_id"]
    assert post(client, token, first).status_code == 200
    assert post(client, token, second).status_code == 200
    assert sorted(event.times_received for event in events(app)) == [1, 1]


def test_action_counts_for_the_test_checklist(app, client, inbox_set):
    app_id, token = inbox_set
    post(client, token, delivery_body())
    post(client, token, delivery_body())
    post(client, token, delivery_body(secret="wrong"))
    post(client, token, delivery_body(action="incoming_chat", secret="wrong"))
    with app.app_context():
        counts = inbox.action_counts(app_id)
    assert set(counts) == {"incoming_event", "incoming_chat"}
    assert (counts["incoming_event"].verified, counts["incoming_event"].rejected) == (2, 1)
    assert counts["incoming_event"].first_verified_at is not None
    assert (counts["incoming_chat"].verified, counts["incoming_chat"].rejected) == (0, 1)
    assert counts["incoming_chat"].first_verified_at is None


# -- R4 ------------------------------------------------------------------------------------


def test_r4_a_failed_insert_is_503_so_livechat_retries(app, client, token, monkeypatch):
    """The database refuses the group commit's INSERT (the disk is full, the file went away; here
    the driver, given one value too many): nothing of it is stored and the sender is told to try
    again. The next delivery is stored as usual."""
    flat = group_commit._flat
    monkeypatch.setattr(group_commit, "_flat", lambda batch: [*flat(batch), None])
    response = post(client, token, delivery_body())
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.is_json and "Send it again later" in response.get_json()["error"]["message"]
    assert deliveries(app) == [] and events(app) == []
    assert post(client, token, delivery_body()).status_code == 200
    assert len(deliveries(app)) == 1


def test_r4_an_unreachable_database_is_503_too(app, client, token, monkeypatch):
    def unreachable(_token: str) -> None:
        raise OperationalError("SELECT", {}, Exception("could not connect to server"))

    monkeypatch.setattr(intake, "_read_inbox", unreachable)
    response = post(client, token, delivery_body())
    assert response.status_code == 503 and response.is_json


def test_r4_a_read_only_sqlite_file_is_503(app_factory, database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("a read-only database file is a SQLite fault")
    writable = app_factory()
    token = add_webhook_set(writable)[1]
    app = app_factory(ENVIRON={"DATABASE_URL": f"{database_url}?mode=ro&uri=true"})
    response = post(app.test_client(), token, delivery_body())
    assert response.status_code in {200, 503}
    if response.status_code == 200:
        pytest.fail("a read-only database accepted a delivery")
    assert deliveries(writable) == []


# -- R5 ------------------------------------------------------------------------------------


def test_r5_the_ack_waits_for_nothing_but_the_commit(app, client, token):
    """There is no processing after a delivery is stored: the receiver stores, commits and
    answers. Nothing is queued or run per request after the answer, so nothing can slow it."""
    assert not app.after_request_funcs.get("receiver")
    assert not app.teardown_request_funcs.get("receiver")
    started = time.monotonic()
    assert post(client, token, delivery_body()).status_code == 200
    assert time.monotonic() - started < 1.0


# -- R2 ------------------------------------------------------------------------------------


def test_r2_twenty_identical_posts_at_once_are_all_stored(live_server_factory):
    """All 20 are stored: one event received 20 times, 20 deliveries. On SQLite they queue for
    the write lock (BEGIN IMMEDIATE, busy_timeout); on PostgreSQL the upsert serializes them."""
    server = live_server_factory()
    token = add_webhook_set(server.app)[1]
    body = json.dumps(delivery_body())
    start = threading.Barrier(20)
    statuses: list[int] = []

    def send() -> None:
        start.wait()
        response = requests.post(
            f"{server.url}/hooks/{token}",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 20
    [event] = events(server.app)
    assert event.times_received == 20
    assert len(deliveries(server.app)) == 20


def test_r2_no_lock_is_held_while_a_body_is_laid_out(app, client, token, monkeypatch):
    """Laying out a 1 MB body and hashing its payload take CPU time. Done inside the transaction,
    on SQLite that held the write lock on the whole database: 20 such deliveries at once kept
    each other waiting past busy_timeout, and 6 of them got 503. Now the dedupe key is made with
    no transaction open, and the body is not laid out at all until someone looks at it."""
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    seen: list[tuple[str, bool, bool]] = []
    real = json.JSONEncoder.iterencode

    def watched(encoder: json.JSONEncoder, value: object, *args: object, **kwargs: object):
        laid_out = encoder.indent is not None
        dedupe_key = encoder.sort_keys and not encoder.ensure_ascii
        if laid_out or dedupe_key:
            lock_free = True
            if sqlite:
                other = sqlite3.connect(path, timeout=0, isolation_level=None)
                try:
                    other.execute("BEGIN IMMEDIATE")
                    other.execute("ROLLBACK")
                except sqlite3.OperationalError:
                    lock_free = False
                finally:
                    other.close()
            kind = "laid out" if laid_out else "dedupe key"
            seen.append((kind, db.session().in_transaction(), lock_free))
        return real(encoder, value, *args, **kwargs)

    data = json.dumps(delivery_body(payload={"text": "x" * 1_000_000}))
    monkeypatch.setattr(json.JSONEncoder, "iterencode", watched)
    response = client.post(f"/hooks/{token}", data=data, content_type="application/json")
    monkeypatch.undo()
    assert response.status_code == 200
    assert {kind for kind, _, _ in seen} == {"dedupe key"}
    assert [(in_transaction, lock_free) for _, in_transaction, lock_free in seen] == [
        (False, True)
    ] * len(seen)


def test_r12_what_arrives_while_another_writer_has_its_turn_joins_one_commit(
    live_server_factory, database_url, monkeypatch
):
    """The committer takes its batch once the write gate is its own: deliveries that arrive
    while another process's writer has its turn wait together, and go in one INSERT."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer")
    server = live_server_factory(worker=False)
    token = add_webhook_set(server.app)[1]
    url = f"{server.url}/hooks/{token}"

    def send(number: int) -> requests.Response:
        body = delivery_body(payload={"chat_id": "C1", "event": {"id": f"e{number}"}})
        return requests.post(url, json=body, timeout=30)

    assert send(0).status_code == 200  # the secret is kept in the process, the committer runs
    committer = group_commit.committer(server.app)
    inserts: list[int] = []
    real = group_commit.sqlite_insert
    monkeypatch.setattr(
        group_commit, "sqlite_insert", lambda count: inserts.append(count) or real(count)
    )
    # Another process's writer has its turn: it holds the gate's lock file.
    other = os.open(f"{make_url(database_url).database}-writers.lock", os.O_RDWR)
    answers: list[requests.Response] = []
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        senders = [
            threading.Thread(target=lambda n=n: answers.append(send(n))) for n in range(1, 5)
        ]
        for sender in senders:
            sender.start()
        give_up = time.monotonic() + 10
        while len(committer._waiting) < 4 and time.monotonic() < give_up:
            time.sleep(0.01)
    finally:
        os.close(other)  # its turn ends
    for sender in senders:
        sender.join(timeout=30)
    assert [answer.status_code for answer in answers] == [200] * 4
    assert inserts == [4]
    # Each sender is told the id of its own delivery.
    stored = {
        delivery.id: json.loads(delivery.body)["payload"]["event"]["id"]
        for delivery in deliveries(server.app)
    }
    sent = {answer.json()["delivery_id"]: json.loads(answer.request.body) for answer in answers}
    assert {key: body["payload"]["event"]["id"] for key, body in sent.items()} == {
        key: stored[key] for key in sent
    }
    assert len(stored) == 5


def test_r12_while_deliveries_arrive_together_the_committer_gathers_them(
    live_server_factory, monkeypatch
):
    """Once a commit held more than one delivery, the committer waits a moment before it takes
    the next batch: deliveries sent a little apart share one INSERT instead of one each. A
    delivery that comes alone, after one alone, is committed at once."""
    server = live_server_factory(worker=False)
    token = add_webhook_set(server.app)[1]
    url = f"{server.url}/hooks/{token}"
    inserts: list[int] = []
    for name in ("sqlite_insert", "postgresql_insert"):
        real = getattr(group_commit, name)
        monkeypatch.setattr(
            group_commit, name, lambda count, real=real: inserts.append(count) or real(count)
        )

    def send(number: int) -> requests.Response:
        body = delivery_body(payload={"chat_id": "C1", "event": {"id": f"e{number}"}})
        return requests.post(url, json=body, timeout=30)

    assert send(0).status_code == 200
    assert send(1).status_code == 200
    assert inserts == [1, 1]  # one at a time: nothing to wait for

    committer = group_commit.committer(server.app)
    committer._grouping = True  # as after a commit of several
    monkeypatch.setattr(group_commit, "GATHER_SECONDS", 1.0)
    answers: list[requests.Response] = []
    senders = [threading.Thread(target=lambda n=n: answers.append(send(n))) for n in (2, 3, 4)]
    for sender in senders:
        sender.start()
        time.sleep(0.1)  # each a little after the one before, well within the wait
    for sender in senders:
        sender.join(timeout=30)
    assert [answer.status_code for answer in answers] == [200] * 3
    assert inserts == [1, 1, 3]
    assert len(deliveries(server.app)) == 5


def test_r4_a_database_locked_for_longer_than_a_sender_waits(live_server_factory, database_url):
    """Another process holds SQLite's write lock past the busy timeout: what arrives meanwhile
    is answered 503 (LiveChat sends it again), everything answered 200 is stored, and once the
    lock is gone deliveries are stored again."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    server = live_server_factory(worker=False)
    token = add_webhook_set(server.app)[1]
    url = f"{server.url}/hooks/{token}"

    def send(number: int) -> requests.Response:
        body = delivery_body(payload={"chat_id": "C1", "event": {"id": f"e{number}"}})
        return requests.post(url, json=body, timeout=30)

    assert send(0).status_code == 200  # the inbox's secret is now kept in the process
    holder = sqlite3.connect(make_url(database_url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    answers: list[tuple[int, int]] = []
    senders = [
        threading.Thread(target=lambda n=n: answers.append((n, send(n).status_code)))
        for n in range(1, 5)
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=30)
    holder.execute("ROLLBACK")
    holder.close()
    assert sorted(status for _, status in answers) == [503] * 4
    assert send(5).status_code == 200

    stored = [
        json.loads(delivery.body)["payload"]["event"]["id"] for delivery in deliveries(server.app)
    ]
    assert stored == ["e0", "e5"]
