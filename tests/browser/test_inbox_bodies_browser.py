"""Bodies the Inbox cannot show laid out: a rejected 1 MB body (first 4 KB) and one nested too
deeply, each with a plain note, readable at 375 px without scrolling sideways."""

from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect
from walk import create_owner

from shots import screenshot
from support import INBOX_SECRET, add_webhook_set, delivery_body

pytestmark = pytest.mark.browser


def send(live_server, token: str, data: str) -> requests.Response:
    return requests.post(
        f"{live_server.url}/hooks/{token}",
        data=data,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def test_bodies_kept_in_part_or_as_received_say_so(page, browser, live_server):
    create_owner(page)
    app_id, token = add_webhook_set(live_server.app, app_name="Helpdesk sync")
    big = json.dumps(delivery_body(secret="not-the-secret", payload={"text": "x" * 1_048_000}))
    assert send(live_server, token, big).status_code == 401
    deep = json.dumps(delivery_body(payload=None))[:-1] + ', "deep": ' + "[" * 600 + "]" * 600 + "}"
    assert send(live_server, token, deep).status_code == 200

    page.goto(f"/apps/{app_id}/inbox/")
    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/apps/{app_id}/inbox/\d+$"))
    expect(page.get_by_text(f"First 4 KB of {len(big):,} bytes shown, as received")).to_be_visible()
    expect(page.get_by_text(f"{len(big):,} bytes", exact=True)).to_be_visible()
    expect(page.locator("pre.code-block")).to_contain_text('"secret_key": "[redacted]"')
    screenshot(page, "55-inbox-rejected-first-4kb")
    rejected_url = page.url

    page.goto(f"/apps/{app_id}/inbox/")
    rows.nth(0).get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/apps/{app_id}/inbox/\d+$"))
    expect(page.get_by_text("Shown as received: too deeply nested to lay out.")).to_be_visible()
    expect(page.locator("pre.code-block")).to_contain_text('"secret_key": "[redacted]"')
    assert INBOX_SECRET not in page.content()
    screenshot(page, "56-inbox-as-received")

    narrow = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 375, "height": 800},
        storage_state=page.context.storage_state(),
    )
    small = narrow.new_page()
    small.goto(rejected_url)
    expect(small.get_by_text("First 4 KB of")).to_be_visible()
    screenshot(small, "57-inbox-rejected-375px")
    width = small.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    narrow.close()
