"""The Inbox's chart of the last hour (from the counts kept per minute, never the deliveries
themselves) and its note on what is kept."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest
from flask import Flask

from consoleapp.extensions import db
from consoleapp.models import App, DeliveryMinute, Role, WebhookSet, utcnow
from consoleapp.services import folding, inbox
from consoleapp.web import inbox_chart
from query_plans import DELIVERIES_TABLE, plan, statements
from support import add_user, add_webhook_set, delivery_body, fold, sign_in, words

STRIP = re.compile(r'<svg class="chart-svg".*?</svg>', re.DOTALL)
TABLE_ROW = re.compile(r"<tr><td>(\d\d:\d\d)</td><td>([^<]+)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)")


def this_minute() -> datetime:
    return utcnow().replace(second=0, microsecond=0)


def count_minutes(app: Flask, token: str, *counts: tuple[int, str, int, int]) -> None:
    """(minutes ago, trigger, verified, rejected) rows, as folding leaves them."""
    with app.app_context():
        set_id = db.session.execute(
            db.select(WebhookSet.id).where(WebhookSet.inbox_token == token)
        ).scalar_one()
        now = this_minute()
        for ago, action, verified, rejected in counts:
            minute = now - timedelta(minutes=ago)
            db.session.add(
                DeliveryMinute(
                    webhook_set_id=set_id,
                    minute=minute,
                    action=action,
                    verified=verified,
                    rejected=rejected,
                )
            )
        db.session.commit()


def clock(ago: int) -> str:
    return (this_minute() - timedelta(minutes=ago)).strftime("%H:%M")


def test_the_chart_shows_each_trigger_per_minute_verified_and_rejected_apart(app, owner):
    app_id, token = add_webhook_set(app)
    count_minutes(
        app,
        token,
        (5, "incoming_chat", 3, 1),
        (2, "incoming_chat", 0, 2),
        (2, "incoming_event", 7, 0),
        (120, "incoming_event", 100, 100),  # two hours ago: not in the last hour
        (-3, "incoming_event", 50, 0),  # a clock ahead: not yet
    )
    _, other_token = add_webhook_set(app, app_name="Another app")
    count_minutes(app, other_token, (1, "incoming_chat", 40, 40))

    response = owner.get(f"/apps/{app_id}/inbox/")
    text = words(response)
    assert "Last hour" in text
    assert "10 verified and 3 rejected. The tallest bar is 7 in a minute." in text
    assert "Verified: above the line" in text and "Rejected: below the line" in text
    # A strip per trigger, named in plain words, in the catalogue's order.
    assert "A chat starts incoming_chat 3 verified · 3 rejected" in text
    assert "A message arrives incoming_event 7 verified · 0 rejected" in text
    assert text.index("A chat starts incoming_chat") < text.index("A message arrives")

    page = response.get_data(as_text=True)
    chat, message = STRIP.findall(page)
    assert 'role="img"' in chat and "<title id=" in chat
    assert (
        f"3 verified and 3 rejected in the last hour; the busiest minute, {clock(5)} UTC, had "
        "4 deliveries." in html.unescape(chat)
    )
    assert f"<title>{clock(5)} UTC: 3 verified</title>" in chat
    assert f"<title>{clock(5)} UTC: 1 rejected</title>" in chat
    assert f"<title>{clock(2)} UTC: 2 rejected</title>" in chat
    assert chat.count("chart-bar-verified") == 1 and chat.count("chart-bar-rejected") == 2
    # The tallest bar (7) reaches the top; rejected bars hang from the middle line.
    assert 'class="chart-bar chart-bar-verified" x="571" y="0" width="8" height="28"' in message
    assert re.search(r'chart-bar-rejected" x="\d+" y="28" ', chat)

    assert TABLE_ROW.findall(page) == [
        (clock(2), "A chat starts", "0", "2"),
        (clock(2), "A message arrives", "7", "0"),
        (clock(5), "A chat starts", "3", "1"),
    ]


def test_deliveries_received_and_folded_show_on_the_chart(app, owner):
    app_id, token = add_webhook_set(app)
    for action, secret in [
        ("incoming_chat", None),
        ("incoming_chat", "wrong"),
        ("thread_tagged", None),
    ]:
        body = (
            delivery_body(action=action)
            if secret is None
            else delivery_body(action=action, secret=secret)
        )
        owner.post(f"/hooks/{token}", json=body)
    fold(app)
    text = words(owner.get(f"/apps/{app_id}/inbox/"))
    assert "2 verified and 1 rejected." in text
    assert "A chat starts incoming_chat 1 verified · 1 rejected" in text
    assert "A chat is tagged thread_tagged 1 verified · 0 rejected" in text


def test_an_hour_without_deliveries_says_so(app, owner):
    app_id, token = add_webhook_set(app)
    count_minutes(app, token, (61, "incoming_chat", 5, 0))
    text = words(owner.get(f"/apps/{app_id}/inbox/"))
    assert "Last hour No deliveries in the last hour." in text
    assert "chart-svg" not in owner.get(f"/apps/{app_id}/inbox/").get_data(as_text=True)


def test_an_app_without_a_webhook_set_has_no_chart(app, owner):
    with app.app_context():
        item = App(name="Fresh")
        db.session.add(item)
        db.session.commit()
        app_id = item.id
    page = owner.get(f"/apps/{app_id}/inbox/").get_data(as_text=True)
    assert 'id="inbox-chart"' not in page and "No deliveries yet" in page


def test_the_chart_reads_only_the_counts_per_minute_by_their_key(app, owner):
    app_id, token = add_webhook_set(app)
    count_minutes(app, token, (5, "incoming_chat", 3, 1))
    with statements(app) as seen, app.app_context():
        traffic = inbox.traffic(app_id)
    assert [(count.action, count.verified, count.rejected) for count in traffic.counts] == [
        ("incoming_chat", 3, 1)
    ]
    assert seen and not any(DELIVERIES_TABLE.search(sql) for sql, _ in seen)
    (sql, params) = next((sql, params) for sql, params in seen if "delivery_minutes" in sql)
    lines = plan(app, sql, params)
    shown = "\n".join([sql, *lines])
    assert any(
        re.search(r"SEARCH delivery_minutes USING|Index (Only )?Scan .*delivery_minutes", line)
        for line in lines
    ), shown
    assert not any(
        re.search(r"\bSCAN delivery_minutes\b|Seq Scan on delivery_minutes", line) for line in lines
    ), shown


def test_the_chart_layout_from_known_counts():
    first = datetime(2030, 5, 6, 10, 1)
    traffic = inbox.Traffic(
        first,
        60,
        [
            inbox.MinuteCount(first, "unknown_trigger", 1, 0),
            inbox.MinuteCount(first + timedelta(minutes=59), "incoming_chat", 20, 5),
            inbox.MinuteCount(first + timedelta(minutes=30), "incoming_chat", 0, 0),
        ],
    )
    chart = inbox_chart.last_hour(traffic, {"incoming_chat": "A chat starts"})
    assert chart.span == "10:01–11:00 UTC"
    assert chart.ticks == ["10:01", "10:16", "10:31", "10:46", "now"]
    assert (chart.verified, chart.rejected, chart.tallest) == (21, 5, 20)
    known, unknown = chart.strips
    assert (known.title, unknown.title) == ("A chat starts", "unknown_trigger")
    assert [(bar.kind, bar.x, bar.y, bar.height) for bar in known.bars] == [
        ("verified", 591, 0, 28),
        ("rejected", 591, 28, 7.0),
    ]
    # One delivery against a tallest bar of 20 still shows.
    assert [(bar.kind, bar.x, bar.y, bar.height) for bar in unknown.bars] == [
        ("verified", 1, 26, 2)
    ]
    assert known.description == (
        "20 verified and 5 rejected in the last hour; the busiest minute, 11:00 UTC, had "
        "25 deliveries."
    )


@pytest.mark.parametrize(
    ("environ", "note"),
    [
        ({}, "Deliveries are kept for 7 days, at most 10,000 per inbox; older ones are removed."),
        (
            {"DELIVERY_RETENTION_DAYS": "1", "INBOX_MAX_DELIVERIES": "2500"},
            "Deliveries are kept for 1 day, at most 2,500 per inbox; older ones are removed.",
        ),
        (
            {"DELIVERY_RETENTION_DAYS": "30", "INBOX_MAX_DELIVERIES": "1"},
            "Deliveries are kept for 30 days, at most 1 per inbox; older ones are removed.",
        ),
    ],
)
def test_the_inbox_says_what_is_kept_from_the_settings(app_factory, environ, note):
    app = app_factory(ENVIRON=environ)
    app_id, _ = add_webhook_set(app)
    client = app.test_client()
    sign_in(client, add_user(app, "owner@example.com", Role.OWNER))
    assert note in words(client.get(f"/apps/{app_id}/inbox/"))


def test_the_numbers_go_newest_first_across_midnight():
    first = datetime(2030, 5, 6, 23, 30)
    traffic = inbox.Traffic(
        first,
        60,
        [
            inbox.MinuteCount(first + timedelta(minutes=10), "incoming_chat", 1, 0),
            inbox.MinuteCount(first + timedelta(minutes=40), "incoming_chat", 2, 0),
            inbox.MinuteCount(first + timedelta(minutes=40), "incoming_event", 3, 0),
        ],
    )
    titles = {"incoming_chat": "A chat starts", "incoming_event": "A message arrives"}
    chart = inbox_chart.last_hour(traffic, titles)
    assert [(row.minute, row.title) for row in chart.rows] == [
        ("00:10", "A chat starts"),
        ("00:10", "A message arrives"),
        ("23:40", "A chat starts"),
    ]
    assert chart.span == "23:30–00:29 UTC"


def test_folding_finds_what_is_left_in_its_partial_index(app, owner):
    """What is left to fold is a seek in the small index of unfolded rows, however many
    deliveries are kept: folding holds the write lock, which the receiver waits for."""
    app_id, token = add_webhook_set(app)
    owner.post(f"/hooks/{token}", json=delivery_body())
    with statements(app) as seen, app.app_context():
        assert folding.fold_all() == 1
    (sql, params) = next((sql, params) for sql, params in seen if "ORDER BY" in sql)
    lines = plan(app, sql, params)
    shown = "\n".join([sql, *lines])
    assert any("ix_deliveries_unfolded" in line for line in lines), shown


def test_folding_leaves_what_arrives_meanwhile_to_the_next_task(app, owner, monkeypatch):
    """Under a steady stream a folding task folds what was stored when it began, in batches,
    and leaves the rest to the next one (each commit queues one), instead of chasing every new
    delivery in a loop of tiny transactions."""
    app_id, token = add_webhook_set(app)
    for _ in range(3):
        owner.post(f"/hooks/{token}", json=delivery_body())
    fold_batch, arriving = folding.fold_batch, [1]

    def while_folding(*args, **kwargs):
        if arriving:  # one arrives during the task
            arriving.pop()
            owner.post(f"/hooks/{token}", json=delivery_body())
        return fold_batch(*args, **kwargs)

    monkeypatch.setattr(folding, "fold_batch", while_folding)
    with app.app_context():
        assert folding.fold_all() == 3
    monkeypatch.setattr(folding, "fold_batch", fold_batch)
    with app.app_context():
        assert folding.fold_all() == 1  # the next task folds the one that came meanwhile
        assert folding.fold_all() == 0
