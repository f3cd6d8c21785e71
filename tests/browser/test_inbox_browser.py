"""The Inbox as a person meets it: empty, then filling live, filtered, one delivery opened."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect
from walk import create_owner

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
