"""Install & test in words: buttons that say what they make happen (as the trigger's filters
shape it), the organization named in words, a banner that follows its row, and "done"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import responses

from checklist_support import SANDBOX, SCENARIOS, deliver, page_of, seed_app
from consoleapp.extensions import db
from consoleapp.models import (
    Installation,
    utcnow,
)
from support import flat_text_of

ORGANIZATION = "390e44e6-f1e6-0368c-z6ddb-74g14508c2ex"


def seed(app, filters: dict | None = None, installed: bool = True) -> int:
    """An app made 12 minutes ago with one registered set of two triggers, the second with
    ``filters``; installed on ORGANIZATION, webhooks on, when asked."""
    return seed_app(
        app,
        triggers={"incoming_chat": {}, "incoming_event": filters or {}},
        installed={"webhooks_enabled": True} if installed else None,
        organization_id=ORGANIZATION,
        created_at=utcnow() - timedelta(minutes=12),
    )


@pytest.mark.parametrize(
    ("filters", "label", "asked"),
    [
        ({}, "A customer sends a message", {"author_type": "customer"}),
        ({"author_type": "customer"}, "A customer sends a message", {"author_type": "customer"}),
        ({"author_type": "agent"}, "An agent sends a message", {"author_type": "agent"}),
        (
            {"author_type": "customer", "source_type": ["my_client"]},
            "A customer sends a message (through this app)",
            {"author_type": "customer", "performed_by": "this_app"},
        ),
    ],
)
def test_the_button_says_what_the_filters_make_happen(sandboxed, filters, label, asked):
    app, client = sandboxed
    app_id = seed(app, filters)
    page = page_of(client, f"/apps/{app_id}/test/")
    assert f">{label}</button>" in page
    assert "A message is sent (customer or agent)" not in page
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        started = mocked.post(
            f"{SANDBOX}/simulate/send_message",
            json={"scenario": "send_message", "deliveries": []},
            match=[
                responses.matchers.json_params_matcher(
                    {"client_id": "client-1", "organization_id": ORGANIZATION, **asked}
                )
            ],
        )
        response = client.post(f"/apps/{app_id}/test/incoming_event/start")
    assert started.call_count == 1
    page = page_of(client, response.headers["Location"])
    assert f"Started: {label[0].lower()}{label[1:]}, but LiveChat queued no delivery" in page


def started(client, app_id: int, action: str = "incoming_chat") -> str:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        mocked.post(
            f"{SANDBOX}/simulate/start_chat", json={"scenario": "start_chat", "deliveries": [1]}
        )
        response = client.post(f"/apps/{app_id}/test/{action}/start")
    assert response.status_code == 302
    return response.headers["Location"]


def test_the_banner_follows_the_row_it_started(sandboxed):
    app, client = sandboxed
    app_id = seed(app)
    location = started(client, app_id)
    assert location == f"/apps/{app_id}/test/?started=incoming_chat"
    page = page_of(client, location)
    assert (
        '<p class="flash flash-success" role="status" data-test-banner="trigger:incoming_chat"'
        in page
    )
    assert "Started: a customer starts a chat. Waiting for LiveChat's delivery…" in page

    deliver(app, app_id, "incoming_chat")
    page = page_of(client, location)
    assert re.search(
        r"Done: a customer starts a chat\. Event received, secret verified \d+ s after the test "
        r"started\.",
        page,
    )
    assert "Waiting for LiveChat's delivery" not in page


def test_a_refused_delivery_turns_the_banner_red(sandboxed):
    app, client = sandboxed
    app_id = seed(app)
    location = started(client, app_id)
    deliver(app, app_id, "incoming_chat", rejection="wrong secret key")
    page = page_of(client, location)
    assert '<p class="flash flash-error" role="status"' in page
    assert (
        "Started: a customer starts a chat. A delivery came in and was refused; it is in the Inbox."
    ) in page


@pytest.mark.parametrize("started_value", ["", "agent_created", "<script>", "x" * 5000])
def test_a_banner_for_no_chosen_trigger_is_left_out(sandboxed, started_value):
    app, client = sandboxed
    app_id = seed(app)
    with responses.RequestsMock() as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        response = client.get(f"/apps/{app_id}/test/", query_string={"started": started_value})
    assert response.status_code == 200
    assert "data-test-banner" not in flat_text_of(response)


def test_when_every_trigger_is_verified_the_page_says_done_and_what_next(sandboxed):
    app, client = sandboxed
    app_id = seed(app)
    deliver(app, app_id, "incoming_chat")
    page = page_of(client, f"/apps/{app_id}/test/")
    assert "Done: every trigger is verified" not in page
    deliver(app, app_id, "incoming_event")
    page = page_of(client, f"/apps/{app_id}/test/")
    assert "Done: every trigger is verified" in page
    assert re.search(
        r"All 2 triggers reached the console with the right secret key\. It took 12 min \d+ s "
        r"from creating the app\.",
        page,
    )
    assert (
        f'<a class="button button-primary" href="/apps/{app_id}/inbox/">Open the Inbox</a>' in page
    )


def test_the_organization_is_named_in_words_not_by_its_id(sandboxed):
    app, client = sandboxed
    app_id = seed(app)
    checklist = page_of(client, f"/apps/{app_id}/test/")
    assert "On your LiveChat organization (ID ending …08c2ex)." in checklist
    connection = flat_text_of(client.get(f"/apps/{app_id}/install/connection"))
    assert "Installed on your LiveChat organization (ID ending …08c2ex)" in connection
    for page in (checklist, connection):
        assert ORGANIZATION not in page


def primary_labels(page: str) -> list[str]:
    main = page.split('<main id="main"', 1)[1]
    return re.findall(r'class="button[^"]*button-primary[^"]*"[^>]*>([^<]+)<', main)


def test_the_next_unverified_fact_holds_the_primary_button(sandboxed):
    app, client = sandboxed
    app_id = seed(app, installed=False)
    page = page_of(client, f"/apps/{app_id}/test/")
    # Not installed yet: that is the next step; the trigger buttons wait for it.
    assert primary_labels(page) == ["Install app"]
    with app.app_context():
        db.session.add(Installation(app_id=app_id, organization_id=ORGANIZATION))
        db.session.commit()
    page = page_of(client, f"/apps/{app_id}/test/")
    # LiveChat did not say whether the license's webhooks are on: check them there.
    assert primary_labels(page) == ["Installation"]
    with app.app_context():
        db.session.execute(db.update(Installation).values(webhooks_enabled=True))
        db.session.commit()
    page = page_of(client, f"/apps/{app_id}/test/")
    assert primary_labels(page) == ["A customer starts a chat", "A customer sends a message"]
    assert 'src="/static/js/checklist_outcome.js"' in page
