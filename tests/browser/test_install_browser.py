"""Private installation as a person does it: "Install app" opens LiveChat's sign-in in a popup,
Allow installs the app, the popup closes by itself and the page behind it updates."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from walk import create_first_app, create_owner

from shots import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def live(live_server_factory):
    return live_server_factory(
        WTF_CSRF_ENABLED=True, TESTING=False, ENVIRON={"SANDBOX_PROVISIONING": "on"}
    )


@pytest.fixture
def page(browser, live):
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield page
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def create_app(page) -> str:
    create_owner(page)
    app_id = create_first_app(page, "Helpdesk")
    return f"{page.url.split('/apps/')[0]}/apps/{app_id}"


def test_install_in_a_popup_that_closes_itself(page):
    app_url = create_app(page)
    page.goto(f"{app_url}/install/connection")
    expect(page.get_by_text("Not installed yet.")).to_be_visible()
    screenshot(page, "install-01-not-installed")

    with page.expect_popup() as opened:
        page.get_by_role("button", name="Install app").click()
    popup = opened.value
    # The script opens the popup empty; the form's POST then fills it with LiveChat's page.
    popup.wait_for_url(re.compile(r"/sandbox/accounts/\?"))
    expect(popup.get_by_role("button", name="Allow")).to_be_visible()
    screenshot(popup, "install-02-consent-popup")

    popup.get_by_role("button", name="Allow").click()
    popup.wait_for_event("close", timeout=15000)

    # The page behind the popup notices the installation by itself.
    expect(page.get_by_text("Installed on your LiveChat organization")).to_be_visible(
        timeout=15_000
    )
    expect(page.get_by_text("on", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Install again")).to_be_visible()
    screenshot(page, "install-03-installed")

    # Disconnecting asks first, saying what goes and what stays; Cancel changes nothing.
    page.get_by_role("link", name="Disconnect LiveChat…").click()
    expect(page.get_by_role("heading", name="Disconnect Helpdesk from LiveChat?")).to_be_visible()
    expect(page.get_by_text("The app on the license in LiveChat")).to_be_visible()
    screenshot(page, "install-03b-disconnect-confirm")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_text("Installed on your LiveChat organization")).to_be_visible()
    page.get_by_role("link", name="Disconnect LiveChat…").click()
    page.get_by_role("button", name="Disconnect LiveChat").click()
    expect(page.get_by_text("LiveChat disconnected")).to_be_visible()
    expect(page.get_by_text("Not installed yet.")).to_be_visible()
    screenshot(page, "install-04-disconnected")


def test_a_callback_without_our_state_offers_a_fresh_sign_in(page):
    app_url = create_app(page)
    response = page.goto(f"{app_url}/install/callback?code=dal:from-the-marketplace")
    assert response is not None and response.status == 400
    expect(
        page.get_by_text("Sign-in expired or was started elsewhere; start again.")
    ).to_be_visible()
    screenshot(page, "install-05-expired")
    # Shown where the callback landed (usually the popup), so it signs in again right there.
    page.get_by_role("button", name="Start sign-in").click()
    page.wait_for_url(re.compile(r"/sandbox/accounts/\?"))
    expect(page.get_by_role("button", name="Allow")).to_be_visible()


def test_disconnect_keeps_its_message_when_the_answer_is_slow(page, live):
    """The disconnect is committed before its answer arrives; whatever polls meanwhile, the
    answer's message must still be shown (the confirmation page's form posts it)."""
    app_url = create_app(page)
    page.goto(f"{app_url}/install/connection")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Install app").click()
    popup = opened.value
    popup.get_by_role("button", name="Allow").click()
    popup.wait_for_event("close", timeout=15_000)
    expect(page.get_by_text("Installed on your LiveChat organization")).to_be_visible(
        timeout=15_000
    )

    disconnect = live.app.view_functions["install.disconnect"]

    def answer_slowly(**kwargs):
        response = disconnect(**kwargs)  # committed: the status the page polls has changed
        time.sleep(4)  # longer than the page's 2 s poll
        return response

    live.app.view_functions["install.disconnect"] = answer_slowly
    page.get_by_role("link", name="Disconnect LiveChat…").click()
    page.get_by_role("button", name="Disconnect LiveChat").click()
    expect(page.get_by_text("LiveChat disconnected")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Not installed yet.")).to_be_visible()
