"""Secrets at rest: K1 (no plaintext in the database), K3 (key rotation), K4 (row binding),
and K7 (log redaction)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from consoleapp.crypto import Keyring, SecretUnavailable
from consoleapp.extensions import db
from consoleapp.models import App
from consoleapp.redaction import REDACTED, RedactingFilter
from support import TEST_FERNET_KEY, add_user

CLIENT_SECRET = "cs-Zq8vN1xPlaintextClientSecret"
DEVELOPER_TOKEN = "dal:PlaintextDeveloperToken-42"


def make_app_row(app, name: str, secret: str = CLIENT_SECRET, token: str = DEVELOPER_TOKEN):
    with app.app_context():
        row = App(name=name)
        row.set_client_secret(secret)
        row.developer_account_id = "acct-1"
        row.set_developer_token(token)
        db.session.add(row)
        db.session.commit()
        return row.id


def sealed_columns(app) -> dict[int, tuple[bytes | None, bytes | None]]:
    with app.app_context():
        rows = db.session.execute(
            db.select(App.id, App.client_secret_sealed, App.developer_token_sealed)
        ).all()
        return {row.id: (row.client_secret_sealed, row.developer_token_sealed) for row in rows}


def read_secrets(app, app_id: int) -> tuple[str, str]:
    with app.app_context():
        row = db.session.get(App, app_id)
        return row.client_secret, row.developer_token


# -- the keyring ---------------------------------------------------------------------------


def test_keyring_round_trip_and_context_binding():
    keyring = Keyring([TEST_FERNET_KEY])
    token = keyring.seal("apps.client_secret:abc", "sëcret ✓ \x00 with nul")
    assert keyring.open("apps.client_secret:abc", token) == "sëcret ✓ \x00 with nul"
    assert b"secret" not in token
    for other_context in ("apps.client_secret:abd", "apps.developer_token:abc", ""):
        with pytest.raises(SecretUnavailable, match="another record"):
            keyring.open(other_context, token)
    with pytest.raises(SecretUnavailable, match="no configured key"):
        Keyring([Fernet.generate_key().decode()]).open("apps.client_secret:abc", token)
    with pytest.raises(SecretUnavailable, match="no configured key"):
        keyring.open("apps.client_secret:abc", token[:-2] + b"xx")


# -- K1 ------------------------------------------------------------------------------------


def test_database_holds_no_plaintext_secret(app, database_url):
    make_app_row(app, "Stored")
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        with app.app_context():
            db.engine.dispose()  # close connections so everything sits in the files
        # WAL mode: recent pages may still be in the -wal file, so search it too.
        raw = b"".join(
            candidate.read_bytes()
            for candidate in (Path(path), Path(path + "-wal"))
            if candidate.exists()
        )
        assert b"Stored" in raw  # the search itself works
    else:
        with app.app_context():
            raw = "\n".join(
                db.session.execute(text("SELECT a::text FROM apps AS a")).scalars()
            ).encode()
    for plaintext in (CLIENT_SECRET, DEVELOPER_TOKEN):
        assert plaintext.encode() not in raw
        assert plaintext.encode().hex().encode() not in raw
    # Only the last four characters are kept readable, for "ends in …".
    assert read_secrets(app, 1) == (CLIENT_SECRET, DEVELOPER_TOKEN)


# -- K3 ------------------------------------------------------------------------------------


def test_rotate_keys_then_drop_the_old_key(app_factory):
    old, new = TEST_FERNET_KEY, Fernet.generate_key().decode()
    before = app_factory(ENVIRON={"FERNET_KEYS": old})
    ids = [make_app_row(before, f"App {n}", f"secret-{n}", f"dal:token-{n}") for n in range(3)]
    sealed_before = sealed_columns(before)

    rotating = app_factory(ENVIRON={"FERNET_KEYS": f"{new},{old}"})
    result = rotating.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted" in result.output
    assert all(
        after != sealed_before[row_id][i]
        for row_id, pair in sealed_columns(rotating).items()
        for i, after in enumerate(pair)
    )
    # Idempotent: a second run re-encrypts with the same newest key and loses nothing.
    again = rotating.test_cli_runner().invoke(args=["rotate-keys"])
    assert again.exit_code == 0, again.output

    after = app_factory(ENVIRON={"FERNET_KEYS": new})
    for n, row_id in enumerate(ids):
        assert read_secrets(after, row_id) == (f"secret-{n}", f"dal:token-{n}")
    # And the old key alone no longer opens them: the rotation really happened.
    stale = app_factory(ENVIRON={"FERNET_KEYS": old})
    with stale.app_context(), pytest.raises(SecretUnavailable):
        _ = db.session.get(App, ids[0]).client_secret


def test_rotate_keys_rolls_back_when_a_secret_cannot_be_opened(app_factory):
    old, new = TEST_FERNET_KEY, Fernet.generate_key().decode()
    before = app_factory(ENVIRON={"FERNET_KEYS": old})
    make_app_row(before, "Readable")
    broken_id = make_app_row(before, "Broken")
    with before.app_context():
        # Sealed with a key that is no longer configured: rotation cannot open it.
        lost = Fernet(Fernet.generate_key()).encrypt(b"lost")
        db.session.get(App, broken_id).developer_token_sealed = lost
        db.session.commit()
    sealed_before = sealed_columns(before)

    rotating = app_factory(ENVIRON={"FERNET_KEYS": f"{new},{old}"})
    result = rotating.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 1
    assert "nothing was changed" in result.output
    # No row is half-rotated: every ciphertext, including the ones before the bad one, is as it was.
    assert sealed_columns(rotating) == sealed_before


# -- K4 ------------------------------------------------------------------------------------


def test_ciphertext_moved_to_another_row_cannot_be_read(app, owner):
    a_id = make_app_row(app, "App A", "secret-of-A-1111")
    b_id = make_app_row(app, "App B", "secret-of-B-2222")
    with app.app_context():
        a, b = db.session.get(App, a_id), db.session.get(App, b_id)
        b.client_secret_sealed = a.client_secret_sealed
        b.developer_token_sealed = a.client_secret_sealed  # and into another column
        db.session.commit()
    with app.app_context():
        b = db.session.get(App, b_id)
        with pytest.raises(SecretUnavailable, match="another record"):
            _ = b.client_secret
        with pytest.raises(SecretUnavailable, match="another record"):
            _ = b.developer_token
        assert db.session.get(App, a_id).client_secret == "secret-of-A-1111"

    page = owner.get(f"/apps/{b_id}/authorization")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "The saved Client Secret can no longer be read" in html
    assert "The saved token can no longer be read. Enter it again." in html
    assert "secret-of-A-1111" not in html

    # The prompt is enforced: saving without a new secret is refused, with a new one it works.
    form = {
        "auth-client_id": "client-b",
        "auth-direct_install_url": "https://console.example/apps/2/install/callback",
        "auth-redirect_uris": "https://console.example/apps/",
        "auth-api_version": "3.6",
    }
    refused = owner.post(f"/apps/{b_id}/authorization/settings", data=form)
    assert refused.status_code == 422
    assert "Enter the Client Secret." in refused.get_data(as_text=True)
    saved = owner.post(
        f"/apps/{b_id}/authorization/settings", data={**form, "auth-client_secret": "new-B-3333"}
    )
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(App, b_id).client_secret == "new-B-3333"
    assert (
        "Client Secret can no longer be read" not in owner.get(f"/apps/{b_id}/authorization").text
    )


# -- K7 ------------------------------------------------------------------------------------

SECRET = "Sup3rS3cretValue-xyz"


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("delivery %s", (json.dumps({"action": "incoming_chat", "secret_key": SECRET}),)),
        ("delivery %s", ({"action": "incoming_chat", "secret_key": SECRET},)),
        ("delivery %s", ('{"secret_key": 12345}',)),
        ("token answer %s", (json.dumps({"access_token": f"dal:{SECRET}", "expires_in": 1}),)),
        ("token answer %s", (json.dumps({"refresh_token": SECRET}),)),
        ("token request body: %s", (f"grant_type=authorization_code&client_secret={SECRET}",)),
        ("form %r", ({"client_secret": SECRET},)),
        ("form %s", ([("client_secret", SECRET), ("client_id", "abc")],)),
        ("callback GET /apps/1/install/callback?code=%s&state=s1", (SECRET,)),
        ("exchange body code=%s&code_verifier=%s", (SECRET, SECRET)),
        ("pkce %s", ({"code_verifier": SECRET},)),
        ("header Authorization: Bearer %s", (SECRET,)),
        ("headers %s", ({"Authorization": f"Basic {SECRET}", "Accept": "json"},)),
        ("headers %s", ([("Authorization", f"Bearer {SECRET}")],)),
        ("config SECRET_KEY=%s", (SECRET,)),
        ("login password=%s", (SECRET,)),
        ("bare LiveChat token %s", (f"dal:{SECRET}",)),
        ('127.0.0.1 - - "GET /invitations/%s HTTP/1.1" 200 -', (SECRET,)),
        ('"\x1b[33mGET /invitations/%s HTTP/1.1\x1b[0m" 404 -', (SECRET,)),
        ('"POST /hooks/%s HTTP/1.1" 200', (SECRET,)),
        ('"GET /password-reset/%s?next=/ HTTP/1.1" 200', (SECRET,)),
        ('"GET //invitations//%s HTTP/1.1" 308', (SECRET,)),
        ('"GET /invitations%%2F%s HTTP/1.1" 200', (SECRET,)),
        ('"GET / HTTP/1.1" 200 "http://console.example/invitations/%s"', (SECRET,)),
        ("GET /apps/1/install/callback?state=%s&code=%s", (SECRET, SECRET)),
        ("GET /apps/1/install/callback?error=access_denied&state=%s", (SECRET,)),
    ],
)
def test_redacting_filter_masks_every_secret_kind(message, args):
    record = logging.LogRecord("consoleapp.test", logging.INFO, __file__, 1, message, args, None)
    assert RedactingFilter().filter(record) is True  # masks, never drops
    shown = record.getMessage()
    assert SECRET not in shown and "12345" not in shown
    assert REDACTED in shown


@pytest.mark.parametrize(
    ("message", "args", "shown"),
    [
        ("saved %s", ({"fields": ["scopes"]},), "saved {'fields': ['scopes']}"),
        ("installation state: %s", ("registered",), "installation state: registered"),
        ("answer %s", ('{"state": "pending"}',), 'answer {"state": "pending"}'),
        ("webhook state=%s", ("enabled",), "webhook state=enabled"),
        ('"GET /apps/%s/webhooks/ HTTP/1.1" 200', (3,), '"GET /apps/3/webhooks/ HTTP/1.1" 200'),
    ],
)
def test_redacting_filter_leaves_ordinary_lines_alone(message, args, shown):
    record = logging.LogRecord("consoleapp", logging.INFO, __file__, 1, message, args, None)
    RedactingFilter().filter(record)
    assert record.getMessage() == shown


@pytest.mark.parametrize("logger_name", ["consoleapp.errors", "authlib.oauth2.rfc6749", "gunicorn"])
def test_every_logger_is_redacted_once_logging_is_set_up(app, caplog, logger_name):
    caplog.set_level(logging.INFO)
    logging.getLogger(logger_name).warning("token answer %s", {"access_token": SECRET})
    assert SECRET not in caplog.text
    assert REDACTED in caplog.text


def test_whole_flow_logs_no_secret(app, owner, caplog):
    caplog.set_level(logging.DEBUG)
    app_id = make_app_row(app, "Logged")
    owner.get(f"/apps/{app_id}/authorization")
    owner.post(
        f"/apps/{app_id}/authorization/settings",
        data={
            "auth-client_id": "cid",
            "auth-client_secret": SECRET,
            "auth-direct_install_url": "https://x.example/cb",
            "auth-redirect_uris": "https://x.example/",
            "auth-api_version": "3.6",
        },
    )
    add_user(app, "second@example.com")
    assert SECRET not in caplog.text
    assert CLIENT_SECRET not in caplog.text
