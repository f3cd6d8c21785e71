"""Walk the Chat Webhooks wizard as a person would, then register with the sandbox.

(Named apart from tests/test_wizard.py: test modules need unique basenames.)
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from walk import create_first_app, create_owner, watch_errors

from shots import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def provisioned(browser, live_server_factory):
    live = live_server_factory(
        WTF_CSRF_ENABLED=True, TESTING=False, ENVIRON={"SANDBOX_PROVISIONING": "on"}
    )
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page = context.new_page()
    errors = watch_errors(page)
    create_owner(page)
    create_first_app(page)
    yield live, context, page
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def test_wizard_from_empty_list_to_registered(provisioned):
    live, context, page = provisioned
    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="No webhook sets yet.")).to_be_visible()
    screenshot(page, "20-webhooks-empty")

    page.get_by_role("link", name="Create one →").click()
    expect(page.locator('[aria-current="step"]')).to_have_text("Webhook URL")
    page.get_by_label("Webhook URL").fill("http://10.0.0.5/hook")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_text("This address is not publicly reachable")).to_be_visible()
    expect(page.get_by_label("Webhook URL")).to_have_value("http://10.0.0.5/hook")
    screenshot(page, "21-wizard-url-refused")

    page.get_by_label("Webhook URL").fill(f"{live.url}/hooks/not-a-set")
    page.get_by_role("button", name="Send a test request").click()
    expect(page.locator("#test-result")).to_be_visible()
    expect(page.locator("#test-result")).to_contain_text(re.compile(r"\d{3} [A-Za-z ]+ in \d+ ms"))
    screenshot(page, "22-wizard-url-test-request")

    page.get_by_role("button", name="Use the console's test inbox").click()
    page.wait_for_url(re.compile(r"/secret$"))
    expect(page.locator('[aria-current="step"]')).to_have_text("Secret key")
    screenshot(page, "23-wizard-secret")

    page.get_by_role("button", name="Generate a key").click()
    expect(page.locator("#secret-key")).to_be_visible()
    secret = page.locator("#secret-key").inner_text()
    assert len(secret) >= 43
    # "Copied" shows for 1.5 s; the page's clock stands still until the check has seen it.
    page.clock.install()
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.clock.resume()
    screenshot(page, "24-wizard-secret-shown-once")

    page.get_by_role("button", name="I saved it").click()
    page.wait_for_url(re.compile(r"/triggers$"))
    assert secret not in page.content()
    page.get_by_role("link", name="Secret key").click()
    expect(page.get_by_text(f"Saved key ends in …{secret[-4:]}")).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("button", name="Keep this key and continue").click()
    page.wait_for_url(re.compile(r"/triggers$"))

    page.get_by_label("A message arrives").check()
    page.get_by_text("Filters and extra data for A message arrives").click()
    message_filters = page.locator("details", has_text="for A message arrives")
    message_filters.get_by_label("Only customers").check()
    message_filters.get_by_label("The chat's properties").check()
    page.get_by_label("A chat ends").check()
    screenshot(page, "25-wizard-triggers")
    page.get_by_role("button", name="Save triggers and review").click()
    page.wait_for_url(re.compile(r"/review$"))
    expect(page.get_by_text("only from customers; with chat properties")).to_be_visible()
    screenshot(page, "26-wizard-review")

    page.get_by_role("button", name="Register with LiveChat").click()
    page.wait_for_url(re.compile(r"/registration$"))
    # The run goes on in a worker; the page follows it and shows the outcome when it ends.
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
        timeout=15_000
    )
    expect(page.get_by_text("2 of 2 registered")).to_be_visible()
    expect(page.locator(".registration-rows .pill-ok")).to_have_count(2)
    screenshot(page, "27-wizard-registered")

    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("registered 2/2")).to_be_visible()
    screenshot(page, "28-webhooks-list")
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_text("2 triggers registered")).to_be_visible()
    screenshot(page, "29-overview-webhooks-done")


def test_triggers_page_at_phone_width_and_by_keyboard(provisioned):
    live, context, page = provisioned
    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Create one →").click()
    page.get_by_role("button", name="Use the console's test inbox").click()
    page.get_by_text("Use my own key instead").click()
    page.get_by_label("Your own secret key").fill("short")
    page.get_by_role("button", name="Save my key").click()
    expect(page.get_by_text("Use 16 to 200 characters.")).to_be_visible()
    screenshot(page, "30-wizard-own-key-error")
    page.get_by_label("Your own secret key").fill("my-own-secret-key-123")
    page.get_by_role("button", name="Save my key").click()
    page.wait_for_url(re.compile(r"/triggers$"))

    page.set_viewport_size({"width": 375, "height": 800})
    page.get_by_role("button", name="Save triggers and review").click()
    expect(page.get_by_text("Choose at least one trigger.")).to_be_visible()
    screenshot(page, "31-wizard-triggers-375px")
    # Keyboard: tick a trigger and open its filters without a mouse.
    page.get_by_label("A chat starts").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("A chat starts")).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("details", has_text="for A chat starts")).to_have_js_property("open", True)
    page.get_by_role("button", name="Save triggers and review").click()
    page.wait_for_url(re.compile(r"/review$"))
    screenshot(page, "32-wizard-review-375px")
