"""Walk the Chat Webhooks wizard as a person would, then register with the sandbox.

(Named apart from tests/test_wizard.py: test modules need unique basenames.)
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from walk import create_first_app, create_owner, tick_triggers, watch_errors

from shots import both_widths, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def start(browser, live_server_factory):
    """A console with an app, and a way to open browser pages on it (with or without JS)."""
    live = live_server_factory(
        WTF_CSRF_ENABLED=True, TESTING=False, ENVIRON={"SANDBOX_PROVISIONING": "on"}
    )
    contexts = []

    def open_page(javascript: bool = True):
        context = browser.new_context(
            base_url=live.url,
            viewport={"width": 1280, "height": 900},
            java_script_enabled=javascript,
        )
        if javascript:
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
        page = context.new_page()
        contexts.append((context, watch_errors(page)))
        return page

    yield live, open_page
    for context, errors in contexts:
        context.close()
        assert errors == [], f"the browser reported errors: {errors}"


@pytest.fixture
def provisioned(start):
    live, open_page = start
    page = open_page()
    create_owner(page)
    create_first_app(page)
    return live, page


def group(page, name: str):
    """A group of the trigger picker, by its name (the summary's first words)."""
    name_part = page.locator(".group-name", has_text=re.compile(f"^{re.escape(name)}$"))
    return page.locator("details.trigger-group").filter(has=name_part)


def trigger(page, title: str):
    return page.locator("[data-trigger]", has=page.get_by_label(title))


def test_wizard_from_empty_list_to_registered(provisioned):
    live, page = provisioned
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

    # Someone else's endpoint: the key is shown once, copied, and confirmed.
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/secret$"))
    expect(page.locator('[aria-current="step"]')).to_have_text("Secret key")
    expect(page.get_by_text("the console keeps the key")).to_have_count(0)
    both_widths(page, "23-wizard-secret")

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

    # The picker: everything folded into groups, each saying how many are chosen.
    chats = group(page, "Chats")
    expect(page.locator("details.trigger-group[open]")).to_have_count(0)
    expect(chats.locator("summary")).to_contain_text("0 of 2 chosen")
    expect(page.get_by_label("A chat starts")).to_be_hidden()
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2 * 900, f"the folded trigger step is {height} px tall"
    screenshot(page, "25-wizard-triggers-folded")

    # Search filters as you type and opens the groups that hold a match.
    page.get_by_label("Find a trigger").fill("tag")
    expect(page.get_by_label("A chat is tagged")).to_be_visible()
    expect(page.get_by_label("A tag is removed from a chat")).to_be_visible()
    expect(page.get_by_label("A message arrives")).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text("5 triggers match.")
    screenshot(page, "25-wizard-triggers-search")
    page.get_by_label("Find a trigger").fill("no such thing")
    expect(page.get_by_text("No trigger matches “no such thing”.")).to_be_visible()
    page.get_by_label("Find a trigger").fill("")
    expect(page.locator("details.trigger-group[open]")).to_have_count(0)

    # A quick pick ticks its triggers at once; nothing is sent until Save.
    page.get_by_role("button", name="Chats: started, messages, ended").click()
    expect(page).to_have_url(re.compile(r"/triggers$"))
    for title in ("A chat starts", "A message arrives", "A chat ends"):
        expect(page.get_by_label(title)).to_be_checked()
    expect(chats.locator("summary")).to_contain_text("2 of 2 chosen")
    expect(page.locator("[data-chosen-total]")).to_have_text("3 chosen")

    # A trigger's filters show once it is ticked, with a line that says what it sends.
    message = trigger(page, "A message arrives")
    expect(message.locator("[data-effect-line]")).to_have_text("A message arrives: All messages")
    expect(trigger(page, "A message is edited").locator("[data-filters]")).to_be_hidden()
    message.get_by_label("Customers only").check()
    expect(message.locator("[data-effect-line]")).to_contain_text("Only messages from customers")
    message.get_by_label("The chat's properties").check()
    expect(message.locator("[data-effect-line]")).to_have_text(
        "A message arrives: Only messages from customers; also sends the chat's properties"
    )
    expect(message.get_by_label("Their agent emails or customer IDs")).to_be_hidden()
    message.get_by_label("With one of these people").check()
    message.get_by_label("Their agent emails or customer IDs").fill("ada@example.com")
    expect(message.locator("[data-effect-line]")).to_contain_text(
        "Only messages from customers, in chats with ada@example.com;"
    )
    message.get_by_label("Any chat").check()
    message.get_by_label("Their agent emails or customer IDs").fill("")
    page.get_by_label("A chat ends").uncheck()
    expect(trigger(page, "A chat ends").locator("[data-filters]")).to_be_hidden()
    expect(chats.locator("summary")).to_contain_text("1 of 2 chosen")
    tick_triggers(page, "A chat ends")
    both_widths(page, "26-wizard-triggers")

    page.get_by_role("button", name="Save triggers and review").click()
    page.wait_for_url(re.compile(r"/review$"))
    expect(
        page.get_by_text("Only messages from customers; also sends the chat's properties")
    ).to_be_visible()
    expect(page.locator("[data-plan-counts]")).to_have_text("3 will be added")
    both_widths(page, "27-wizard-review")

    page.get_by_role("button", name="Register with LiveChat").click()
    page.wait_for_url(re.compile(r"/registration$"))
    # The run goes on in a worker; the page follows it and shows the outcome when it ends.
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
        timeout=15_000
    )
    expect(page.get_by_text("3 of 3 registered")).to_be_visible()
    expect(page.locator(".registration-rows .pill-ok")).to_have_count(3)
    screenshot(page, "28-wizard-registered")

    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("registered 3/3")).to_be_visible()
    screenshot(page, "29-webhooks-list")
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_text("3 triggers registered")).to_be_visible()
    screenshot(page, "29-overview-webhooks-done")


