"""The sandbox's own pages as a person uses them: overview, scenarios, faults, sign-in."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from shots import screenshot

pytestmark = pytest.mark.browser


def provision(page, redirect_uri: str) -> dict:
    response = page.request.post(
        "/sandbox/provision", data={"name": "Browser app", "redirect_uris": [redirect_uri]}
    )
    assert response.status == 201
    return response.json()


# Whether each select shows its chosen option's whole text: the text's width against the room
# the select gives it (its inner width less padding and the arrow).
CLIPPED_SELECTS = """() => {
  const canvas = document.createElement("canvas").getContext("2d");
  return [...document.querySelectorAll("select")].flatMap((select) => {
    const style = getComputedStyle(select);
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const room = select.clientWidth - padding;
    return [...select.options]
      .filter((option) => canvas.measureText(option.text).width > room - 20)
      .map((option) => `${select.name}: ${option.text}`);
  });
}"""


def test_overview_scenarios_and_faults(page, live_server):
    provision(page, f"{live_server.url}/callback")
    page.goto("/sandbox/")
    expect(page.get_by_role("heading", name="Sandbox overview")).to_be_visible()
    screenshot(page, "20-sandbox-overview")

    page.get_by_role("link", name="Scenarios").click()
    page.get_by_role("button", name="A customer starts a chat").click()
    expect(page.get_by_text("needs an app installed on this license")).to_be_visible()
    page.get_by_label("Performed by").select_option("system")
    page.get_by_label("Message author").select_option("agent")
    page.get_by_role("button", name="A customer starts a chat").click()
    # Nothing is registered, so nothing is sent, and the page says why, in amber.
    warning = page.locator(".flash-warning")
    expect(warning).to_contain_text(
        "0 deliveries queued for incoming_chat: no app has a webhook registered for incoming_chat."
    )
    expect(page.locator(".flash-success")).to_have_count(0)
    # The choices stay as they were for the next press.
    expect(page.get_by_label("Performed by")).to_have_value("system")
    expect(page.get_by_label("Message author")).to_have_value("agent")
    page.get_by_role("button", name="The chat is closed").click()
    page.get_by_role("button", name="The thread is tagged").click()
    expect(warning).to_contain_text("The thread is tagged: thread_tagged.")
    expect(warning).to_contain_text("is closed, so its archived thread was used.")
    expect(warning).not_to_contain_text("incoming_chat")
    expect(page.get_by_label("Performed by")).to_have_value("system")
    expect(page.get_by_text("even a closed one (its archived thread)")).to_be_visible()
    assert page.evaluate(CLIPPED_SELECTS) == []
    screenshot(page, "21-sandbox-scenarios")
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate(CLIPPED_SELECTS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "21-sandbox-scenarios-375px")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Faults").click()
    screenshot(page, "22-sandbox-faults")


def test_sign_in_and_consent_returns_code_and_state(page, live_server):
    redirect_uri = f"{live_server.url}/callback"
    client = provision(page, redirect_uri)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": redirect_uri,
            "state": "state-123",
        }
    )
    page.goto(f"/sandbox/accounts/?{query}")
    screenshot(page, "23-sandbox-authorize")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{redirect_uri}**")
    returned = parse_qs(urlsplit(page.url).query)
    assert returned["state"] == ["state-123"]
    assert returned["code"][0]


def test_unknown_client_lands_on_an_error_page(page, live_server):
    page.goto("/sandbox/accounts/?response_type=code&client_id=nope&redirect_uri=http://x/")
    expect(page).to_have_url(re.compile("ooops"))
    screenshot(page, "24-sandbox-authorize-error")
