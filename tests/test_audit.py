"""The audit log: who changed what and when, newest first, 50 to a page."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from consoleapp.extensions import db
from consoleapp.models import App, AuditEvent, Role, User
from consoleapp.web.filters import AUDIT_ACTIONS
from support import TEST_PASSWORD, add_user

ROW = re.compile(
    r"<tr>\s*<td>(?P<when>[^<]*)</td>\s*<td>(?P<who>[^<]*)</td>\s*<td>(?P<what>[^<]*)</td>"
    r"\s*<td>(?P<on>[^<]*)</td>\s*<td>(?P<details>[^<]*)</td>",
)


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    return [
        {key: html.unescape(value) for key, value in match.groupdict().items()}
        for match in ROW.finditer(response.get_data(as_text=True))
    ]


def test_every_kind_of_change_is_listed_newest_first(app, client, owner_id):
    signed_in = client.post(
        "/login", data={"email": "owner@example.com", "password": TEST_PASSWORD}
    )
    assert signed_in.status_code == 302
    client.post("/apps/new", data={"name": "Helpdesk"})
    with app.app_context():
        app_id = db.session.execute(db.select(App.id)).scalar_one()
    client.post(f"/apps/{app_id}/rename", data={"name": "Helpdesk sync"})
    client.post(
        f"/apps/{app_id}/authorization/settings",
        data={
            "auth-client_id": "cid",
            "auth-client_secret": "never-in-the-log-1234",
            "auth-scopes": ["webhooks.configuration:rw", "webhooks.state:rw"],
            "auth-direct_install_url": "https://console.example/cb",
            "auth-redirect_uris": "https://console.example/",
            "auth-api_version": "3.6",
        },
    )
    client.post(
        f"/apps/{app_id}/authorization/developer-credential",
        data={"dev-account_id": "acct", "dev-token": "dal:never-in-the-log"},
    )
    client.post("/team/invitations", data={"email": "new@example.com", "role": "viewer"})
    viewer_id = add_user(app, "viewer@example.com", Role.VIEWER)
    client.post(f"/team/{viewer_id}/role", data={"role": "admin"})
    client.post(f"/team/{viewer_id}/remove")
    client.post(f"/apps/{app_id}/delete", data={"confirm_name": "Helpdesk sync"})

    page = client.get("/audit/")
    listed = rows(page)
    assert [(row["what"], row["on"]) for row in listed] == [
        ("deleted an app", "Helpdesk sync"),
        ("removed a teammate", "viewer@example.com"),
        ("changed a role", "viewer@example.com"),
        ("invited a teammate", "new@example.com"),
        ("changed the developer credential", "Helpdesk sync"),
        ("changed authorization settings", "Helpdesk sync"),
        ("renamed an app", "Helpdesk sync"),
        ("created an app", "Helpdesk"),
        ("signed in", "owner@example.com"),
    ]
    assert {row["who"] for row in listed} == {"owner@example.com"}
    details = {row["what"]: row["details"] for row in listed}
    assert details["renamed an app"] == "before: Helpdesk"
    assert details["changed a role"] == "before: viewer; after: admin"
    assert "client_secret" in details["changed authorization settings"]
    assert details["changed the developer credential"] == "fields: account_id, token"
    body = page.get_data(as_text=True)
    assert "never-in-the-log" not in body
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d</td>", body)


def test_joining_and_a_removed_actor_stay_in_the_log(app, owner):
    response = owner.post("/team/invitations", data={"email": "new@example.com", "role": "admin"})
    token = re.search(r"/invitations/([^<\"]+)</code>", response.get_data(as_text=True)).group(1)
    newcomer = app.test_client()
    newcomer.post(f"/invitations/{token}", data={"password": "a long enough password"})
    newcomer.post("/apps/new", data={"name": "Theirs"})
    with app.app_context():
        newcomer_id = db.session.execute(
            db.select(User.id).filter_by(email="new@example.com")
        ).scalar_one()
    owner.post(f"/team/{newcomer_id}/remove")
    listed = rows(owner.get("/audit/"))
    # The removed teammate's own entries keep their email: the log outlives the account.
    assert ("new@example.com", "created an app") in [(r["who"], r["what"]) for r in listed]
    assert ("new@example.com", "joined the team") in [(r["who"], r["what"]) for r in listed]


def add_events(app, count: int) -> None:
    start = datetime(2026, 1, 1)
    with app.app_context():
        db.session.add_all(
            AuditEvent(
                action="app.created",
                target=f"event {n:03d}",
                created_at=start + timedelta(minutes=n),
                details={},
            )
            for n in range(count)
        )
        db.session.commit()


def test_fifty_to_a_page(app, owner):
    add_events(app, 120)
    first = owner.get("/audit/")
    listed = rows(first)
    assert len(listed) == 50
    assert listed[0]["on"] == "event 119" and listed[-1]["on"] == "event 070"
    assert listed[0]["who"] == "system"
    body = first.get_data(as_text=True)
    assert "Page 1 of 3" in body and "/audit/?page=2" in body and "Newer" not in body

    second = rows(owner.get("/audit/?page=2"))
    assert [row["on"] for row in second] == [f"event {n:03d}" for n in range(69, 19, -1)]
    last = owner.get("/audit/?page=3")
    assert [row["on"] for row in rows(last)] == [f"event {n:03d}" for n in range(19, -1, -1)]
    assert "Older" not in last.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "first_on"),
    [
        ("page=0", "event 059"),
        ("page=-3", "event 059"),
        ("page=abc", "event 059"),
        ("page=", "event 059"),
        ("page=1.5", "event 059"),
        ("page=99", None),
        ("page=" + "9" * 30, None),
    ],
)
def test_odd_page_numbers(app, owner, query, first_on):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    add_events(app, 60)
    listed = rows(owner.get(f"/audit/?{query}"))
    assert (listed[0]["on"] if listed else None) == first_on


def test_every_recorded_action_reads_in_plain_words():
    """Each action the console records has a label on the audit page, not its code name."""
    package = Path(__file__).resolve().parents[1] / "consoleapp"
    recorded = set()
    for path in package.rglob("*.py"):
        if "sandbox" in path.relative_to(package).parts:
            continue
        recorded.update(re.findall(r'"((?:app|user|webhooks|test)\.[a-z_]+)"', path.read_text()))
    assert len(recorded) >= 25
    assert sorted(recorded - set(AUDIT_ACTIONS)) == []