def test_own_inbox_then_editing_shows_what_changes_at_livechat(provisioned):
    live, page = provisioned
    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Create one →").click()
    page.get_by_role("button", name="Use the console's test inbox").click()
    # The console is the endpoint: it keeps the key, says so, and goes on to the triggers.
    page.wait_for_url(re.compile(r"/triggers$"))
    expect(page.get_by_text("The console keeps the secret key and checks every")).to_be_visible()
    # Step 2 is done; opened, it is one screen that says the console keeps the key.
    page.get_by_role("link", name="Secret key").click()
    page.wait_for_url(re.compile(r"/secret$"))
    expect(page.get_by_text("the console keeps the key")).to_be_visible()
    expect(page.get_by_role("button", name="I saved it")).to_have_count(0)
    expect(page.get_by_text("endpoint's settings")).to_have_count(0)
    both_widths(page, "33-wizard-secret-own-inbox")
    page.get_by_role("button", name="Continue to triggers").click()
    page.wait_for_url(re.compile(r"/triggers$"))

    tick_triggers(page, "A chat starts", "A message arrives", "A chat ends")
    page.get_by_role("button", name="Save triggers and review").click()
    expect(page.get_by_text("kept by the console, ends in")).to_be_visible()
    page.get_by_role("button", name="Register with LiveChat").click()
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
        timeout=15_000
    )

    # Edit: one trigger out, one narrowed down, one new.
    page.get_by_role("link", name="Triggers and filters").click()
    expect(group(page, "Chats").locator("summary")).to_contain_text("2 of 2 chosen")
    tick_triggers(page, "A message arrives")  # opens its group; it stays ticked
    trigger(page, "A message arrives").get_by_label("Customers only").check()
    tick_triggers(page, "A chat is tagged")
    group(page, "Chats").locator("summary").click()
    page.get_by_label("A chat ends").uncheck()
    page.get_by_role("button", name="Save triggers and review").click()
    page.wait_for_url(re.compile(r"/review$"))
    expect(page.locator("[data-plan-counts]")).to_have_text(
        "1 registered, 1 will be added, 1 will be replaced, 1 will be removed"
    )
    leaving = page.locator('tr[data-action="chat_deactivated"]')
    expect(leaving.locator(".pill")).to_have_text("will be removed")
    expect(leaving.locator(".pill-ok")).to_have_count(0)
    expect(page.locator('tr[data-action="incoming_event"] .pill')).to_have_text("will be replaced")
    expect(page.locator('tr[data-action="thread_tagged"] .pill')).to_have_text("will be added")
    expect(page.locator('tr[data-action="incoming_chat"] .pill')).to_have_text("registered")
    both_widths(page, "34-wizard-review-changes")

    page.get_by_role("button", name="Register with LiveChat").click()
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
        timeout=15_000
    )
    expect(page.get_by_text("3 of 3 registered")).to_be_visible()
    expect(page.locator('tr[data-action="chat_deactivated"]')).to_have_count(0)
    screenshot(page, "35-wizard-registered-after-edit")


def test_triggers_page_at_phone_width_and_by_keyboard(provisioned):
    live, page = provisioned
    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Create one →").click()
    page.get_by_label("Webhook URL").fill(f"{live.url}/hooks/elsewhere")
    page.get_by_role("button", name="Save and continue").click()
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
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # Keyboard: open a group, tick a trigger, and reach its filters without a mouse.
    group(page, "Chats").locator("summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("A chat starts")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_label("A chat starts")).to_be_checked()
    page.keyboard.press("Tab")
    expect(trigger(page, "A chat starts").get_by_label("Any chat")).to_be_focused()
    expect(trigger(page, "A chat starts").locator("[data-effect-line]")).to_contain_text(
        "All new chats"
    )
    page.keyboard.press("Enter")  # in the filters: Enter saves, it does not press a quick pick
    page.wait_for_url(re.compile(r"/review$"))
    expect(page.locator("[data-plan-counts]")).to_have_text("1 will be added")
    screenshot(page, "32-wizard-review-375px")


def test_triggers_page_without_javascript(start):
    live, open_page = start
    page = open_page(javascript=False)
    create_owner(page)
    create_first_app(page)
    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Create one →").click()
    page.get_by_role("button", name="Use the console's test inbox").click()
    page.wait_for_url(re.compile(r"/triggers$"))
    # No script: no search box; a group opens by itself, and every trigger's filters show.
    expect(page.get_by_label("Find a trigger")).to_be_hidden()
    group(page, "Events").locator("summary").click()
    expect(trigger(page, "A message is edited").get_by_label("Customers only")).to_be_visible()
    # A quick pick sends the form, which comes back with its triggers ticked and nothing saved.
    page.get_by_role("button", name="Chats: started, messages, ended").click()
    expect(page.get_by_role("status").filter(has_text="Nothing is saved until")).to_contain_text(
        "Ticked “A chat starts”, “A message arrives”, “A chat ends”."
    )
    for title in ("A chat starts", "A message arrives", "A chat ends"):
        expect(page.get_by_label(title)).to_be_checked()
    expect(group(page, "Chats").locator("summary")).to_contain_text("2 of 2 chosen")
    trigger(page, "A message arrives").get_by_label("Customers only").check()
    both_widths(page, "36-wizard-triggers-no-javascript")
    page.get_by_role("button", name="Save triggers and review").click()
    page.wait_for_url(re.compile(r"/review$"))
    expect(page.get_by_text("Only messages from customers")).to_be_visible()
    expect(page.locator("[data-plan-counts]")).to_have_text("3 will be added")
