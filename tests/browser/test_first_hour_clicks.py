"""The first hour, counted: from an empty database to four verified triggers, as a person does
it (visible buttons, links and labels only; the first page is the only address typed). Every
click goes through one counter, typed fields separately; the counts are printed (run with -s)
and held to at most 12 clicks to the first verified row and 16 to all four.

Every page it passes is saved with the other screenshots. At 1280 px the walk also takes the
README's pictures of it (what is on screen, 1280 × 800): with `DOCS_IMAGES=1` it writes them
to docs/images/first-webhook-*.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from walk import PASSWORD, sandbox_page

from shots import screenshot

pytestmark = pytest.mark.browser

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
WIDTHS = {
    "1280px": {"width": 1280, "height": 800},
    "375px": {"width": 375, "height": 800},
}
# (the box ticked in the wizard, its row on Install & test, the button that fires it), in the
# order a person presses them.
TRIGGERS = [
    ("A chat starts", "incoming_chat", "A customer starts a chat"),
    ("A message arrives", "incoming_event", "A customer sends a message"),
    ("A chat ends", "chat_deactivated", "The chat is closed"),
    ("A chat is tagged", "thread_tagged", "The thread is tagged"),
]


class Counter:
    """What the walk costs a person: every click (a tick is a click) and every typed field."""

    def __init__(self) -> None:
        self.clicks = 0
        self.typed = 0

    def click(self, locator) -> None:
        locator.click()
        self.clicks += 1

    def type(self, locator, text: str) -> None:
        locator.fill(text)
        self.typed += 1


def picture(page, width: str, name: str, full_page: bool = False) -> None:
    """The page, whole, with the other screenshots; and what is on screen for the README's
    walkthrough when DOCS_IMAGES is set (1280 px only)."""
    screenshot(page, f"first-hour-{name}-{width}")
    if width == "1280px" and os.environ.get("DOCS_IMAGES"):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMAGES / f"first-webhook-{name}.png"), full_page=full_page)


def to_top(locator) -> None:
    """Scroll so that this part of the page starts at the top of the window."""
    locator.evaluate("element => element.scrollIntoView({block: 'start'})")


@pytest.mark.parametrize("width", WIDTHS)
def test_from_an_empty_database_to_four_verified_triggers(browser, live_server_factory, width):
    with sandbox_page(browser, live_server_factory, WIDTHS[width]) as (_live, page):
        count = Counter()
        page.goto("/")
        count.type(page.get_by_label("Your email"), "owner@example.com")
        count.type(page.get_by_label("Password"), PASSWORD)
        count.click(page.get_by_role("button", name="Create owner account"))

        # The first run goes on to the new-app form.
        count.type(page.get_by_label("App name"), "Helpdesk")
        picture(page, width, "1-create-app")
        count.click(page.get_by_role("button", name="Create app"))

        # The sandbox filled in the app's authorization: the wizard comes next.
        expect(page.locator('[aria-current="step"]')).to_have_text("Webhook URL")
        picture(page, width, "2-webhook-url")
        # The console's own inbox: the console keeps the secret key, so on to the triggers.
        count.click(page.get_by_role("button", name="Use the console's test inbox"))
        expect(page.locator('[aria-current="step"]')).to_have_text("Triggers and filters")
        count.click(page.get_by_role("button", name="Chats: started, messages, ended"))
        message = page.locator("[data-trigger]").filter(has=page.get_by_label("A message arrives"))
        count.click(message.get_by_label("Customers only"))
        expect(message.locator("[data-effect-text]")).to_have_text("Only messages from customers")
        tagged = page.get_by_label("A chat is tagged")
        group = page.locator("details.trigger-group").filter(has=tagged)
        if group.get_attribute("open") is None:
            count.click(group.locator("summary"))
        count.click(tagged)
        to_top(page.locator("details.trigger-group").filter(has=message))
        picture(page, width, "3-triggers")
        count.click(page.get_by_role("button", name="Save triggers and review"))

        count.click(page.get_by_role("button", name="Register with LiveChat"))
        expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
            timeout=20_000
        )
        picture(page, width, "4-registered")

        # Installing is the next step: LiveChat's (the sandbox's) sign-in opens in a popup.
        with page.expect_popup() as opened:
            count.click(page.get_by_role("button", name="Next: Install app"))
        popup = opened.value
        expect(popup.get_by_role("button", name="Allow")).to_be_visible()
        picture(popup, width, "5-allow", full_page=True)
        count.click(popup.get_by_role("button", name="Allow"))
        popup.wait_for_event("close", timeout=15_000)
        page.wait_for_url("**/test/", timeout=15_000)
        expect(page.locator('li[data-check="license_webhooks"] .pill-ok')).to_be_visible(
            timeout=15_000
        )

        to_first = None
        for _, action, button in TRIGGERS:
            row = page.locator(f'li[data-check="trigger:{action}"]')
            count.click(row.get_by_role("button", name=button))
            expect(row.locator("[data-pill] .pill-ok")).to_be_visible(timeout=60_000)
            to_first = to_first or count.clicks
        expect(page.locator("#test-done")).to_be_visible(timeout=30_000)
        to_top(page.get_by_role("heading", name="Event received, secret verified"))
        picture(page, width, "6-verified")

    print(
        f"\n{width}: clicks to first verified: {to_first}, clicks to all four: {count.clicks}, "
        f"typed fields: {count.typed}"
    )
    assert to_first <= 12, f"{to_first} clicks to the first verified row"
    assert count.clicks <= 16, f"{count.clicks} clicks to all four verified"
    assert count.typed == 3, "email, password, the app's name"
