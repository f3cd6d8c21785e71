"""Apps: create, rename, delete and the App authorization page, fed bad input."""

from __future__ import annotations

import pytest

from consoleapp.extensions import db
from consoleapp.models import App, AuditEvent
from consoleapp.services import apps as app_service
from support import text_of

INSTALL_URL = "https://console.example/apps/1/install/callback"
VALID_AUTHORIZATION = {
    "auth-client_id": "client-1",
    "auth-client_secret": "client-secret-1234",
    "auth-scopes": ["webhooks.configuration:rw", "webhooks.state:rw"],
    "auth-direct_install_url": INSTALL_URL,
    "auth-redirect_uris": "https://console.example/apps/",
    "auth-api_version": "3.6",
}


def add_app(app, name: str = "Existing") -> int:
    with app.app_context():
        row = App(name=name)
        db.session.add(row)
        db.session.commit()
        return row.id


def snapshot(app) -> list[dict]:
    """Every app row and audit event, to show that a refused form changed nothing."""
    with app.app_context():
        apps = [
            {column.key: getattr(row, column.key) for column in App.__table__.columns}
            for row in db.session.execute(db.select(App).order_by(App.id)).scalars()
        ]
        events = db.session.execute(db.select(db.func.count(AuditEvent.id))).scalar_one()
    return [*apps, {"audit_events": events}]


def app_names(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(db.select(App.name).order_by(App.id)).scalars())


# -- create and rename ---------------------------------------------------------------------

