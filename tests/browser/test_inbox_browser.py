"""The Inbox as a person meets it: empty, then filling live, filtered, one delivery opened."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import expect
from walk import create_owner

from consoleapp.extensions import db
from consoleapp.models import Delivery, DeliveryMinute, WebhookSet, utcnow
from shots import screenshot
from support import INBOX_SECRET, add_webhook_set, delivery_body

pytestmark = pytest.mark.browser


def deliver(live_server, token: str, **kwargs: object) -> int:
    response = requests.post(
        f"{live_server.url}/hooks/{token}", json=delivery_body(**kwargs), timeout=10
    )
    return response.status_code


def test_inbox_fills_live_filters_and_opens_a_delivery(page, browser, live_server):
    create_owner(page)
    app_id, token = add_webhook_set(live_server.app, app_name="Helpdesk sync")
    page.goto(f"/apps/{app_id}")
    page.get_by_role("link", name="Inbox").click()
    page.wait_for_url(f"**/apps/{app_id}/inbox/")
    expect(page.get_by_role("heading", name="No deliveries yet")).to_be_visible()
    expect(page.get_by_text(f"/hooks/{token}")).to_be_visible()
    expect(page.get_by_text("Watching for new deliveries")).to_be_visible()
    screenshot(page, "50-inbox-empty")

    # Deliveries arrive while the page is open; its script shows them without a reload.
    assert deliver(live_server, token, action="incoming_chat") == 200
    assert deliver(live_server, token, action="incoming_event") == 200
    assert deliver(live_server, token, action="incoming_event") == 200
    assert deliver(live_server, token, action="incoming_event", secret="not-the-secret") == 401
    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(4, timeout=15_000)
    expect(page.get_by_role("heading", name="No deliveries yet")).to_be_hidden()
    expect(rows.nth(0).get_by_text("rejected: wrong secret key")).to_be_visible()
    expect(rows.nth(1).get_by_text("received 2×")).to_be_visible()
    expect(rows.nth(2).get_by_text("received 2×")).to_be_visible()
    expect(rows.nth(3).get_by_text("verified")).to_be_visible()
    screenshot(page, "51-inbox-live")
    # Once nothing changes, the script's polls are answered 304 (it names its last answer).
    with page.expect_response(
        lambda response: "/inbox/feed?" in response.url and response.status == 304
    ):
        pass
    expect(rows).to_have_count(4)

    page.reload()
    page.get_by_label("Trigger").select_option("incoming_event")
    page.get_by_label("Status").select_option("verified")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"action=incoming_event"))
    expect(rows).to_have_count(2)
    expect(page.get_by_role("link", name="Clear filter")).to_be_visible()
    screenshot(page, "52-inbox-filtered")

    rows.nth(0).get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/apps/{app_id}/inbox/\d+$"))
    expect(page.get_by_role("heading", name="incoming_event delivery")).to_be_visible()
    expect(page.get_by_text("received 2×")).to_be_visible()
    expect(page.get_by_role("cell", name="application/json")).to_be_visible()
    expect(page.locator("pre.code-block")).to_be_visible()
    body = page.locator("pre.code-block").inner_text()
    assert '"secret_key": "[redacted]"' in body and INBOX_SECRET not in page.content()
    assert '\n  "payload": {\n    "chat_id": "PJ0MRSHTDG",' in body
    screenshot(page, "53-inbox-delivery")

    narrow = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 375, "height": 800},
        storage_state=page.context.storage_state(),
    )
    small = narrow.new_page()
    small.goto(f"/apps/{app_id}/inbox/")
    expect(small.locator("#inbox-table tbody tr")).to_have_count(4)
    screenshot(small, "54-inbox-375px")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    narrow.close()


def test_the_inbox_works_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    create_owner(page)
    app_id, token = add_webhook_set(live_server.app, app_name="No script")
    assert deliver(live_server, token) == 200
    page.goto(f"/apps/{app_id}/inbox/")
    expect(page.locator("#inbox-table tbody tr")).to_have_count(1)
    expect(page.get_by_text("Watching for new deliveries")).to_be_hidden()
    page.get_by_role("link", name=re.compile(r"\d{4}-\d\d-\d\d")).click()
    expect(page.get_by_role("heading", name="Body")).to_be_visible()
    context.close()


def seed_a_busy_hour(app, token: str) -> None:
    """An hour of counts per minute for three triggers, some rejected, and 30 deliveries."""
    with app.app_context():
        set_id = db.session.execute(
            db.select(WebhookSet.id).where(WebhookSet.inbox_token == token)
        ).scalar_one()
        now = utcnow().replace(second=0, microsecond=0)
        for ago in range(60):
            minute = now - timedelta(minutes=ago)
            chats = (ago * 7) % 5
            messages = 3 + (ago * 11) % 9
            for action, verified, rejected in [
                ("incoming_chat", chats, 1 if ago % 17 == 0 else 0),
                ("incoming_event", messages, 2 if ago % 13 == 0 else 0),
                ("chat_deactivated", chats // 2, 0),
            ]:
                if verified or rejected:
                    db.session.add(
                        DeliveryMinute(
                            webhook_set_id=set_id,
                            minute=minute,
                            action=action,
                            verified=verified,
                            rejected=rejected,
                        )
                    )
        for number in range(30):
            db.session.add(
                Delivery(
                    webhook_set_id=set_id,
                    action=("incoming_chat", "incoming_event")[number % 2],
                    verified=number % 7 != 0,
                    rejection=None if number % 7 else "wrong secret key",
                    body="{}",
                    folded=True,
                )
            )
        db.session.commit()


def test_the_last_hour_chart_and_older_pages(page, browser, live_server):
    create_owner(page)
    app_id, token = add_webhook_set(live_server.app, app_name="Helpdesk sync")
    seed_a_busy_hour(live_server.app, token)
    page.goto(f"/apps/{app_id}/inbox/")
    chart = page.locator("#inbox-chart")
    expect(chart.get_by_role("heading", name="Last hour")).to_be_visible()
    strips = chart.get_by_role("img")
    expect(strips).to_have_count(3)
    expect(strips.nth(0)).to_have_accessible_name(re.compile(r"^A chat starts: deliveries per"))
    expect(strips.nth(1)).to_have_accessible_name(re.compile(r"^A chat ends: deliveries per"))
    expect(strips.nth(2)).to_have_accessible_name(re.compile(r"^A message arrives: deliveries"))
    expect(strips.nth(2)).to_have_accessible_description(re.compile(r"verified and 10 rejected"))
    expect(chart.get_by_text("Rejected: below the line")).to_be_visible()
    expect(
        page.get_by_text("Deliveries are kept for 7 days, at most 10,000 per inbox")
    ).to_be_visible()
    screenshot(page, "58-inbox-chart")

    chart.get_by_text("The numbers, minute by minute").click()
    expect(chart.get_by_role("table")).to_be_visible()
    screenshot(page, "59-inbox-chart-numbers")

    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(25)
    page.get_by_role("link", name="Older →").click()
    page.wait_for_url(re.compile(r"before=\d+"))
    expect(rows).to_have_count(5)
    expect(page.get_by_role("link", name="Older →")).to_be_hidden()
    expect(page.get_by_role("link", name="« Newest")).to_be_visible()
    expect(page.get_by_text("Watching for new deliveries")).to_be_hidden()
    screenshot(page, "61-inbox-older-page")
    page.get_by_role("link", name="← Newer").click()
    page.wait_for_url(re.compile(r"after=\d+"))
    expect(rows).to_have_count(25)
    expect(page.get_by_role("link", name="← Newer")).to_be_hidden()
    expect(page.get_by_text("Watching for new deliveries")).to_be_visible()

    narrow = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 375, "height": 800},
        storage_state=page.context.storage_state(),
    )
    small = narrow.new_page()
    small.goto(f"/apps/{app_id}/inbox/")
    expect(small.locator("#inbox-chart").get_by_role("img")).to_have_count(3)
    screenshot(small, "60-inbox-chart-375px")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    narrow.close()
