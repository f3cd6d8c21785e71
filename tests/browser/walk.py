"""Steps every browser walk starts with, done the way a person does them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

PASSWORD = "a long enough password"


def watch_errors(page) -> list[str]:
    """Collect script errors; 4xx answers to form posts are expected validation errors."""
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and "the server responded with a status of 4" not in (
            message.text
        ):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


# A sandbox-mode console with CSRF on, as people meet it: creating an app asks the sandbox for
# its credentials; the sandbox gives up on a delivery nobody answers after 5 s.
SANDBOX_CONSOLE = {
    "WTF_CSRF_ENABLED": True,
    "TESTING": False,
    "SANDBOX_DELIVERY_TIMEOUT": 5,
    "ENVIRON": {"SANDBOX_PROVISIONING": "on"},
}
WIDE = {"width": 1280, "height": 900}


@contextmanager
def sandbox_page(browser, live_server_factory, viewport: dict | None = None) -> Iterator:
    """A sandbox-mode console and a fresh browser page on it: (live, page). The page must
    report no script error by the end."""
    live = live_server_factory(**SANDBOX_CONSOLE)
    context = browser.new_context(base_url=live.url, viewport=viewport or WIDE)
    page = context.new_page()
    errors = watch_errors(page)
    yield live, page
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def create_owner(page, email: str = "owner@example.com") -> None:
    """The first run: the setup page makes the owner account, signs in and goes on to the
    new-app form."""
    page.goto("/")
    page.get_by_label("Your email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create owner account").click()
    page.wait_for_url("**/apps/new")


# Where a new app lands: its next step, the webhook wizard once the sandbox filled in its
# authorization, or the Authorization page when someone must.
LANDED = re.compile(r"/apps/(\d+)/(authorization|webhooks/new)$")


def create_first_app(page, name: str = "Helpdesk sync") -> int:
    """From the new-app form the first run lands on, create an app; returns its id. The page
    is then on the app's next step: the webhook wizard in sandbox mode, Authorization
    otherwise."""
    page.get_by_label("App name").fill(name)
    page.get_by_role("button", name="Create app").click()
    page.wait_for_url(LANDED)
    return int(LANDED.search(page.url).group(1))


def tick_triggers(page, *labels: str) -> None:
    """On the triggers step, as a person does: open the trigger's group, then tick it."""
    for label in labels:
        box = page.get_by_label(label)
        group = page.locator("details.trigger-group").filter(has=box)
        if group.get_attribute("open") is None:
            group.locator("summary").click()
        box.check()
