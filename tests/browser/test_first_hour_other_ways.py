"""The first hour, the other ways: from an empty database to four verified triggers without
JavaScript and by keyboard alone, at 1280 and 375 px. The mouse walk is
test_first_hour_clicks.py; these follow the same path, with the same buttons and labels.

Without JavaScript nothing polls: the person reloads the page, as a person would, and nothing
opens in a new window: "Install app" takes this tab to LiveChat's sign-in and back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from walk import PASSWORD, SANDBOX_CONSOLE, WIDE, watch_errors

from shots import screenshot

pytestmark = pytest.mark.browser

WIDTHS = {"1280px": WIDE, "375px": {"width": 375, "height": 800}}
# (the box ticked in the wizard, its row on Install & test, the button that fires it).
TRIGGERS = [
    ("A chat starts", "incoming_chat", "A customer starts a chat"),
    ("A message arrives", "incoming_event", "A customer sends a message"),
    ("A chat ends", "chat_deactivated", "The chat is closed"),
    ("A chat is tagged", "thread_tagged", "The thread is tagged"),
]
# Without JavaScript a person reloads to see what changed: up to this many times, a second apart.
RELOADS = 30
# Tab presses allowed to reach one control.
MAX_TABS = 60


@contextmanager
def console_page(browser, live_server_factory, viewport: dict, javascript: bool) -> Iterator:
    """A sandbox-mode console (as walk.sandbox_page sets it up) and a fresh page on it, with or
    without JavaScript: (context, page). No script error by the end."""
    live = live_server_factory(**SANDBOX_CONSOLE)
    context = browser.new_context(
        base_url=live.url, viewport=viewport, java_script_enabled=javascript
    )
    page = context.new_page()
    errors = watch_errors(page)
    yield context, page
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def reload_until(page, locator, what: str) -> None:
    """Reload, a second apart, until the locator shows; at most RELOADS times."""
    for _ in range(RELOADS):
        try:
            expect(locator).to_be_visible(timeout=1_000)
            return
        except AssertionError:
            page.reload()
    expect(locator, f"{what}, after {RELOADS} reloads").to_be_visible(timeout=1_000)


def tab_to(page, locator, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab backwards) until the locator has the focus; at most MAX_TABS."""
    expect(locator).to_be_attached()
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        if locator.evaluate("element => element === document.activeElement"):
            break
    expect(locator, f"focus after at most {MAX_TABS} presses of {key}").to_be_focused()


def press(page, locator, key: str = "Enter") -> None:
    """Tab to a control and press a key on it."""
    tab_to(page, locator)
    page.keyboard.press(key)


def type_into(page, locator, text: str) -> None:
    """Tab to a field and type in it."""
    tab_to(page, locator)
    page.keyboard.type(text)


@pytest.mark.parametrize("width", WIDTHS)
def test_without_javascript(browser, live_server_factory, width):
    viewport = WIDTHS[width]
    with console_page(browser, live_server_factory, viewport, javascript=False) as (context, page):
        page.goto("/")
        page.get_by_label("Your email").fill("owner@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create owner account").click()

        page.get_by_label("App name").fill("Helpdesk")
        page.get_by_role("button", name="Create app").click()

        expect(page.locator('[aria-current="step"]')).to_have_text("Webhook URL")
        page.get_by_role("button", name="Use the console's test inbox").click()
        expect(page.locator('[aria-current="step"]')).to_have_text("Triggers and filters")
        # The quick pick is a submit button: the server ticks the boxes and shows the page again.
        page.get_by_role("button", name="Chats: started, messages, ended").click()
        for label in ("A chat starts", "A message arrives", "A chat ends"):
            expect(page.get_by_label(label)).to_be_checked()
        message = page.locator("[data-trigger]").filter(has=page.get_by_label("A message arrives"))
        message.get_by_label("Customers only").check()
        tagged = page.get_by_label("A chat is tagged")
        group = page.locator("details.trigger-group").filter(has=tagged)
        if group.get_attribute("open") is None:
            group.locator("summary").click()
        tagged.check()
        screenshot(page, f"first-hour-nojs-3-triggers-{width}")
        page.get_by_role("button", name="Save triggers and review").click()

        page.get_by_role("button", name="Register with LiveChat").click()
        reload_until(
            page,
            page.get_by_role("heading", name="Registered with LiveChat"),
            "registration finished",
        )
        screenshot(page, f"first-hour-nojs-4-registered-{width}")

        # "Install app" takes this very tab to the sign-in: no new window opens.
        page.get_by_role("button", name="Next: Install app").click()
        expect(page.get_by_role("button", name="Allow")).to_be_visible()
        assert len(context.pages) == 1, "the sign-in opened another window"
        screenshot(page, f"first-hour-nojs-5-allow-{width}")
        page.get_by_role("button", name="Allow").click()

        # Back in the console: the sign-in's last page leads on to Install & test.
        expect(page.get_by_role("heading", name="Installed")).to_be_visible()
        screenshot(page, f"first-hour-nojs-6-installed-{width}")
        page.get_by_role("link", name="Next: Install & test").click()
        expect(page.get_by_role("heading", name="Install & test")).to_be_visible()
        reload_until(
            page,
            page.locator('li[data-check="license_webhooks"] .pill-ok'),
            "license webhooks verified",
        )

        for _, action, button in TRIGGERS:
            row = page.locator(f'li[data-check="trigger:{action}"]')
            row.get_by_role("button", name=button).click()
            reload_until(
                page,
                page.locator(f'li[data-check="trigger:{action}"] [data-pill] .pill-ok'),
                f"{action} verified",
            )
        reload_until(page, page.locator("#test-done"), "every trigger verified")
        screenshot(page, f"first-hour-nojs-7-verified-{width}")


