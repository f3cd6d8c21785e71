"""Install & test as a person walks it: a new app, the wizard with the console's own inbox,
registration, then a trigger's button makes the sandbox fire a real event and its row turns
verified without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from walk import tick_triggers

from shots import screenshot

pytestmark = pytest.mark.browser


def test_a_trigger_button_turns_its_row_verified(walked):
    live, page, app_id = walked
    tabs = page.get_by_role("navigation", name="App sections")
    tabs.get_by_role("link", name="Install & test").click()
    page.wait_for_url(f"**/apps/{app_id}/test/")
    expect(page.get_by_text("Nothing to test yet")).to_be_visible()
    screenshot(page, "60-test-before-webhooks")

    tabs.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Create one →").click()
    page.get_by_role("button", name="Use the console's test inbox").click()
    tick_triggers(page, "A chat starts", "A chat is tagged")
    page.get_by_role("button", name="Save triggers and review").click()
    page.get_by_role("button", name="Register with LiveChat").click()
    page.wait_for_url(re.compile(r"/registration$"))
    # The run goes on in a worker; the page follows it and shows the outcome when it ends.
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
        timeout=15_000
    )

    tabs.get_by_role("link", name="Install & test").click()
    checklist = page.locator("#test-checklist")
    expect(checklist.get_by_text("Webhooks registered 2/2")).to_be_visible()
    installed = page.locator('li[data-check="installed"]')
    expect(installed.get_by_text("waiting")).to_be_visible()
    screenshot(page, "61-test-registered-not-installed")

    # Installing happens in LiveChat's sign-in popup; this page notices it by itself.
    with page.expect_popup() as opened:
        installed.get_by_role("button", name="Install app").click()
    popup = opened.value
    popup.wait_for_url(re.compile(r"/sandbox/accounts/\?"))
    popup.get_by_role("button", name="Allow").click()
    popup.wait_for_event("close", timeout=15_000)
    expect(installed.locator(".pill-ok")).to_be_visible(timeout=15_000)
    expect(page.locator('li[data-check="license_webhooks"] .pill-ok')).to_be_visible(timeout=15_000)
    # Without a reload, the primary buttons move on from "Install app" to the triggers.
    expect(page.locator("main .button-primary")).to_have_text(
        ["A customer starts a chat", "The thread is tagged"]
    )
    page.reload()
    row = page.locator('li[data-check="trigger:incoming_chat"]')
    expect(row.get_by_text("waiting")).to_be_visible()
    row.get_by_role("button", name="A customer starts a chat").click()
    page.wait_for_url(re.compile(rf"/apps/{app_id}/test/\?started=incoming_chat$"))
    # "Started: … Waiting for LiveChat's delivery…", then "Done: …" once the row is verified
    # (at once, when the delivery beats the page).
    banner = page.locator("[data-test-banner]")
    expect(banner).to_contain_text("a customer starts a chat.")
    screenshot(page, "62-test-event-started")

    # The sandbox delivers in the background; the page's script turns the row green.
    expect(row.locator(".pill-ok")).to_be_visible(timeout=60_000)
    expect(row.get_by_text("verified", exact=True)).to_be_visible()
    expect(row).to_contain_text(
        re.compile(r"secret verified \d+ s after the test started"), use_inner_text=True
    )
    expect(page.locator('li[data-check="trigger:thread_tagged"] .pill-wait')).to_be_visible()
    expect(page.get_by_text("5 of 6 verified")).to_be_visible()
    expect(banner).to_contain_text("Done: a customer starts a chat.")
    screenshot(page, "63-test-row-verified")

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(page.locator('li[data-check="trigger:incoming_chat"] .pill-ok')).to_be_visible()
    screenshot(page, "64-test-375px")

    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Overview").click()
    expect(page.get_by_text("Install and test · 5 of 6 verified")).to_be_visible()
    screenshot(page, "65-overview-test-progress")
