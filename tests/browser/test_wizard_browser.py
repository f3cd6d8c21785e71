"""Walk the Chat Webhooks wizard as a person would, then register with the sandbox.

(Named apart from tests/test_wizard.py: test modules need unique basenames.)
"""

from __future__ import annotations

import re

import pytest
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
    page.get_by_role("link", name="Webhooks").click()
    assert page.get_by_role("heading", name="No webhook sets yet.").is_visible()
    screenshot(page, "20-webhooks-empty")

    page.get_by_role("link", name="Create one →").click()
    assert page.locator('[aria-current="step"]').inner_text() == "Webhook URL"
    page.get_by_label("Webhook URL").fill("http://10.0.0.5/hook")
    page.get_by_role("button", name="Save and continue").click()
    assert page.get_by_text("This address is not publicly reachable").is_visible()
    assert page.get_by_label("Webhook URL").input_value() == "http://10.0.0.5/hook"
    screenshot(page, "21-wizard-url-refused")

    page.get_by_label("Webhook URL").fill(f"{live.url}/hooks/not-a-set")
    page.get_by_role("button", name="Send a test request").click()
    assert page.locator("#test-result").is_visible()
    assert re.search(r"\d{3} [A-Za-z ]+ in \d+ ms", page.locator("#test-result").inner_text())
    screenshot(page, "22-wizard-url-test-request")

    page.get_by_role("button", name="Use the console's test inbox").click()
    page.wait_for_url(re.compile(r"/secret$"))
    assert page.locator('[aria-current="step"]').inner_text() == "Secret key"
    screenshot(page, "23-wizard-secret")

    page.get_by_role("button", name="Generate a key").click()
    secret = page.locator("#secret-key").inner_text()
    assert len(secret) >= 43
    page.get_by_role("button", name="Copy").click()
    assert page.get_by_role("button", name="Copied").is_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "24-wizard-secret-shown-once")

    page.get_by_role("button", name="I saved it").click()
    page.wait_for_url(re.compile(r"/triggers$"))
    assert secret not in page.content()
    page.get_by_role("link", name="Secret key").click()
    assert page.get_by_text(f"Saved key ends in …{secret[-4:]}").is_visible()
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
    assert page.get_by_text("only from customers; with chat properties").is_visible()
    screenshot(page, "26-wizard-review")

    page.get_by_role("button", name="Register with LiveChat").click()
    page.wait_for_url(re.compile(r"/registration$"))
    assert page.get_by_text("Every trigger is registered with LiveChat.").is_visible()
    assert page.get_by_text("2 of 2 registered").is_visible()
    assert page.locator(".registration-rows .pill-ok").count() == 2
    screenshot(page, "27-wizard-registered")

    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    assert page.get_by_text("registered 2/2").is_visible()
    screenshot(page, "28-webhooks-list")
    page.get_by_role("link", name="Overview").click()
    assert page.get_by_text("2 triggers registered").is_visible()
    screenshot(page, "29-overview-webhooks-done")


def test_triggers_page_at_phone_width_and_by_keyboard(provisioned):
    live, context, page = provisioned
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Create one →").click()
    page.get_by_role("button", name="Use the console's test inbox").click()
    page.get_by_text("Use my own key instead").click()
    page.get_by_label("Your own secret key").fill("short")
    page.get_by_role("button", name="Save my key").click()
    assert page.get_by_text("Use 16 to 200 characters.").is_visible()
    screenshot(page, "30-wizard-own-key-error")
    page.get_by_label("Your own secret key").fill("my-own-secret-key-123")
    page.get_by_role("button", name="Save my key").click()
    page.wait_for_url(re.compile(r"/triggers$"))

    page.set_viewport_size({"width": 375, "height": 800})
    page.get_by_role("button", name="Save triggers and review").click()
    assert page.get_by_text("Choose at least one trigger.").is_visible()
    screenshot(page, "31-wizard-triggers-375px")
    # Keyboard: tick a trigger and open its filters without a mouse.
    page.get_by_label("A chat starts").focus()
    page.keyboard.press("Space")
    assert page.get_by_label("A chat starts").is_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.locator("details", has_text="for A chat starts").get_attribute("open") is not None
    page.get_by_role("button", name="Save triggers and review").click()
    page.wait_for_url(re.compile(r"/review$"))
    screenshot(page, "32-wizard-review-375px")
