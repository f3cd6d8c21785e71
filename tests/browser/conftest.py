from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from consoleapp.extensions import db
from support import make_app

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class LiveServer:
    def __init__(self, app, server) -> None:
        self.app = app
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def live_server(tmp_path, database_url) -> Iterator[LiveServer]:
    """The console with CSRF on, served over a real socket on 127.0.0.1."""
    server = make_server("127.0.0.1", 0, None, threaded=True)
    public_url = f"http://127.0.0.1:{server.server_port}"
    app = make_app(
        tmp_path,
        database_url,
        WTF_CSRF_ENABLED=True,
        TESTING=False,
        ENVIRON={"PUBLIC_URL": public_url},
    )
    with app.app_context():
        db.create_all()
    server.app = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, server)
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


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
    errors: list[str] = []

    def on_console(message) -> None:
        # 4xx answers to form posts are expected (validation errors); scripts must not fail.
        if (
            message.type == "error"
            and "the server responded with a status of 4" not in message.text
        ):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"
