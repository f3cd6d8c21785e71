"""Install & test's status and the Overview cost the same at any number of deliveries, and the
page's poll is answered 304 while nothing the checklist shows has changed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import event, insert

from checklist_support import SET_SECRET, deliver, rows_of, seed_app
from consoleapp.extensions import db
from consoleapp.models import (
    App,
    Delivery,
    Installation,
    RegisteredWebhook,
    TriggerTest,
    WebhookSet,
    utcnow,
)
from consoleapp.services import checklist, trigger_arrivals
from query_plans import bounded_reads, plan, statements
from support import delivery_body


@dataclass
class Work:
    """How much the database did for what ran inside ``measured``: SQLite's virtual machine
    steps (in hundreds), or PostgreSQL's rows read from ``deliveries`` (EXPLAIN ANALYZE)."""

    steps: int = 0
    statements: list[tuple[str, object]] = field(default_factory=list)

    def rows_read(self, connection) -> int:
        total = 0
        for statement, parameters in self.statements:
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
            ).scalar_one()
            total += _rows_of_deliveries(plan[0]["Plan"] if isinstance(plan, list) else plan)
        return total


def _rows_of_deliveries(node: dict) -> int:
    own = 0
    if node.get("Relation Name") == "deliveries":
        own = node["Actual Rows"] * node["Actual Loops"] + node.get("Rows Removed by Filter", 0)
    return own + sum(_rows_of_deliveries(child) for child in node.get("Plans", []))


@contextmanager
def measured(app) -> Iterator[Work]:
    work = Work()
    with app.app_context():
        engine = db.engine
    sqlite = engine.dialect.name == "sqlite"

    def step() -> int:
        work.steps += 1
        return 0

    # Kept on until the end: rows are fetched after the statement's execute returns.
    watched: set = set()

    def before(connection, cursor, statement, parameters, context, executemany) -> None:
        if sqlite:
            cursor.connection.set_progress_handler(step, 100)
            watched.add(cursor.connection)
        if "deliveries" in statement and statement.lstrip().upper().startswith("SELECT"):
            work.statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield work
    finally:
        event.remove(engine, "before_cursor_execute", before)
        for connection in watched:
            connection.set_progress_handler(None, 100)


def cost(app, request: Callable[[], object]) -> int:
    with measured(app) as work:
        request()
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            return work.steps
        with db.engine.connect() as connection:
            return work.rows_read(connection)


def add_deliveries(app, app_id: int, count: int) -> None:
    """``count`` deliveries of both triggers after registration, verified and rejected."""
    with app.app_context():
        set_id = db.session.execute(
            db.select(WebhookSet.id).where(WebhookSet.app_id == app_id)
        ).scalar_one()
        start = utcnow() - timedelta(minutes=5)
        rows = [
            {
                "webhook_set_id": set_id,
                "action": ("incoming_chat", "chat_deactivated")[number % 2],
                "received_at": start + timedelta(milliseconds=number),
                "verified": number % 3 != 0,
                "rejection": None if number % 3 else "wrong secret key",
                "headers": {},
                "body": "{}",
            }
            for number in range(count)
        ]
        db.session.execute(insert(Delivery), rows)
        db.session.commit()


# -- the cost does not grow with the deliveries ------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/apps/{app_id}/test/status", "/apps/{app_id}", "/apps/{app_id}/test/"]
)
def test_the_checklist_reads_as_much_at_2000_deliveries_as_at_20(app, owner, path):
    app_id = seed_app(app, installed={"webhooks_enabled": True})
    url = path.format(app_id=app_id)
    add_deliveries(app, app_id, 20)
    assert owner.get(url).status_code == 200  # warm: compiled statements, loaded templates
    few = cost(app, lambda: owner.get(url))
    add_deliveries(app, app_id, 2000)
    many = cost(app, lambda: owner.get(url))
    # Reading every delivery once would add at least one unit per delivery.
    print(f"{path}: {few} -> {many}")
    assert many - few < 100, (few, many)
    assert rows_of(owner, app_id)["trigger:incoming_chat"][:2] == ("ok", "verified")