LOOKS_THE_SAME = "This name looks the same as “Helpdesk sync”, an app you already have. "
BAD_NAMES = [
    ({}, "Give the app a name."),
    ({"name": ""}, "Give the app a name."),
    ({"name": "   "}, "Give the app a name."),
    ({"name": "\u3000\u00a0"}, "Give the app a name."),
    ({"name": "x" * 10_000}, "Use at most 80 characters."),
    ({"name": "two\nlines"}, "Use plain text: no line breaks or control characters."),
    ({"name": "nul\x00byte"}, "Use plain text: no line breaks or control characters."),
    ({"name": "two\u2028lines"}, "Use plain text: no line breaks or control characters."),
    ({"name": "delete\x7fkey"}, "Use plain text: no line breaks or control characters."),
    ({"name": "Existing"}, "An app named “Existing” already exists. Choose another name."),
    ({"name": " EXISTING "}, "An app named “Existing” already exists. Choose another name."),
    ({"name": "Helpdesk sync"}, "An app named “Helpdesk sync” already exists."),
    # Lookalikes of an existing name: the message names the app it looks like.
    ({"name": "Helpdesk\u00a0sync"}, LOOKS_THE_SAME),  # no-break space
    ({"name": "Helpdesk\u3000sync"}, LOOKS_THE_SAME),  # ideographic space
    ({"name": "Helpdesk  sync"}, LOOKS_THE_SAME),  # two spaces show as one
    ({"name": "Ｈｅｌｐｄｅｓｋ ｓｙｎｃ"}, LOOKS_THE_SAME),  # fullwidth letters
    ({"name": "𝐇𝐞𝐥𝐩𝐝𝐞𝐬𝐤 𝐬𝐲𝐧𝐜"}, LOOKS_THE_SAME),  # mathematical bold
    ({"name": "HELPDEſK SYNC"}, LOOKS_THE_SAME),  # long s
    # Invisible and text-direction characters: the message says which and where.
    (
        {"name": "Help\u200bdesk sync"},
        "Remove the invisible character at position 5 (U+200B, zero width space).",
    ),
    (
        {"name": "\ufeffHelpdesk"},
        "Remove the invisible character at position 1 (U+FEFF, zero width no-break space).",
    ),
    (
        {"name": "Help\u00addesk"},
        "Remove the invisible character at position 5 (U+00AD, soft hyphen).",
    ),
    (
        {"name": "Help\u200ddesk"},
        "Remove the invisible character at position 5 (U+200D, zero width joiner).",
    ),
    (
        {"name": "Help\ufe0fdesk"},
        "Remove the invisible character at position 5 (U+FE0F, variation selector-16).",
    ),
    (
        {"name": "Help\u2060desk"},
        "Remove the invisible character at position 5 (U+2060, word joiner).",
    ),
    (
        {"name": "\u3164"},
        "Remove the invisible character at position 1 (U+3164, hangul filler).",
    ),
    (
        {"name": "Helpdesk\u202ecnys"},
        "Remove the text-direction control at position 9 (U+202E, right-to-left override).",
    ),
    (
        {"name": "Help\u2066desk\u2069 sync"},
        "Remove the 2 invisible characters at positions 5 and 10 "
        "(the first is U+2066, left-to-right isolate).",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_NAMES)
def test_create_app_bad_name(app, owner, data, message):
    add_app(app)
    add_app(app, "Helpdesk sync")
    before = snapshot(app)
    response = owner.post("/apps/new", data=data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert snapshot(app) == before


@pytest.mark.parametrize(("data", "message"), BAD_NAMES)
def test_rename_app_bad_name(app, owner, data, message):
    add_app(app)
    add_app(app, "Helpdesk sync")
    app_id = add_app(app, "Mine")
    before = snapshot(app)
    response = owner.post(f"/apps/{app_id}/rename", data=data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert snapshot(app) == before


def test_a_lookalike_saved_at_the_same_moment_is_refused(app, owner, monkeypatch):
    """Two people create lookalikes at once: both checks pass, the database refuses one."""
    add_app(app, "Helpdesk sync")
    before = snapshot(app)
    monkeypatch.setattr(app_service, "_lookalike", lambda name, exclude_id=None: None)
    response = owner.post("/apps/new", data={"name": "Ｈｅｌｐｄｅｓｋ ｓｙｎｃ"})
    assert response.status_code == 422
    assert "An app with this name, or one that looks the same, was saved at the same moment." in (
        text_of(response)
    )
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Helpdesk sync  ", "Helpdesk sync"),
        ("Ünïcødé 🚀 日本語 Ǆ", "Ünïcødé 🚀 日本語 Ǆ"),
        ("x" * 80, "x" * 80),
        ("\ufdfa" * 80, "\ufdfa" * 80),  # the longest key an 80-character name can have
        ("Helpdesk\u00a0sync", "Helpdesk\u00a0sync"),  # kept as typed; only the key folds it
        ("👩\u200d💻 Dev tools", "👩\u200d💻 Dev tools"),  # the joiner is part of the emoji
        ("🏳\ufe0f\u200d🌈 and ❤\ufe0f", "🏳\ufe0f\u200d🌈 and ❤\ufe0f"),
        ("שלום עולם", "שלום עולם"),  # right-to-left text needs no control characters
    ],
)
def test_create_app_keeps_good_names(app, owner, typed, stored):
    response = owner.post("/apps/new", data={"name": typed})
    assert response.status_code == 302
    assert app_names(app) == [stored]
    assert stored in text_of(owner.get("/apps/"))


def test_names_with_markup_are_shown_escaped(app, owner):
    name = '<script>alert("x")</script><b>'
    assert owner.post("/apps/new", data={"name": name}).status_code == 302
    assert app_names(app) == [name]
    with app.app_context():
        app_id = db.session.execute(db.select(App.id)).scalar_one()
    for path in ("/apps/", f"/apps/{app_id}", f"/apps/{app_id}/authorization", "/audit/"):
        page = owner.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<b>" not in page, path
        assert "&lt;script&gt;alert(" in page, path


@pytest.mark.parametrize("new_name", ["MINE", "Ｍｉｎｅ", "mine"])
def test_rename_to_a_lookalike_of_its_own_name(app, owner, new_name):
    app_id = add_app(app, "Mine")
    assert owner.post(f"/apps/{app_id}/rename", data={"name": new_name}).status_code == 302
    assert app_names(app) == [new_name]


# -- delete --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Type the app's name to confirm."),
        ({"confirm_name": "   "}, "Type the app's name to confirm."),
        ({"confirm_name": "existing"}, "Type the app's name exactly (“Existing”) to delete it."),
        ({"confirm_name": "x" * 10_000}, "Type the app's name exactly (“Existing”) to delete it."),
    ],
)
def test_delete_app_needs_the_exact_name(app, owner, data, message):
    app_id = add_app(app)
    before = snapshot(app)
    response = owner.post(f"/apps/{app_id}/delete", data=data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert snapshot(app) == before


def test_delete_page_names_what_goes_and_deletes(app, owner):
    app_id = add_app(app)
    page = text_of(owner.get(f"/apps/{app_id}/delete"))
    assert "Delete “Existing”?" in page and "Client Secret and developer credential" in page
    response = owner.post(f"/apps/{app_id}/delete", data={"confirm_name": " Existing "})
    assert response.status_code == 302
    assert app_names(app) == []
    assert owner.get(f"/apps/{app_id}").status_code == 404


# -- App authorization ---------------------------------------------------------------------


def entries(*uris: str) -> str:
    return "\n".join(uris)


BAD_AUTHORIZATION = [
    ({"auth-client_id": ""}, "Enter the Client ID."),
    ({"auth-client_id": "   "}, "Enter the Client ID."),
    ({"auth-client_id": "x" * 10_000}, "Field cannot be longer than 100 characters."),
    ({"auth-client_id": "a\tb"}, "Use plain text"),
    ({"auth-client_secret": ""}, "Enter the Client Secret."),
    ({"auth-client_secret": "    "}, "Enter the Client Secret."),
    ({"auth-client_secret": "s" * 10_000}, "Field cannot be longer than 200 characters."),
    ({"auth-scopes": ["made.up:rw"]}, "'made.up:rw' is not a valid choice"),
    ({"auth-api_version": "9.9"}, "Not a valid choice."),
    ({"auth-api_version": ""}, "Not a valid choice."),
    ({"auth-direct_install_url": ""}, "Enter the Direct installation URL."),
    ({"auth-direct_install_url": "   "}, "Enter the Direct installation URL."),
    ({"auth-direct_install_url": "https://x.example/" + "a" * 10_000}, "Use at most 500"),
    ({"auth-direct_install_url": "javascript:alert(1)"}, "must start with https://"),
    ({"auth-direct_install_url": "ftp://console.example/cb"}, "must start with https://"),
    ({"auth-direct_install_url": "console.example/cb"}, "must start with https://"),
    ({"auth-direct_install_url": f"{INSTALL_URL}#top"}, "must not contain a fragment"),
    ({"auth-direct_install_url": "https://u:p@console.example/cb"}, "user name or password"),
    ({"auth-direct_install_url": "https://console.example:99999/cb"}, "has an invalid port"),
    ({"auth-direct_install_url": "https://console .example/cb"}, "contains spaces"),
    ({"auth-redirect_uris": ""}, "Enter at least one redirect URI."),
    ({"auth-redirect_uris": " \n , "}, "Enter at least one redirect URI."),
    ({"auth-redirect_uris": "https://x.example/" + "a" * 10_000}, "Use at most 5,000"),
    (
        {"auth-redirect_uris": "https://console.example/apps/?team=1"},
        "Whitelist entry “https://console.example/apps/?team=1” must not contain a query string",
    ),
    ({"auth-redirect_uris": "https://console.example/apps/#x"}, "must not contain a fragment"),
    ({"auth-redirect_uris": "javascript:alert(1)"}, "must start with https://"),
    ({"auth-redirect_uris": "gopher://console.example/"}, "must start with https://"),
    (
        {"auth-redirect_uris": entries(*(f"https://h{n}.example/" for n in range(21)))},
        "Use at most 20 redirect URIs.",
    ),
    (
        {"auth-redirect_uris": "https://other.example/"},
        "No whitelist entry accepts the Direct installation URL. “https://other.example/”: "
        "the host differs (other.example vs console.example)",
    ),
    (
        {"auth-redirect_uris": "http://console.example/"},
        "“http://console.example/”: the scheme differs (http vs https)",
    ),
    (
        {"auth-redirect_uris": "https://console.example:8443/"},
        "“https://console.example:8443/”: the port differs (8443 vs 443)",
    ),
    (
        {"auth-redirect_uris": entries("https://console.example/team/", "https://a.example/")},
        "“https://console.example/team/”: the path “/apps/1/install/callback” does not start "
        "with “/team/”; “https://a.example/”: the host differs",
    ),
    (
        {"auth-direct_install_url": "https://console.example/apps/../admin"},
        "the address contains “..”",
    ),
]


@pytest.mark.parametrize(("changes", "message"), BAD_AUTHORIZATION)
def test_authorization_bad_input(app, owner, changes, message):
    app_id = add_app(app)
    before = snapshot(app)
    response = owner.post(
        f"/apps/{app_id}/authorization/settings", data={**VALID_AUTHORIZATION, **changes}
    )
    assert response.status_code == 422
    assert message in text_of(response)
    assert snapshot(app) == before


def test_authorization_saves_stripped_values_and_hides_the_secret(app, owner):
    app_id = add_app(app)
    response = owner.post(
        f"/apps/{app_id}/authorization/settings",
        data={
            **VALID_AUTHORIZATION,
            "auth-client_id": "  client-1  ",
            "auth-client_secret": "  client-secret-1234 ",
            "auth-redirect_uris": " https://console.example/apps/ ,\n\nhttps://b.example/ ",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(App, app_id)
        assert row.client_id == "client-1"
        assert row.client_secret == "client-secret-1234"
        assert row.redirect_uris == ["https://console.example/apps/", "https://b.example/"]
        assert row.scopes == ["webhooks.configuration:rw", "webhooks.state:rw"]
    page = owner.get(f"/apps/{app_id}/authorization").get_data(as_text=True)
    assert "client-secret-1234" not in page
    assert "…1234" in page
    # Leaving the secret empty keeps the saved one.
    again = owner.post(
        f"/apps/{app_id}/authorization/settings",
        data={**VALID_AUTHORIZATION, "auth-client_secret": ""},
    )
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(App, app_id).client_secret == "client-secret-1234"


def test_missing_webhook_scopes_are_saved_with_a_warning(app, owner):
    app_id = add_app(app)
    response = owner.post(
        f"/apps/{app_id}/authorization/settings",
        data={**VALID_AUTHORIZATION, "auth-scopes": ["chats--all:ro"]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Saved, but some scopes are missing" in page
    assert "cannot register webhooks" in page
    assert "cannot switch webhooks on" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dev-account_id": ""}, "Enter the account ID."),
        ({"dev-account_id": "   "}, "Enter the account ID."),
        ({"dev-account_id": "a" * 10_000}, "Field cannot be longer than 100 characters."),
        ({"dev-account_id": "a\nb"}, "Use plain text"),
        ({"dev-token": ""}, "Enter the Personal Access Token."),
        ({"dev-token": "   "}, "Enter the Personal Access Token."),
        ({"dev-token": "t" * 10_000}, "Field cannot be longer than 500 characters."),
        ({"dev-token": "dal:\x00x"}, "Use plain text"),
    ],
)
def test_developer_credential_bad_input(app, owner, changes, message):
    app_id = add_app(app)
    before = snapshot(app)
    response = owner.post(
        f"/apps/{app_id}/authorization/developer-credential",
        data={"dev-account_id": "acct-1", "dev-token": "dal:token-5678", **changes},
    )
    assert response.status_code == 422
    assert message in text_of(response)
    assert snapshot(app) == before


def test_developer_credential_is_stored_encrypted_and_shown_by_last_four(app, owner):
    app_id = add_app(app)
    response = owner.post(
        f"/apps/{app_id}/authorization/developer-credential",
        data={"dev-account_id": " acct-1 ", "dev-token": " dal:token-5678 "},
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(App, app_id)
        assert (row.developer_account_id, row.developer_token) == ("acct-1", "dal:token-5678")
        assert b"token-5678" not in row.developer_token_sealed
    page = owner.get(f"/apps/{app_id}/authorization").get_data(as_text=True)
    assert "dal:token-5678" not in page and "…5678" in page
