from __future__ import annotations

import shutil

import pytest
from walk import create_first_app, create_owner, sandbox_page, watch_errors

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(live_server_factory):
    """The console with CSRF on, served over a real socket, as a browser meets it."""
    return live_server_factory(WTF_CSRF_ENABLED=True, TESTING=False)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed; `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


@pytest.fixture
def walked(browser, live_server_factory):
    """A sandbox-mode console past its first run, with one app: (live, page, app_id)."""
    with sandbox_page(browser, live_server_factory) as (live, page):
        create_owner(page)
        yield live, page, create_first_app(page)
