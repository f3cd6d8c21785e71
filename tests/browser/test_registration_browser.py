"""Registration as a person sees it: the page answers at once, rows move from queued to
registering to registered while a worker works, Cancel stops it, and Register finishes it."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect
from walk import create_first_app, create_owner, tick_triggers, watch_errors

from shots import screenshot

pytestmark = pytest.mark.browser

SOME = ["A chat starts", "A chat ends", "A chat is tagged", "An agent is added"]


@pytest.fixture
def walked(browser, live_server_factory):
    live = live_server_factory(
        WTF_CSRF_ENABLED=True, TESTING=False, ENVIRON={"SANDBOX_PROVISIONING": "on"}
    )
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    create_owner(page)
    create_first_app(page)
    page.get_by_role("navigation", name="App sections").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Create one →").click()
    page.get_by_role("button", name="Use the console's test inbox").click()
    tick_triggers(page, *SOME)
    page.get_by_role("button", name="Save triggers and review").click()
    page.wait_for_url(re.compile(r"/review$"))
    yield live, page
    requests.delete(f"{live.url}/sandbox/faults", timeout=5)
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def slow_livechat(live, milliseconds: int) -> None:
    fault = {"kind": "latency", "method": "register_webhook", "value": milliseconds}
    requests.post(f"{live.url}/sandbox/faults", json=fault, timeout=5).raise_for_status()


def test_register_shows_each_trigger_live_and_cancel_stops_it(walked):
    live, page = walked
    live.app.config["REGISTRATION_IN_FLIGHT"] = 1  # one call at a time: room to press Cancel
    slow_livechat(live, 1500)
    page.get_by_role("button", name="Register with LiveChat").click()
    page.wait_for_url(re.compile(r"/registration$"))
    expect(page.get_by_role("heading", name="Registering with LiveChat")).to_be_visible()
    expect(page.get_by_text("registering…")).to_be_visible()
    screenshot(page, "29-registration-running")

    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Cancel requested. Nothing new is sent to LiveChat.")).to_be_visible()
    # The call in flight finishes, what it made is removed, and the run ends by itself.
    expect(page.get_by_role("button", name="Register with LiveChat")).to_be_visible(timeout=20_000)
    expect(page.locator(".registration-rows .pill-ok")).to_have_count(0)
    expect(page.get_by_text("Registration was cancelled.")).to_be_visible()
    screenshot(page, "30-registration-cancelled")

    requests.delete(f"{live.url}/sandbox/faults", timeout=5)
    live.app.config["REGISTRATION_IN_FLIGHT"] = 8
    page.get_by_role("button", name="Register with LiveChat").click()
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
        timeout=15_000
    )
    expect(page.get_by_text(f"{len(SOME)} of {len(SOME)} registered")).to_be_visible()


def test_leaving_the_page_does_not_stop_the_run(walked):
    live, page = walked
    slow_livechat(live, 700)
    page.get_by_role("button", name="Register with LiveChat").click()
    page.wait_for_url(re.compile(r"/registration$"))
    url = page.url
    page.get_by_role("link", name="Overview").click()
    page.goto(url)
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
        timeout=20_000
    )
    expect(page.locator(".registration-rows .pill-ok")).to_have_count(len(SOME))
