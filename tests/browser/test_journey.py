"""Walk the foundation as a person would: first run, an app, its authorization, the team."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from walk import PASSWORD, create_owner

from shots import screenshot

pytestmark = pytest.mark.browser


def test_first_run_app_and_authorization(page, live_server):
    page.goto("/")
    screenshot(page, "01-setup")
    page.get_by_role("button", name="Create owner account").click()
    expect(page.get_by_text("Enter an email address.")).to_be_visible()
    create_owner(page)
    # The first run goes on to its next step, the new-app form; the Apps page is still empty.
    expect(page.get_by_text("Next: create your first app.")).to_be_visible()
    expect(page.get_by_role("heading", name="Create an app")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Apps").click()
    expect(page.get_by_role("heading", name="No apps yet")).to_be_visible()
    screenshot(page, "02-apps-empty")

    page.get_by_role("link", name="Create your first app →").click()
    screenshot(page, "03-app-new")
    page.get_by_label("App name").fill("<b>Helpdesk</b> sync")
    page.get_by_role("button", name="Create app").click()
    page.wait_for_url(re.compile(r"/apps/\d+/authorization$"))
    expect(page.get_by_role("heading", name="<b>Helpdesk</b> sync")).to_be_visible()

    page.get_by_label("Client ID").fill("abc123client")
    page.get_by_label("Client Secret").fill("client-secret-value-9876")
    page.get_by_label("Redirect URI whitelist").fill("http://127.0.0.1:9999/")
    page.get_by_role("button", name="Save authorization").click()
    expect(
        page.get_by_text("No whitelist entry accepts the Direct installation URL")
    ).to_be_visible()
    screenshot(page, "04-authorization-error")

    proposed = page.locator("code.copyable").first.inner_text()
    page.get_by_label("Redirect URI whitelist").fill(proposed)
    page.get_by_label("Client Secret").fill("client-secret-value-9876")
    page.get_by_role("button", name="Save authorization").click()
    expect(page.get_by_text("Authorization settings saved.")).to_be_visible()
    expect(page.get_by_text("Saved secret ends in")).to_be_visible()
    assert "client-secret-value-9876" not in page.content()
    screenshot(page, "05-authorization-saved")

    page.get_by_label("LiveChat account ID").fill("b7eff798-f8df-4364-8059-649c35c9ed0c")
    page.get_by_label("Personal Access Token").fill("pat-token-value-1234")
    page.get_by_role("button", name="Save credential").click()
    expect(page.get_by_text("Developer credential saved.")).to_be_visible()

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Set-up checklist")).to_be_visible()
    screenshot(page, "06-app-overview")

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_text("changed authorization settings")).to_be_visible()
    screenshot(page, "07-audit-log")


def test_team_invitation_and_mobile_width(page, browser, live_server):
    create_owner(page)
    page.get_by_role("link", name="Team").click()
    page.get_by_label("Teammate's email").fill("viewer@example.com")
    page.get_by_role("button", name="Create invitation link").click()
    expect(page.locator("#invite-link")).to_contain_text("/invitations/")
    link = page.locator("#invite-link").inner_text()
    screenshot(page, "08-team-invited")

    guest = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 800})
    other = guest.new_page()
    other.goto(link)
    screenshot(other, "09-invitation-accept-375px")
    other.get_by_label("Choose a password").fill(PASSWORD)
    other.get_by_role("button", name="Create my account").click()
    other.wait_for_url("**/apps/")
    expect(other.get_by_text("Viewer", exact=True)).to_be_visible()
    expect(other.get_by_role("link", name="Create app")).to_have_count(0)
    screenshot(other, "10-apps-viewer-375px")
    other.goto(link)
    expect(other.get_by_role("heading", name="This invitation link does not work")).to_be_visible()
    guest.close()


def test_keyboard_alone_signs_in_and_skips_navigation(page, live_server):
    create_owner(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    screenshot(page, "11-login")
    # The email field has focus on arrival; the keyboard does the rest.
    page.keyboard.type("owner@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/apps/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    expect(page.get_by_role("link", name="Skip to content")).to_be_visible()


def test_sandbox_hands_a_new_app_its_credentials(browser, live_server_factory):
    live = live_server_factory(
        WTF_CSRF_ENABLED=True, TESTING=False, ENVIRON={"SANDBOX_PROVISIONING": "on"}
    )
    context = browser.new_context(base_url=live.url)
    page = context.new_page()
    create_owner(page)
    page.get_by_label("App name").fill("Sandbox demo")
    page.get_by_role("button", name="Create app").click()
    # Nothing to fill in: the new app lands on its next step, the webhook wizard.
    page.wait_for_url(re.compile(r"/apps/\d+/webhooks/new$"))
    expect(page.get_by_text("The sandbox filled in its Client ID, secret and")).to_be_visible()
    screenshot(page, "12-sandbox-provisioned-lands-on-webhooks")
    page.get_by_role("navigation", name="App sections").get_by_role(
        "link", name="Authorization"
    ).click()
    expect(page.get_by_text("The sandbox filled these in")).to_be_visible()
    expect(page.get_by_label("Client ID")).not_to_have_value("")
    expect(page.get_by_text("Saved secret ends in")).to_be_visible()
    expect(page.get_by_text("Saved token ends in")).to_be_visible()
    screenshot(page, "12-sandbox-provisioned-authorization")
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_text("done", exact=True)).to_have_count(2)
    context.close()


def test_error_pages_say_what_to_do(page, live_server):
    create_owner(page)
    response = page.goto("/apps/424242")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    screenshot(page, "13-not-found")
    page.get_by_role("link", name="Go to the start page").click()
    page.wait_for_url("**/apps/")