def test_every_statement_on_deliveries_is_an_index_seek(app, owner):
    app_id = seed_app(app, installed={"webhooks_enabled": True})
    add_deliveries(app, app_id, 500)
    with app.app_context():
        sets = list(db.session.execute(db.select(WebhookSet.id)).scalars())
        since = {"incoming_chat": utcnow() - timedelta(hours=1), "chat_deactivated": None}
        with measured(app) as work:
            seen = trigger_arrivals.arrived(sets, since)
            trigger_arrivals.checklist_version(app_id)
        assert len(work.statements) == 2
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            for statement, parameters in work.statements:
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                steps = [row[3] for row in plan if "deliveries" in row[3]]
                assert steps and all(" USING " in step for step in steps), steps
                assert not [step for step in steps if step.startswith("SCAN")], steps
        else:
            # A row per seek, the oldest of the set, and the newest few.
            assert work.rows_read(connection) <= 4 + 1 + trigger_arrivals.NEWEST_SEEN
    assert seen["incoming_chat"].first_verified_at is not None
    assert seen["incoming_chat"].last_rejection == "wrong secret key"
    assert seen["chat_deactivated"].first_verified_at is not None


def test_the_latest_start_of_each_trigger_is_an_index_seek(app, owner):
    app_id = seed_app(app, installed={"webhooks_enabled": True})
    start = utcnow() - timedelta(hours=1)
    with app.app_context():
        other = App(name="Other")
        db.session.add(other)
        db.session.flush()
        other_id = other.id
        db.session.execute(
            insert(TriggerTest),
            [
                {
                    "app_id": (app_id, other_id)[number % 2],
                    "action": ("incoming_chat", "chat_deactivated", "chat_transferred")[number % 3],
                    "scenario": "start_chat",
                    "started_at": start + timedelta(seconds=number),
                }
                for number in range(300)
            ],
        )
        db.session.commit()
    with statements(app) as seen, app.app_context():
        starts = checklist.started_tests(app_id, ["incoming_chat", "chat_deactivated", "x"])
        trigger_arrivals.checklist_version(app_id)
    # The app's latest: 294 (incoming_chat) and 298 (chat_deactivated); none of "x".
    assert starts == {
        "incoming_chat": start + timedelta(seconds=294),
        "chat_deactivated": start + timedelta(seconds=298),
    }
    reads = [(sql, parameters) for sql, parameters in seen if "trigger_tests" in sql]
    assert len(reads) == 2
    for sql, parameters in reads:
        lines = plan(app, sql, parameters)
        with app.app_context():
            sqlite = db.engine.dialect.name == "sqlite"
        if sqlite:
            steps = [line for line in lines if "trigger_tests" in line]
            assert steps and all(" USING " in step for step in steps), steps
            assert not [step for step in steps if step.startswith("SCAN")], steps
        else:
            assert bounded_reads(lines, "trigger_tests") == [], lines


# -- the poll: 304 while nothing changed -----------------------------------------------------


def poll(client, app_id: int, version: str | None = None, **headers: str):
    if version is not None:
        headers["If-None-Match"] = version
    return client.get(f"/apps/{app_id}/test/status", headers=headers)


def test_an_unchanged_checklist_is_304_and_a_new_delivery_is_200(app, owner):
    app_id = seed_app(app, installed={"webhooks_enabled": True})
    first = poll(owner, app_id)
    assert first.status_code == 200 and first.headers["ETag"].startswith('"')
    again = poll(owner, app_id, first.headers["ETag"])
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Cache-Control"] == "no-store"

    # Through the receiver, and not folded yet: the row turns green on the next poll.
    with app.app_context():
        token = db.session.execute(db.select(WebhookSet.inbox_token)).scalar_one()
    stored = owner.post(f"/hooks/{token}", json=delivery_body("incoming_chat", SET_SECRET))
    assert stored.status_code == 200
    with app.app_context():
        assert db.session.execute(db.select(Delivery.folded)).scalar_one() is False
    changed = poll(owner, app_id, first.headers["ETag"])
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]
    row = {item["key"]: item for item in changed.json["rows"]}["trigger:incoming_chat"]
    assert (row["pill"], row["label"]) == ("ok", "verified")
    assert poll(owner, app_id, changed.headers["ETag"]).status_code == 304


