"""The Inbox pages: every delivery newest first, filters, details with the secret masked."""

from __future__ import annotations

import html
import json
import re

import pytest

from consoleapp.extensions import db
from consoleapp.models import Delivery, Role
from support import INBOX_SECRET, add_user, add_webhook_set, delivery_body, fold, sign_in

ROW = re.compile(r'<tr data-delivery-id="\d+" data-event-id="[^"]*">(.*?)</tr>', re.DOTALL)
TAGS = re.compile(r"<[^>]+>")


def visible_rows(response) -> list[str]:
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return [" ".join(html.unescape(TAGS.sub(" ", row)).split()) for row in ROW.findall(page)]


def text(response) -> str:
    return " ".join(html.unescape(TAGS.sub(" ", response.get_data(as_text=True))).split())


def deliver(client, token: str, **kwargs: object) -> int:
    """POST a delivery, then fold it in as the worker does once it is stored."""
    body = delivery_body(**kwargs)
    status = client.post(f"/hooks/{token}", json=body).status_code
    fold(client.application)
    return status


def test_the_inbox_needs_a_signed_in_person(app, client, owner_id, inbox_set):
    app_id, _ = inbox_set
    response = client.get(f"/apps/{app_id}/inbox/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # The feed the page's script polls says so in JSON, so the script can stop and tell.
    response = client.get(f"/apps/{app_id}/inbox/feed?after=0")
    assert response.status_code == 401 and response.is_json


def test_deliveries_are_listed_newest_first_with_worded_pills(app, owner, inbox_set):
    app_id, token = inbox_set
    deliver(owner, token, action="incoming_chat")
    deliver(owner, token, action="incoming_event", secret="wrong")
    deliver(owner, token, action="chat_deactivated")
    rows = visible_rows(owner.get(f"/apps/{app_id}/inbox/"))
    assert len(rows) == 3
    assert "chat_deactivated verified" in rows[0]
    assert "incoming_event rejected: wrong secret key" in rows[1]
    assert "incoming_chat verified" in rows[2]
    page = owner.get(f"/apps/{app_id}/inbox/").get_data(as_text=True)
    assert '<span class="pill pill-ok">verified</span>' in page
    assert '<span class="pill pill-bad">rejected: wrong secret key</span>' in page
    assert INBOX_SECRET not in page


def test_a_viewer_sees_the_inbox_too(app, client, inbox_set):
    app_id, token = inbox_set
    deliver(client, token)
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    assert len(visible_rows(client.get(f"/apps/{app_id}/inbox/"))) == 1


def test_r1_a_repeated_event_shows_received_2x(app, owner, inbox_set):
    app_id, token = inbox_set
    deliver(owner, token)
    deliver(owner, token)
    rows = visible_rows(owner.get(f"/apps/{app_id}/inbox/"))
    assert len(rows) == 2
    assert all(row.endswith("received 2×") for row in rows)
    with owner.application.app_context():
        newest = db.session.execute(db.select(db.func.max(Delivery.id))).scalar_one()
    detail = text(owner.get(f"/apps/{app_id}/inbox/{newest}"))
    assert "This event received 2×" in detail


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=incoming_chat", ["incoming_chat verified"]),
        ("status=verified", ["incoming_chat verified", "incoming_event verified"]),
        ("status=rejected", ["incoming_event rejected"]),
        ("action=incoming_event&status=rejected", ["incoming_event rejected"]),
        ("action=nothing_like_this", []),
        ("status=bogus", ["incoming_chat", "incoming_event rejected", "incoming_event verified"]),
    ],
)
def test_filter_by_trigger_and_by_verified_or_rejected(app, owner, inbox_set, query, expected):
    app_id, token = inbox_set
    deliver(owner, token, action="incoming_event")
    deliver(owner, token, action="incoming_event", secret="nope")
    deliver(owner, token, action="incoming_chat")
    rows = visible_rows(owner.get(f"/apps/{app_id}/inbox/?{query}"))
    assert len(rows) == len(expected)
    for row, words in zip(rows, expected, strict=True):
        assert words in row


