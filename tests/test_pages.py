"""Every page, once: it renders, has a title and a heading, and runs no inline script."""

from __future__ import annotations

import re

import pytest

from consoleapp.extensions import db
from consoleapp.models import App, Role
from support import add_user, sign_in

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


def page_urls(app, app_id: int) -> list[str]:
    """Every GET route of the console that a signed-in person can open."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.endpoint.startswith("sandbox") or rule.rule.startswith("/sandbox"):
            continue
        arguments = {}
        for argument in rule.arguments:
            if argument != "app_id":
                break
            arguments[argument] = app_id
        else:
            urls.append((rule.endpoint, rule.rule.replace("<int:app_id>", str(app_id))))
    return urls


@pytest.mark.parametrize("role", [Role.OWNER, Role.VIEWER])
def test_every_page_renders_cleanly(app, client, owner_id, role):
    user_id = owner_id if role is Role.OWNER else add_user(app, "viewer@example.com", role)
    with app.app_context():
        item = App(name="Checked app")
        db.session.add(item)
        db.session.commit()
        app_id = item.id
    sign_in(client, user_id)
    urls = page_urls(app, app_id)
    assert len(urls) >= 8
    for endpoint, url in urls:
        response = client.get(url)
        if endpoint in {"auth.setup"}:
            assert response.status_code == 404, url
            continue
        if endpoint in {"auth.index", "auth.login"}:
            assert response.status_code == 302, url
            continue
        if endpoint in {"apps.new_app", "apps.rename_app", "apps.delete_app"} and (
            role is Role.VIEWER
        ):
            assert response.status_code == 403, url
            continue
        if response.is_json:  # status endpoints that pages' scripts poll
            assert response.status_code == 200, url
            continue
        # The Direct installation URL without our state is refused, on a page of its own (O4).
        expected = 400 if endpoint == "install.callback" else 200
        assert response.status_code == expected, url
        html = response.get_data(as_text=True)
        assert re.search(r"<title>[^<]+ · consoleapp</title>", html), url
        assert "<h1" in html, url
        assert not INLINE_SCRIPT.search(html), url
        assert not INLINE_HANDLER.search(html), url
        assert not STYLE_ATTRIBUTE.search(html), url


def assert_clean_page(html: str, url: str) -> None:
    assert re.search(r"<title>[^<]+ · consoleapp</title>", html), url
    assert "<h1" in html, url
    assert not INLINE_SCRIPT.search(html), url
    assert not INLINE_HANDLER.search(html), url
    assert not STYLE_ATTRIBUTE.search(html), url


def test_account_and_password_reset_pages_render_cleanly(app, client, owner_id):
    """The pages behind a token or a POST, which the walk above cannot reach by itself."""
    teammate_id = add_user(app, "teammate@example.com", Role.ADMIN)
    sign_in(client, owner_id)
    assert "/account" in [url for _, url in page_urls(app, 0)]
    pages = [client.get("/account"), client.post("/account/password", data={})]
    made = client.post(f"/team/{teammate_id}/password-reset")
    assert made.status_code == 201
    pages.append(made)
    token = re.search(r"/password-reset/([\w-]+)", made.get_data(as_text=True)).group(1)
    visitor = app.test_client()
    pages += [
        visitor.get(f"/password-reset/{token}"),
        visitor.post(f"/password-reset/{token}", data={"password": "short"}),
    ]
    visitor.post(f"/password-reset/{token}", data={"password": "a long enough password"})
    pages += [visitor.get(f"/password-reset/{token}"), visitor.get("/password-reset/unknown")]
    assert [page.status_code for page in pages] == [200, 422, 201, 200, 422, 410, 404]
    for page in pages:
        assert_clean_page(page.get_data(as_text=True), page.request.path)
