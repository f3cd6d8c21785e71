"""One way forward, and asking before removing, as a person meets them: after each step the
next one is the page's one primary button; destructive buttons open a page that says what goes
and what stays; at 375 px every tab is in view and the sign-in popup fits the screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from walk import create_owner, watch_errors

from consoleapp.crypto import new_uid
from consoleapp.extensions import db
from consoleapp.models import App, Role, WebhookSet, WebhookTrigger, WizardStep, utcnow
from shots import screenshot
from support import add_user

pytestmark = pytest.mark.browser

NARROW = {"width": 375, "height": 800}
WIDE = {"width": 1280, "height": 900}
TABS = ["Overview", "Authorization", "Webhooks", "Install & test", "Inbox"]


@pytest.fixture
def live(live_server_factory):
    return live_server_factory(
        WTF_CSRF_ENABLED=True,
        TESTING=False,
        SANDBOX_DELIVERY_TIMEOUT=5,
        ENVIRON={"SANDBOX_PROVISIONING": "on"},
    )


@pytest.fixture
def context(browser, live):
    context = browser.new_context(base_url=live.url, viewport=WIDE)
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


@pytest.fixture
def page(context):
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    assert errors == [], f"the browser reported errors: {errors}"


def create_app(page, name: str = "Helpdesk") -> int:
    """The first run and a new app; it lands on its next step, the webhook wizard."""
    create_owner(page)
    page.get_by_label("App name").fill(name)
    page.get_by_role("button", name="Create app").click()
    page.wait_for_url(re.compile(r"/apps/\d+/webhooks/new$"))
    expect(page.locator('[aria-current="step"]')).to_have_text("Webhook URL")
    return int(re.search(r"/apps/(\d+)/", page.url).group(1))


def ready_set(live, app_id: int, triggers: dict[str, dict]) -> str:
    """A set with the three steps answered (the console's own inbox), ready to register."""
    with live.app.app_context():
        token = new_uid()
        webhook_set = WebhookSet(
            app_id=app_id,
            target_url=f"{live.url}/hooks/{token}",
            inbox_token=token,
            api_version=db.session.get(App, app_id).api_version,
            wizard_step=WizardStep.REVIEW,
            secret_saved_at=utcnow(),
            triggers=[WebhookTrigger(action=a, filters=f) for a, f in triggers.items()],
        )
        webhook_set.set_secret_key("browser-test-secret-key")
        db.session.add(webhook_set)
        db.session.commit()
        return webhook_set.uid


def at_both_widths(page, name: str) -> None:
    screenshot(page, f"{name}-1280px")
    page.set_viewport_size(NARROW)
    screenshot(page, f"{name}-375px")
    page.set_viewport_size(WIDE)


def test_a_new_app_lands_on_its_next_step(page, live):
    app_id = create_app(page)
    expect(page.get_by_text("The sandbox filled in its Client ID, secret and")).to_be_visible()
    at_both_widths(page, "ux-00-new-app-lands-on-webhooks")

    tabs = page.get_by_role("navigation", name="App sections")
    tabs.get_by_role("link", name="Authorization").click()
    expect(page.get_by_text("The sandbox filled these in")).to_be_visible()
    expect(page.get_by_text("Copy these from")).to_have_count(0)
    # Each saved hint sits under its own field.
    secret_hint = page.locator("#auth-client_secret-note")
    expect(secret_hint).to_contain_text("Saved secret ends in")
    expect(page.get_by_label("Client Secret")).to_have_attribute(
        "aria-describedby", re.compile("auth-client_secret-note")
    )
    primary = page.locator("main .button-primary")
    expect(primary).to_have_count(1)
    expect(primary).to_have_text("Next: Webhooks")
    at_both_widths(page, "ux-00-authorization-sandbox")
    primary.click()
    page.wait_for_url(f"**/apps/{app_id}/webhooks/new")

    tabs.get_by_role("link", name="Overview").click()
    expect(page.locator("main .button-primary")).to_have_text("Set up webhooks")
    at_both_widths(page, "ux-00-overview")


def test_from_register_to_every_trigger_verified_one_button_at_a_time(page, live):
    app_id = create_app(page)
    uid = ready_set(
        live, app_id, {"incoming_chat": {}, "incoming_event": {"author_type": "customer"}}
    )
    page.goto(f"/apps/{app_id}/webhooks/{uid}/review")
    page.get_by_role("button", name=re.compile("Register")).click()
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible(
        timeout=20_000
    )
    primary = page.locator("main .button-primary")
    expect(primary).to_have_count(1)
    # Not installed yet: installing is the next step, right here.
    expect(primary).to_have_text("Next: Install app")
    at_both_widths(page, "ux-01-registered-next-install")

    page.get_by_role("link", name="Remove from LiveChat…").click()
    expect(
        page.get_by_role("heading", name="Remove this set's webhooks from LiveChat?")
    ).to_be_visible()
    expect(page.get_by_text("A chat starts", exact=True)).to_be_visible()
    expect(page.get_by_text("The set in this console")).to_be_visible()
    at_both_widths(page, "ux-02-remove-confirm")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Registered with LiveChat")).to_be_visible()

    with page.expect_popup() as opened:
        page.get_by_role("button", name="Next: Install app").click()
    popup = opened.value
    popup.get_by_role("button", name="Allow").click()
    popup.wait_for_event("close", timeout=15_000)
    # Once installed, the page behind the popup goes on to Install & test.
    page.wait_for_url(f"**/apps/{app_id}/test/", timeout=15_000)
    installed = page.locator('li[data-check="installed"]')
    expect(installed).to_contain_text("your LiveChat organization", timeout=15_000)
    expect(page.locator('li[data-check="license_webhooks"] .pill-ok')).to_be_visible(timeout=15_000)
    # The primary buttons are the triggers now.
    primary = page.locator("main .button-primary")
    expect(primary).to_have_count(2)
    expect(primary.first).to_have_text("A customer starts a chat")
    # The customers-only trigger's button says what it makes happen.
    expect(primary.last).to_have_text("A customer sends a message")

    page.get_by_role("button", name="A customer starts a chat").click()
    banner = page.locator("[data-test-banner]")
    # "Started: … Waiting for LiveChat's delivery…" first, unless the delivery beat the page.
    expect(banner).to_contain_text("a customer starts a chat.")
    # The banner follows the row: no "Waiting" once the row is verified.
    expect(banner).to_contain_text("Done: a customer starts a chat.", timeout=60_000)
    expect(banner).not_to_contain_text("Waiting")
    at_both_widths(page, "ux-03-test-banner-verified")

    page.get_by_role("button", name="A customer sends a message").click()
    done = page.locator("#test-done")
    expect(done).to_be_visible(timeout=60_000)
    expect(done).to_contain_text(re.compile(r"It took \d+ s from creating the app\."))
    expect(page.get_by_text("6 of 6 verified")).to_be_visible()
    expect(done.get_by_role("link", name="Open the Inbox")).to_be_visible()
    at_both_widths(page, "ux-04-test-done")


def test_every_tab_is_in_view_at_375px(context, live):
    page = context.new_page()
    page.set_viewport_size(NARROW)
    app_id = create_app(page)
    pages = {
        "Overview": f"/apps/{app_id}",
        "Authorization": f"/apps/{app_id}/authorization",
        "Webhooks": f"/apps/{app_id}/webhooks/",
        "Install & test": f"/apps/{app_id}/test/",
        "Inbox": f"/apps/{app_id}/inbox/",
    }
    for current, path in pages.items():
        page.goto(path)
        tabs = page.get_by_role("navigation", name="App sections")
        for name in TABS:
            expect(tabs.get_by_role("link", name=name, exact=True)).to_be_in_viewport(ratio=1)
        expect(tabs.locator('[aria-current="page"]')).to_have_text(current)
        screenshot(page, f"ux-tabs-375px-{current.split()[0].lower()}")


def test_the_sign_in_popup_fits_a_375px_screen(context, live):
    # Playwright gives the popup the page's viewport; what the page asked for is the test.
    context.add_init_script(
        """
        window.__opened = [];
        const open = window.open;
        window.open = (...args) => { window.__opened.push(args[2] || ""); return open(...args); };
        """
    )
    page = context.new_page()
    page.set_viewport_size(NARROW)
    app_id = create_app(page)
    page.goto(f"/apps/{app_id}/install/connection")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Install app").click()
    popup = opened.value
    popup.wait_for_url(re.compile(r"/sandbox/accounts/\?"))
    [features] = page.evaluate("window.__opened")
    width = int(re.search(r"width=(\d+)", features).group(1))
    height = int(re.search(r"height=(\d+)", features).group(1))
    assert width <= NARROW["width"] and height <= NARROW["height"], features
    screenshot(popup, "ux-popup-consent-375px")


def test_removing_a_teammate_and_deleting_a_set_ask_first(page, live):
    app_id = create_app(page)
    add_user(live.app, "nick@example.com", Role.VIEWER)
    page.goto("/team/")
    page.get_by_role("link", name="Remove nick@example.com…").click()
    expect(
        page.get_by_role("heading", name="Remove nick@example.com from the team?")
    ).to_be_visible()
    expect(page.get_by_text("What they did, in the audit log.")).to_be_visible()
    at_both_widths(page, "ux-05-teammate-remove-confirm")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("cell", name="nick@example.com", exact=True)).to_be_visible()
    page.get_by_role("link", name="Remove nick@example.com…").click()
    page.get_by_role("button", name="Remove nick@example.com").click()
    expect(page.get_by_text("nick@example.com was removed and signed out.")).to_be_visible()

    uid = ready_set(live, app_id, {"incoming_chat": {}})
    page.goto(f"/apps/{app_id}/webhooks/{uid}/registration")
    page.get_by_role("link", name="Delete this set…").click()
    expect(page.get_by_role("heading", name="Delete this webhook set?")).to_be_visible()
    expect(page.get_by_text("Everything at LiveChat")).to_be_visible()
    at_both_widths(page, "ux-06-set-delete-confirm")
    page.get_by_role("button", name="Delete this set").click()
    expect(page.get_by_text("Webhook set deleted.")).to_be_visible()

    page.goto(f"/apps/{app_id}/delete")
    expect(page.get_by_role("heading", name="Delete “Helpdesk”?")).to_be_visible()
    at_both_widths(page, "ux-07-app-delete-confirm")