def test_the_filter_offers_the_triggers_received(app, owner, inbox_set):
    app_id, token = inbox_set
    deliver(owner, token, action="incoming_chat")
    deliver(owner, token, action="incoming_event")
    page = owner.get(f"/apps/{app_id}/inbox/?action=incoming_chat").get_data(as_text=True)
    assert '<option value="incoming_chat" selected>' in page
    assert '<option value="incoming_event" >' in page
    assert "Clear filter" in page


def test_a_filter_that_matches_nothing_says_so(app, owner, inbox_set):
    app_id, token = inbox_set
    deliver(owner, token)
    page = text(owner.get(f"/apps/{app_id}/inbox/?status=rejected"))
    assert "No deliveries match this filter" in page and "Clear the filter" in page


def test_a_delivery_opens_to_headers_and_a_pretty_masked_body(app, owner, inbox_set):
    app_id, token = inbox_set
    owner.post(
        f"/hooks/{token}",
        json=delivery_body(payload={"chat": {"id": "PJ0", "secret_key": "nested-secret"}}),
        headers={"User-Agent": "LiveChat-Webhooks/3.6", "X-Request-Id": "req-42"},
    )
    with app.app_context():
        delivery_id = db.session.execute(db.select(Delivery.id)).scalar_one()
    response = owner.get(f"/apps/{app_id}/inbox/{delivery_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert INBOX_SECRET not in page and "nested-secret" not in page
    assert "LiveChat-Webhooks/3.6" in page and "req-42" in page
    assert "&#34;secret_key&#34;: &#34;[redacted]&#34;" in page
    assert "\n  &#34;action&#34;: &#34;incoming_event&#34;," in page
    assert "a0c22fdd1ed0b0fbbdd4cfd89a1e4ab3" in page
    words = text(response)
    assert "Verified: the secret key matched." in words


def test_a_rejected_delivery_says_why(app, owner, inbox_set):
    app_id, token = inbox_set
    owner.post(f"/hooks/{token}", json=delivery_body(secret=12345))
    with app.app_context():
        delivery_id = db.session.execute(db.select(Delivery.id)).scalar_one()
    words = text(owner.get(f"/apps/{app_id}/inbox/{delivery_id}"))
    assert "rejected: secret_key is not text" in words
    assert "The receiver answered 401." in words


def test_a_delivery_of_another_app_is_not_found_here(app, owner, inbox_set):
    app_id, token = inbox_set
    other_app_id, other_token = add_webhook_set(app, app_name="Other")
    deliver(owner, other_token)
    with app.app_context():
        delivery_id = db.session.execute(db.select(Delivery.id)).scalar_one()
    assert owner.get(f"/apps/{other_app_id}/inbox/{delivery_id}").status_code == 200
    assert owner.get(f"/apps/{app_id}/inbox/{delivery_id}").status_code == 404
    assert owner.get(f"/apps/{app_id}/inbox/").status_code == 200
    assert visible_rows(owner.get(f"/apps/{app_id}/inbox/")) == []
    assert owner.get(f"/apps/{app_id}/inbox/feed?after=0").get_json() == {
        "deliveries": [],
        "cursor": 0,
    }


def test_markup_in_a_delivery_is_shown_as_text(app, owner, inbox_set):
    app_id, token = inbox_set
    deliver(owner, token, action="<script>alert(1)</script>", payload={"x": "<img src=x>"})
    page = owner.get(f"/apps/{app_id}/inbox/").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    with app.app_context():
        delivery_id = db.session.execute(db.select(Delivery.id)).scalar_one()
    detail = owner.get(f"/apps/{app_id}/inbox/{delivery_id}").get_data(as_text=True)
    assert "<img src=x>" not in detail


# -- empty states --------------------------------------------------------------------------


def test_empty_inbox_without_a_webhook_set_points_to_the_webhooks_tab(app, owner):
    from consoleapp.models import App

    with app.app_context():
        item = App(name="Fresh")
        db.session.add(item)
        db.session.commit()
        app_id = item.id
    words = text(owner.get(f"/apps/{app_id}/inbox/"))
    assert "No deliveries yet" in words
    assert "This app has no webhook set yet. On the Webhooks tab" in words


def test_empty_inbox_with_a_set_shows_the_address_to_give_livechat(app, owner, inbox_set):
    app_id, token = inbox_set
    page = owner.get(f"/apps/{app_id}/inbox/").get_data(as_text=True)
    address = f"{app.config['PUBLIC_URL']}/hooks/{token}"
    assert f'data-copy="{address}"' in page
    assert "No deliveries yet" in page and "Install &amp; test" in page


def test_the_app_tabs_link_to_the_inbox(app, owner, inbox_set):
    app_id, _ = inbox_set
    page = owner.get(f"/apps/{app_id}").get_data(as_text=True)
    assert f'href="/apps/{app_id}/inbox/"' in page
    inbox_page = owner.get(f"/apps/{app_id}/inbox/").get_data(as_text=True)
    assert f'href="/apps/{app_id}/inbox/" aria-current="page">Inbox</a>' in inbox_page


def test_the_side_menu_marks_apps_on_every_page_of_an_app(app, owner, inbox_set):
    app_id, _ = inbox_set
    listing = owner.get("/apps/").get_data(as_text=True)
    assert 'href="/apps/" aria-current="page">Apps</a>' in listing
    for path in [f"/apps/{app_id}", f"/apps/{app_id}/inbox/", f"/apps/{app_id}/test/"]:
        page = owner.get(path, follow_redirects=True).get_data(as_text=True)
        assert 'href="/apps/" aria-current="true">Apps</a>' in page, path
    team = owner.get("/team/").get_data(as_text=True)
    assert 'href="/apps/" >Apps</a>' in team


# -- live updates --------------------------------------------------------------------------


def test_the_feed_lists_only_newer_deliveries_with_the_filter(app, owner, inbox_set):
    app_id, token = inbox_set
    deliver(owner, token, action="incoming_chat")
    deliver(owner, token, action="incoming_event", secret="bad")
    response = owner.get(f"/apps/{app_id}/inbox/feed?after=0")
    assert response.status_code == 200 and response.is_json
    assert response.headers["Cache-Control"] == "no-store"
    listed = response.get_json()["deliveries"]
    assert [item["action"] for item in listed] == ["incoming_event", "incoming_chat"]
    assert listed[0]["status"] == "rejected: wrong secret key" and not listed[0]["verified"]
    assert listed[1]["status"] == "verified" and listed[1]["times_received"] == 1
    assert listed[1]["url"] == f"/apps/{app_id}/inbox/{listed[1]['id']}"
    newest = listed[0]["id"]
    assert response.get_json()["cursor"] == newest
    nothing = owner.get(f"/apps/{app_id}/inbox/feed?after={newest}").get_json()
    assert nothing == {"deliveries": [], "cursor": newest}
    deliver(owner, token, action="incoming_chat")
    newer = owner.get(f"/apps/{app_id}/inbox/feed?after={newest}&status=verified").get_json()
    assert [(item["action"], item["times_received"]) for item in newer["deliveries"]] == [
        ("incoming_chat", 2)
    ]
    assert json.dumps(newer).count(INBOX_SECRET) == 0


def test_the_page_tells_its_script_where_to_poll(app, owner, inbox_set):
    app_id, token = inbox_set
    deliver(owner, token)
    deliver(owner, token, payload={"n": 2})
    page = owner.get(f"/apps/{app_id}/inbox/?status=verified").get_data(as_text=True)
    assert f'data-feed-url="/apps/{app_id}/inbox/feed?status=verified"' in page
    assert 'data-live="on"' in page and 'data-cursor="2"' in page
    assert '<script src="/static/js/inbox.js" defer></script>' in page
    # A page of older deliveries does not grow at its top.
    older = owner.get(f"/apps/{app_id}/inbox/?before=2").get_data(as_text=True)
    assert 'data-live="off"' in older