@pytest.mark.parametrize("width", WIDTHS)
def test_by_keyboard_alone(browser, live_server_factory, width):
    viewport = WIDTHS[width]
    with console_page(browser, live_server_factory, viewport, javascript=True) as (_, page):
        page.goto("/")
        type_into(page, page.get_by_label("Your email"), "owner@example.com")
        type_into(page, page.get_by_label("Password"), PASSWORD)
        press(page, page.get_by_role("button", name="Create owner account"))

        type_into(page, page.get_by_label("App name"), "Helpdesk")
        press(page, page.get_by_role("button", name="Create app"))

        expect(page.locator('[aria-current="step"]')).to_have_text("Webhook URL")
        press(page, page.get_by_role("button", name="Use the console's test inbox"))
        expect(page.locator('[aria-current="step"]')).to_have_text("Triggers and filters")
        press(page, page.get_by_role("button", name="Chats: started, messages, ended"))
        for label in ("A chat starts", "A message arrives", "A chat ends"):
            expect(page.get_by_label(label)).to_be_checked()
        # A radio group takes one Tab; the arrow keys move the choice within it.
        message = page.locator("[data-trigger]").filter(has=page.get_by_label("A message arrives"))
        press(page, message.get_by_label("Anyone"), "ArrowDown")
        expect(message.get_by_label("Customers only")).to_be_checked()
        expect(message.locator("[data-effect-text]")).to_have_text("Only messages from customers")
        tagged = page.get_by_label("A chat is tagged")
        group = page.locator("details.trigger-group").filter(has=tagged)
        if group.get_attribute("open") is None:
            press(page, group.locator("summary"))
        press(page, tagged, "Space")
        expect(tagged).to_be_checked()
        screenshot(page, f"first-hour-keyboard-3-triggers-{width}")
        press(page, page.get_by_role("button", name="Save triggers and review"))

        press(page, page.get_by_role("button", name="Register with LiveChat"))
        expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
            timeout=20_000
        )

        # LiveChat's (the sandbox's) sign-in opens in a popup; Allow there, by keyboard too.
        with page.expect_popup() as opened:
            press(page, page.get_by_role("button", name="Next: Install app"))
        popup = opened.value
        press(popup, popup.get_by_role("button", name="Allow"))
        popup.wait_for_event("close", timeout=15_000)
        page.wait_for_url("**/test/", timeout=15_000)
        expect(page.locator('li[data-check="license_webhooks"] .pill-ok')).to_be_visible(
            timeout=15_000
        )

        for _, action, button in TRIGGERS:
            row = page.locator(f'li[data-check="trigger:{action}"]')
            press(page, row.get_by_role("button", name=button))
            expect(row.locator("[data-pill] .pill-ok")).to_be_visible(timeout=60_000)
        expect(page.locator("#test-done")).to_be_visible(timeout=30_000)
        screenshot(page, f"first-hour-keyboard-7-verified-{width}")