def _install(app, app_id: int) -> None:
    with app.app_context():
        db.session.add(Installation(app_id=app_id, organization_id="org-2"))
        db.session.commit()


def _unregister(app, app_id: int) -> None:
    with app.app_context():
        row = db.session.execute(db.select(RegisteredWebhook).limit(1)).scalar_one()
        row.state = "failed"
        db.session.commit()


def _test_started(app, app_id: int) -> None:
    with app.app_context():
        db.session.add(TriggerTest(app_id=app_id, action="incoming_chat", scenario="start_chat"))
        db.session.commit()


def _rejected(app, app_id: int) -> None:
    deliver(app, app_id, "chat_deactivated", timedelta(seconds=1), rejection="wrong secret key")


def _late_commit(app, app_id: int) -> None:
    """A delivery whose id is below one already there (on PostgreSQL, a commit that lost
    the race with a later one)."""
    with app.app_context():
        set_id = db.session.execute(db.select(WebhookSet.id)).scalar_one()
        newest = db.session.execute(db.select(db.func.max(Delivery.id))).scalar_one()
        db.session.execute(
            insert(Delivery).values(
                id=newest - 5,
                webhook_set_id=set_id,
                action="chat_deactivated",
                received_at=utcnow(),
                verified=True,
                headers={},
                body="{}",
            )
        )
        db.session.commit()


def _oldest_removed(app, app_id: int) -> None:
    with app.app_context():
        oldest = db.session.execute(db.select(db.func.min(Delivery.id))).scalar_one()
        db.session.execute(db.delete(Delivery).where(Delivery.id == oldest))
        db.session.commit()


@pytest.mark.parametrize(
    "change",
    [_install, _unregister, _test_started, _rejected, _late_commit, _oldest_removed],
)
def test_whatever_the_checklist_shows_changes_the_version(app, owner, change):
    app_id = seed_app(app)
    add_deliveries(app, app_id, 3)
    with app.app_context():
        # Room below the newest id for a late commit.
        db.session.execute(
            insert(Delivery).values(
                id=100,
                webhook_set_id=db.session.execute(db.select(WebhookSet.id)).scalar_one(),
                action="other",
                received_at=utcnow(),
                verified=True,
                headers={},
                body="{}",
            )
        )
        db.session.commit()
    before = poll(owner, app_id)
    change(app, app_id)
    after = poll(owner, app_id, before.headers["ETag"])
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_304_does_not_work_the_checklist_out(app, owner, monkeypatch):
    app_id = seed_app(app)
    version = poll(owner, app_id).headers["ETag"]

    def not_now(*args: object) -> None:
        raise AssertionError("the checklist was worked out for a 304")

    monkeypatch.setattr(checklist, "for_app", not_now)
    assert poll(owner, app_id, version).status_code == 304


def test_the_page_holds_the_version_its_first_poll_sends(app, owner):
    app_id = seed_app(app)
    page = owner.get(f"/apps/{app_id}/test/").get_data(as_text=True)
    version = poll(owner, app_id).headers["ETag"]
    assert f'data-status-version="&#34;{version.strip(chr(34))}&#34;"' in page
    assert 'data-poll-seconds="1"' in page
    assert poll(owner, app_id, version).status_code == 304


@pytest.mark.parametrize(
    "sent",
    [
        "garbage",
        '"',
        "W/",
        '"unterminated',
        ', , W/"x", ,',
        '"' + "a" * 10_000 + '"',
        "\u00e9t\u00e9",
        "",
    ],
)
def test_a_garbage_if_none_match_is_a_normal_answer(app, owner, sent):
    app_id = seed_app(app)
    answer = poll(owner, app_id, sent)
    assert answer.status_code == 200
    assert json.loads(answer.get_data())["total"] == 6


def test_the_status_of_a_missing_app_is_404_and_signed_out_is_401(app, owner):
    app_id = seed_app(app)
    version = poll(owner, app_id).headers["ETag"]
    assert poll(owner, app_id + 1, version).status_code == 404
    answer = poll(app.test_client(), app_id, version)
    assert answer.status_code == 401 and answer.is_json
