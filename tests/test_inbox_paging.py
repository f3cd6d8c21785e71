"""The Inbox a page at a time, by cursor: Older and Newer links, filters kept, bad cursors, and the
live feed that answers "nothing new" cheaply. Pages must cost what they show: no count of the
deliveries, and every read of them an index seek (checked with the databases' own plans)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from flask import Flask

from consoleapp.extensions import db
from consoleapp.models import Delivery, WebhookSet
from consoleapp.services import inbox
from query_plans import DELIVERIES_TABLE, bounded_reads, plan, statements
from support import add_webhook_set, delivery_body, fold, words

ROW_ID = re.compile(r'<tr data-delivery-id="(\d+)"')
OLDER = re.compile(r'<a [^>]*rel="next" id="inbox-older" href="([^"]+)"( hidden)?>')
NEWER = re.compile(r'<a [^>]*rel="prev" href="([^"]+)">← Newer</a>')
BAD_LINK = "That page link is not valid, so the newest deliveries are shown."
ACTIONS = ("incoming_chat", "incoming_event", "chat_deactivated")


def store(app: Flask, token: str, count: int) -> list[tuple[int, str, bool]]:
    """``count`` deliveries to the set with this inbox token, as the receiver and folding leave
    them: triggers in turn, every fourth rejected. Their (id, action, verified), oldest first."""
    with app.app_context():
        set_id = db.session.execute(
            db.select(WebhookSet.id).where(WebhookSet.inbox_token == token)
        ).scalar_one()
        rows = [
            Delivery(
                webhook_set_id=set_id,
                action=ACTIONS[number % 3],
                verified=number % 4 != 0,
                rejection=None if number % 4 else "wrong secret key",
                body="{}",
                folded=True,
            )
            for number in range(count)
        ]
        db.session.add_all(rows)
        db.session.commit()
        return [(row.id, row.action, row.verified) for row in rows]


def ids_on(response) -> list[int]:
    assert response.status_code == 200
    return [int(found) for found in ROW_ID.findall(response.get_data(as_text=True))]


def older_link(response) -> str | None:
    found = OLDER.search(response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found and not found.group(2) else None


def newer_link(response) -> str | None:
    found = NEWER.search(response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("", lambda action, verified: True),
        ("?status=rejected", lambda action, verified: not verified),
        ("?action=incoming_chat", lambda action, verified: action == "incoming_chat"),
        (
            "?action=incoming_event&status=verified",
            lambda action, verified: action == "incoming_event" and verified,
        ),
    ],
)
def test_older_and_newer_walk_every_delivery_once_with_the_filter(
    app, owner, query: str, keep: Callable[[str, bool], bool]
):
    app_id, token = add_webhook_set(app)
    stored = store(app, token, 160)
    expected = [id_ for id_, action, verified in reversed(stored) if keep(action, verified)]

    pages, url = [], f"/apps/{app_id}/inbox/{query}"
    while url:
        response = owner.get(url)
        pages.append(ids_on(response))
        last_url, url = url, older_link(response)
        if url and query:
            assert query.lstrip("?") in url, "the Older link keeps the filter"
    assert [id_ for page in pages for id_ in page] == expected
    assert all(len(page) == inbox.PER_PAGE for page in pages[:-1]) and 0 < len(pages[-1]) <= 25
    assert len(pages) == -(-len(expected) // 25)

    # And back up with Newer, page by page, to the newest page.
    walked_back, url = [], last_url
    while url:
        response = owner.get(url)
        walked_back.append(ids_on(response))
        url = newer_link(response)
    assert walked_back == list(reversed(pages))


def test_deliveries_arriving_between_pages_neither_repeat_nor_skip_rows(app, owner):
    app_id, token = add_webhook_set(app)
    stored = [id_ for id_, _, _ in reversed(store(app, token, 60))]
    first = owner.get(f"/apps/{app_id}/inbox/")
    assert ids_on(first) == stored[:25]
    assert newer_link(first) is None and "« Newest" not in first.get_data(as_text=True)

    store(app, token, 10)
    second = owner.get(older_link(first))
    assert ids_on(second) == stored[25:50]
    # Newer from here is the page just above it; the ten that came since are one more click up.
    above = owner.get(newer_link(second))
    assert ids_on(above) == stored[:25]
    assert newer_link(above) is not None and 'data-live="off"' in above.get_data(as_text=True)
    top = owner.get(newer_link(above))
    assert len(ids_on(top)) == 25 and ids_on(top)[0] == stored[0] + 10
    assert 'data-live="on"' in top.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "bad_link"),
    [
        ("before=abc", True),
        ("before=-5", True),
        ("after=1.5", True),
        ("before=", True),
        ("before=3&after=2", True),
        ("before=" + "9" * 40, True),
        ("after=%EF%BC%91", True),  # a full-width digit one
        ("before=99999999999", False),  # past every id: the newest
        ("after=99999999999", False),
        ("after=2147483647", False),
        ("before=9223372036854775808", False),
    ],
)
def test_a_bad_or_far_cursor_shows_the_newest_page(app, owner, query: str, bad_link: bool):
    app_id, token = add_webhook_set(app)
    newest = [id_ for id_, _, _ in reversed(store(app, token, 30))][:25]
    response = owner.get(f"/apps/{app_id}/inbox/?{query}")
    assert ids_on(response) == newest
    assert (BAD_LINK in words(response)) is bad_link


def test_a_cursor_below_every_delivery_shows_an_empty_page_that_says_so(app, owner):
    app_id, token = add_webhook_set(app)
    oldest = store(app, token, 3)[0][0]
    response = owner.get(f"/apps/{app_id}/inbox/?before={oldest}&status=verified")
    assert ids_on(response) == []
    text = words(response)
    assert "No older deliveries" in text and "Nothing that matches this filter" in text
    assert f'href="/apps/{app_id}/inbox/?status=verified">See the newest deliveries' in (
        response.get_data(as_text=True)
    )


# -- the live feed -------------------------------------------------------------------------


@pytest.mark.parametrize("after", ["abc", "-1", "", "1.5", "9" * 40, "0x10", "%EF%BC%91"])
def test_the_feed_refuses_a_bad_cursor_in_json(app, owner, after: str):
    app_id, token = add_webhook_set(app)
    stored = store(app, token, 2)
    # Without a cursor it answers with the newest.
    listed = owner.get(f"/apps/{app_id}/inbox/feed").get_json()["deliveries"]
    assert [item["id"] for item in listed] == [stored[1][0], stored[0][0]]
    response = owner.get(f"/apps/{app_id}/inbox/feed?after={after}")
    assert response.status_code == 400 and response.is_json
    assert response.get_json()["error"]["message"] == (
        "after must be a delivery id: a whole number, 0 or more."
    )


@pytest.mark.parametrize("ahead", [1_000, 99_999_999_999])
def test_the_feed_answers_a_future_cursor_with_nothing(app, owner, ahead: int):
    app_id, token = add_webhook_set(app)
    newest = store(app, token, 2)[-1][0]
    response = owner.get(f"/apps/{app_id}/inbox/feed?after={newest + ahead}")
    assert response.status_code == 200
    assert response.get_json() == {
        "deliveries": [],
        "cursor": min(newest + ahead, inbox.MAX_ID),
    }


def test_an_unchanged_feed_answers_304_and_a_new_delivery_answers_200(app, owner):
    app_id, token = add_webhook_set(app)
    newest = store(app, token, 3)[-1][0]
    url = f"/apps/{app_id}/inbox/feed?after={newest}&status=verified"
    first = owner.get(url)
    assert first.status_code == 200 and first.get_json()["deliveries"] == []
    etag = first.headers["ETag"]
    again = owner.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag

    store(app, token, 2)
    changed = owner.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [item["id"] for item in changed.get_json()["deliveries"]] == [newest + 2]


def test_a_delivery_not_folded_yet_comes_again_with_its_repeats(app, owner):
    app_id, token = add_webhook_set(app)
    assert owner.post(f"/hooks/{token}", json=delivery_body()).status_code == 200
    feed = owner.get(f"/apps/{app_id}/inbox/feed?after=0").get_json()
    (first,) = feed["deliveries"]
    assert first["event_id"] is None and feed["cursor"] == 0
    assert 'data-cursor="0"' in owner.get(f"/apps/{app_id}/inbox/").get_data(as_text=True)
    fold(app)
    feed = owner.get(f"/apps/{app_id}/inbox/feed?after=0").get_json()
    assert feed["deliveries"][0]["times_received"] == 1 and feed["cursor"] == first["id"]

    assert owner.post(f"/hooks/{token}", json=delivery_body()).status_code == 200
    feed = owner.get(f"/apps/{app_id}/inbox/feed?after={first['id']}").get_json()
    assert feed["cursor"] == first["id"] and feed["deliveries"][0]["event_id"] is None
    fold(app)
    feed = owner.get(f"/apps/{app_id}/inbox/feed?after={first['id']}").get_json()
    (repeat,) = feed["deliveries"]
    assert repeat["times_received"] == 2 and feed["cursor"] == repeat["id"]


# -- what a page costs ---------------------------------------------------------------------


def assert_seeks(app: Flask, statement: str, parameters: object, one_set: bool) -> None:
    lines = plan(app, statement, parameters)
    shown = "\n".join([statement, *lines])
    for line in lines:
        # SQLite: "SCAN deliveries" reads the whole table (or a whole index) of every app.
        assert not re.search(r"\bSCAN deliveries(_\d+)?\b", line), shown
        assert not re.search(r"(Seq|Bitmap Heap) Scan on deliveries\b", line), shown
        assert not re.match(r"\s*(->\s*)?(Incremental )?Sort\s+\(", line), shown
        if one_set:  # with several sets only the few rows each set gives are sorted
            assert "TEMP B-TREE" not in line, shown
    assert any(
        re.search(r"SEARCH deliveries(_\d+)? USING|Index (Only )?Scan", line) for line in lines
    ), shown
    assert bounded_reads(lines, "deliveries") == [], shown


@pytest.mark.parametrize("sets", [1, 2])
def test_the_list_and_feed_count_nothing_and_seek_the_indexes(app, owner, sets: int):
    app_id, token = add_webhook_set(app)
    for _ in range(sets - 1):
        store(app, add_webhook_set(app)[1], 40)
    store(app, add_webhook_set(app, app_name="Another app")[1], 40)
    ids = [id_ for id_, _, _ in store(app, token, 80)]
    urls = [
        f"/apps/{app_id}/inbox/",
        f"/apps/{app_id}/inbox/?action=incoming_chat",
        f"/apps/{app_id}/inbox/?status=rejected",
        f"/apps/{app_id}/inbox/?action=incoming_event&status=verified",
        f"/apps/{app_id}/inbox/?before={ids[50]}&status=verified",
        f"/apps/{app_id}/inbox/?after={ids[10]}&action=incoming_chat",
        f"/apps/{app_id}/inbox/feed?after={ids[-1]}",
        f"/apps/{app_id}/inbox/feed?after={ids[-20]}&status=rejected",
    ]
    for url in urls:
        with statements(app) as seen:
            assert owner.get(url).status_code == 200
        reads = [(sql, params) for sql, params in seen if DELIVERIES_TABLE.search(sql)]
        assert reads, url
        for sql, params in reads:
            assert "count(" not in sql.lower(), f"{url} counts deliveries:\n{sql}"
            assert re.search(r"\bLIMIT\b|deliveries\.id IN \(", sql), f"{url} reads all:\n{sql}"
            assert_seeks(app, sql, params, one_set=sets == 1)


def test_a_page_reads_as_much_at_many_deliveries_as_at_few(app, owner):
    app_id, token = add_webhook_set(app)

    def reads() -> list[str]:
        with statements(app) as seen:
            assert owner.get(f"/apps/{app_id}/inbox/?status=verified").status_code == 200
        return [sql for sql, _ in seen if DELIVERIES_TABLE.search(sql)]

    store(app, token, 40)
    few = reads()
    store(app, token, 400)
    assert reads() == few
