"""Every page a signed-in owner can reach, at desktop and phone width: no serious or critical
accessibility violation (axe-core) and nothing that scrolls sideways at 375 px.

The console is walked to its fullest first (an app, a registered set, an installation, a verified
delivery), then every link is followed, the way a person clicking around would find the pages.
"""

from __future__ import annotations

from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from http_journey import Console
from walk import watch_errors

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}
# Links that end the session, download files or leave for LiveChat's own pages.
NOT_FOLLOWED = ("/sign-out", "/static/", "/export", ".csv", ".json")
MOST_PAGES = 120
# The element that sticks out furthest to the right, to say what scrolls sideways.
WIDEST = """() => {
  let widest = null, right = 0;
  for (const element of document.body.querySelectorAll("*")) {
    const edge = element.getBoundingClientRect().right;
    if (edge > right) { right = edge; widest = element; }
  }
  return widest ? widest.outerHTML.slice(0, 160) : "";
}"""
WIDTHS = (1280, 375)


@pytest.fixture
def console(live_server_factory):
    live = live_server_factory(
        WTF_CSRF_ENABLED=True, TESTING=False, ENVIRON={"SANDBOX_PROVISIONING": "on"}
    )
    person = Console(live.url)
    person.create_owner()
    app_id = person.create_app()
    uid = person.webhook_set(app_id, ["incoming_chat", "chat_deactivated"], "k" * 32)
    assert person.register(app_id, uid).status_code == 302
    assert person.wait_for_run(app_id, uid)["run"]["state"] == "finished"
    person.install(app_id)
    assert person.fire(app_id, "incoming_chat").status_code == 200
    person.create_app("Second app")  # an app still at its first step
    return live, person


def reachable_pages(page, start: str) -> list[str]:
    """Same-site pages reachable by links from ``start``, breadth first."""
    origin = urlsplit(page.url)._replace(path="", query="", fragment="").geturl()
    seen, queue, found = {start}, deque([start]), []
    while queue and len(found) < MOST_PAGES:
        path = queue.popleft()
        answer = page.goto(path)
        if (
            answer is None
            or answer.status != 200
            or "text/html" not in answer.headers.get("content-type", "")
        ):
            continue
        found.append(path)
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            url, _ = urldefrag(href)
            if not url.startswith(origin):
                continue
            local = url[len(origin) :] or "/"
            if local not in seen and not any(part in local for part in NOT_FOLLOWED):
                seen.add(local)
                queue.append(local)
    return found


def test_every_page_is_accessible_at_both_widths(browser, console):
    live, person = console
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live.url} for c in person.http.cookies]
    )
    page = context.new_page()
    errors = watch_errors(page)
    page.goto("/apps/")
    pages = reachable_pages(page, "/apps/")
    assert len(pages) >= 20, pages  # the walk reached the whole console, not the sign-in page

    axe = Axe()
    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in pages:
            page.goto(path)
            results = axe.run(page)
            for violation in results.response["violations"]:
                if violation["impact"] in SERIOUS:
                    targets = [node["target"] for node in violation["nodes"]][:3]
                    problems.append(f"{width}px {path}: {violation['id']} {targets}")
            if width < 600:
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                if overflow > 1:
                    widest = page.evaluate(WIDEST)
                    problems.append(
                        f"{width}px {path}: scrolls sideways by {overflow}px ({widest})"
                    )
    print(f"\naccessibility: {len(pages)} pages at {WIDTHS} px, {len(problems)} problems")
    context.close()
    assert problems == [], "\n".join(problems)
    assert errors == [], f"the browser reported errors: {errors}"
