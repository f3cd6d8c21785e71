"""Your account, password reset links and ended sessions, as a person meets them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from walk import PASSWORD, create_first_app, create_owner, watch_errors

from consoleapp.models import Role
from shots import both_widths, screenshot
from support import TEST_PASSWORD, add_user

pytestmark = pytest.mark.browser

NEW_PASSWORD = "an even longer password"


def sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/apps/")


@pytest.fixture
def second_browser(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def test_the_account_page_signs_out_elsewhere_and_changes_the_password(page, second_browser):
    create_owner(page)
    sign_in(second_browser, "owner@example.com", PASSWORD)

    page.get_by_role("link", name="owner@example.com").click()
    page.wait_for_url("**/account")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    sessions = page.get_by_role("list").filter(has_text="this session")
    expect(sessions.get_by_role("listitem")).to_have_count(2)
    expect(sessions.get_by_text("this session")).to_have_count(1)
    expect(sessions.get_by_text("Chrome on Linux").first).to_be_visible()
    both_widths(page, "80-account")

    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_text("1 other session signed out.")).to_be_visible()
    expect(page.get_by_text("You are signed in only here.")).to_be_visible()
    second_browser.reload()
    expect(second_browser).to_have_url(re.compile(r"/login"))
    expect(second_browser.get_by_text("Your session has ended.")).to_be_visible()

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your current password is not right.")).to_be_visible()
    both_widths(page, "81-account-wrong-password")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "owner@example.com", NEW_PASSWORD)


def test_a_reset_link_from_the_team_page(page, second_browser, live_server):
    create_owner(page)
    add_user(live_server.app, "forgetful@example.com", Role.ADMIN)
    page.get_by_role("link", name="Team").click()
    page.get_by_role("button", name="Reset link for forgetful@example.com").click()
    heading = page.get_by_role("heading", name="Password reset link for forgetful@example.com")
    expect(heading).to_be_visible()
    link = page.locator("#reset-link").inner_text()
    assert "/password-reset/" in link
    both_widths(page, "82-team-reset-link")

    teammate = second_browser
    teammate.goto(link)
    expect(teammate.get_by_role("heading", name="Choose a new password")).to_be_visible()
    expect(teammate.get_by_text("forgetful@example.com")).to_be_visible()
    both_widths(teammate, "83-password-reset")
    teammate.get_by_label("New password").fill("short")
    teammate.get_by_role("button", name="Set new password").click()
    expect(teammate.get_by_text("Use 10 to 128 characters.")).to_be_visible()
    both_widths(teammate, "84-password-reset-too-short")
    teammate.get_by_label("New password").fill(NEW_PASSWORD)
    teammate.get_by_role("button", name="Set new password").click()
    expect(teammate).to_have_url(re.compile(r"/login$"))
    expect(teammate.get_by_text("Your password is changed")).to_be_visible()
    sign_in(teammate, "forgetful@example.com", NEW_PASSWORD)

    teammate.goto(link)
    refused = teammate.get_by_role("heading", name="This password reset link does not work")
    expect(refused).to_be_visible()
    expect(teammate.get_by_text("It was already used")).to_be_visible()
    both_widths(teammate, "85-password-reset-used")


def test_an_open_page_says_so_when_its_session_ends(page, second_browser):
    create_owner(page)
    app_id = create_first_app(page)
    page.goto(f"/apps/{app_id}/inbox/")
    expect(page.get_by_text("Watching for new deliveries")).to_be_visible()

    sign_in(second_browser, "owner@example.com", PASSWORD)
    second_browser.goto("/account")
    second_browser.get_by_role("button", name="Sign out everywhere else").click()
    expect(second_browser.get_by_text("1 other session signed out.")).to_be_visible()

    notice = page.get_by_role("alert")
    expect(notice).to_have_text("You were signed out. Reload the page to sign in again.")
    expect(page.get_by_text("Live updates stopped: you were signed out.")).to_be_visible()
    screenshot(page, "86-inbox-signed-out")
    notice.get_by_role("link", name="Reload the page").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_a_teammate_removed_while_a_page_is_open(page, live_server):
    add_user(live_server.app, "owner@example.com", Role.OWNER)
    admin_id = add_user(live_server.app, "admin@example.com", Role.ADMIN)
    sign_in(page, "admin@example.com", TEST_PASSWORD)
    page.goto("/team/")
    from consoleapp.extensions import db
    from consoleapp.models import User

    with live_server.app.app_context():
        db.session.delete(db.session.get(User, admin_id))
        db.session.commit()
    page.reload()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text("Your session has ended.")).to_be_visible()
