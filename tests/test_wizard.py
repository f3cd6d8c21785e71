"""The Chat Webhooks wizard: three steps in order, bad input, roles, the secret shown once
(CHECKS K6) and the URL rules (CHECKS S1-S4, S7, S8)."""

from __future__ import annotations

import ipaddress
import logging
import re
import socket

import pytest
import responses
from local_receiver import running_receiver

from consoleapp.extensions import db
from consoleapp.livechat import catalog
from consoleapp.models import App, Role, WebhookSet, WizardStep
from consoleapp.web import trigger_words
from support import NOT_PUBLIC as S1_NOT_PUBLIC
from support import add_user, delivery_body, sign_in, text_of

PUBLIC_URL = "https://hooks.example.com/livechat"
PUBLIC_IP = "93.184.215.14"
NAMES = {
    "hooks.example.com": PUBLIC_IP,
    "rebind.example": "10.1.2.3",
    "v6.example": "fd00::1",
    "nat64.example": "64:ff9b::a00:5",
}

NOT_PUBLIC = [
    *S1_NOT_PUBLIC,
    "http://127.1/",
    "http://224.0.0.1/",
    "https://rebind.example/",
    "https://v6.example/",
    # IPv6 forms that carry an IPv4 address, and site-local (tests/test_addresses.py has all).
    "http://[::127.0.0.1]/",
    "http://[::ffff:0:127.0.0.1]/",
    "http://[fec0::1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "https://nat64.example/",
]


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Name lookups answered from ``NAMES``; anything else does not exist. No DNS is sent."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        asked.append(host)
        if host in NAMES:
            address = NAMES[host]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port or 0, 0, 0) if ":" in address else (address, port or 0)
            return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every connection attempt; on top of the autouse guard, which fails non-loopback ones."""
    seen: list[object] = []
    guarded = socket.socket.connect

    def recording(self, address):
        seen.append(address)
        return guarded(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording)
    return seen


def add_app(app, version: str = "3.6") -> int:
    with app.app_context():
        row = App(name="Helpdesk", client_id="client-1", api_version=version)
        row.developer_account_id = "account-1"
        row.set_developer_token("pat-token-1234")
        db.session.add(row)
        db.session.commit()
        return row.id


@pytest.fixture
def app_id(app) -> int:
    return add_app(app)


def base(app_id: int) -> str:
    return f"/apps/{app_id}/webhooks"


def the_set(app) -> WebhookSet:
    with app.app_context():
        found = db.session.execute(db.select(WebhookSet)).scalar_one()
        db.session.expunge(found)
        return found


def set_count(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(WebhookSet.id))).scalar_one()


def create_set(owner, app_id: int, url: str = PUBLIC_URL) -> str:
    response = owner.post(f"{base(app_id)}/create", data={"url": url})
    assert response.status_code == 302, text_of(response)
    return response.headers["Location"].split("/")[-2]


def through_secret(owner, app_id: int) -> str:
    uid = create_set(owner, app_id)
    owner.post(f"{base(app_id)}/{uid}/secret/own", data={"secret_key": "my-own-secret-key-123"})
    return uid


def through_triggers(owner, app_id: int, data: dict | None = None) -> str:
    uid = through_secret(owner, app_id)
    data = data or {"t_incoming_chat-chosen": "y", "t_chat_deactivated-chosen": "y"}
    response = owner.post(f"{base(app_id)}/{uid}/triggers/save", data=data)
    assert response.status_code == 302, text_of(response)
    return uid


# -- the list and the walk -----------------------------------------------------------------


def test_empty_list_says_what_to_do(app, owner, app_id):
    response = owner.get(f"{base(app_id)}/")
    assert response.status_code == 200
    page = text_of(response)
    assert "No webhook sets yet." in page
    assert "Create one →" in page
    assert f'href="{base(app_id)}/new"' in page
    overview = text_of(owner.get(f"/apps/{app_id}"))
    assert "Set up webhooks" in overview


def test_walk_every_step_with_post_redirect_get(app, owner, app_id):
    page = text_of(owner.get(f"{base(app_id)}/new"))
    assert 'aria-current="step">Webhook URL' in page
    assert page.count("<form") == 2  # the step's form and the sign-out button

    response = owner.post(f"{base(app_id)}/create", data={"url": PUBLIC_URL})
    assert response.status_code == 302
    uid = the_set(app).uid
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/secret"
    assert the_set(app).target_url == PUBLIC_URL
    assert the_set(app).wizard_step == WizardStep.SECRET

    response = owner.post(f"{base(app_id)}/{uid}/secret/generate")
    assert response.status_code == 200
    response = owner.post(f"{base(app_id)}/{uid}/secret/saved")
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/triggers"

    page = text_of(owner.get(f"{base(app_id)}/{uid}/triggers"))
    assert 'aria-current="step">Triggers and filters' in page
    response = owner.post(
        f"{base(app_id)}/{uid}/triggers/save",
        data={
            "t_incoming_event-chosen": "y",
            "t_incoming_event-author_type": "customer",
            "t_chat_deactivated-chosen": "y",
        },
    )
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/review"
    review = text_of(owner.get(response.headers["Location"]))
    assert "Only messages from customers" in review
    assert "All ended chats" in review
    assert "2 will be added" in review
    assert "Register with LiveChat" in review

    listing = text_of(owner.get(f"{base(app_id)}/"))
    assert "ready to register (0/2)" in listing
    overview = text_of(owner.get(f"/apps/{app_id}"))
    assert "Continue webhooks" in overview and "ready to register (0/2)" in overview


@pytest.mark.parametrize(
    ("step", "path"),
    [
        ("secret", "triggers"),
        ("secret", "review"),
        ("secret", "registration"),
        ("triggers", "review"),
        ("triggers", "registration"),
    ],
)
def test_later_steps_send_you_back_to_the_current_one(app, owner, app_id, step, path):
    uid = create_set(owner, app_id) if step == "secret" else through_secret(owner, app_id)
    response = owner.get(f"{base(app_id)}/{uid}/{path}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/{step}"


def test_posting_a_later_step_changes_nothing(app, owner, app_id):
    uid = create_set(owner, app_id)
    response = owner.post(
        f"{base(app_id)}/{uid}/triggers/save", data={"t_incoming_chat-chosen": "y"}
    )
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/secret"
    response = owner.post(f"{base(app_id)}/{uid}/register")
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/secret"
    assert the_set(app).wizard_step == WizardStep.SECRET
    with app.app_context():
        assert db.session.get(WebhookSet, the_set(app).id).triggers == []


def test_earlier_steps_stay_open_and_a_change_goes_back_to_review(app, owner, app_id):
    uid = through_triggers(owner, app_id)
    assert owner.get(f"{base(app_id)}/{uid}/url").status_code == 200
    response = owner.post(
        f"{base(app_id)}/{uid}/url/save", data={"url": "https://hooks.example.com/other"}
    )
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/review"
    response = owner.post(f"{base(app_id)}/{uid}/secret/generate")
    assert the_set(app).wizard_step == WizardStep.SECRET
    response = owner.post(f"{base(app_id)}/{uid}/secret/saved")
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/review"


def test_the_consoles_own_inbox_in_one_click(app, owner, app_id):
    response = owner.post(f"{base(app_id)}/create", data={"url": "", "use_inbox": "y"})
    assert response.status_code == 302
    webhook_set = the_set(app)
    assert webhook_set.target_url == f"{app.config['PUBLIC_URL']}/hooks/{webhook_set.inbox_token}"
    page = text_of(owner.get(f"{base(app_id)}/{webhook_set.uid}/url"))
    assert webhook_set.target_url in page


def test_choosing_the_own_inbox_answers_the_secret_step_too(app, owner, app_id):
    # The console is the endpoint: it keeps the key, so the wizard goes on to the triggers.
    response = owner.post(f"{base(app_id)}/create", data={"url": "", "use_inbox": "y"})
    webhook_set = the_set(app)
    assert response.headers["Location"] == f"{base(app_id)}/{webhook_set.uid}/triggers"
    assert webhook_set.wizard_step == WizardStep.TRIGGERS
    assert webhook_set.secret_saved_at is not None and webhook_set.secret_shown_at is None
    page = text_of(owner.get(response.headers["Location"]))
    assert "The console keeps the secret key and checks every event with it" in page
    assert "Next: the triggers." in page
    # Step 2 is done and may be opened; it says the console keeps the key.
    secret = text_of(owner.get(f"{base(app_id)}/{webhook_set.uid}/secret"))
    assert "the console keeps the key</strong>" in secret


def test_an_endpoint_of_ones_own_still_gets_the_secret_step(app, owner, app_id):
    response = owner.post(f"{base(app_id)}/create", data={"url": PUBLIC_URL})
    webhook_set = the_set(app)
    assert response.headers["Location"] == f"{base(app_id)}/{webhook_set.uid}/secret"
    assert webhook_set.wizard_step == WizardStep.SECRET
    assert webhook_set.secret_key_sealed is None


def test_unknown_set_is_not_found(app, owner, app_id):
    other = add_app_named(app, "Other")
    uid = create_set(owner, app_id)
    assert owner.get(f"{base(other)}/{uid}/secret").status_code == 404
    assert owner.get(f"{base(app_id)}/{'0' * 32}/secret").status_code == 404


def add_app_named(app, name: str) -> int:
    with app.app_context():
        row = App(name=name)
        db.session.add(row)
        db.session.commit()
        return row.id


# -- step 1: the URL rules -----------------------------------------------------------------

BAD_URLS = [
    ("", "Enter the webhook URL, or use the console's test inbox."),
    ("   ", "Enter the webhook URL, or use the console's test inbox."),
    ("file:///etc/passwd", "Use an address that starts with https:// (or http://)."),
    ("gopher://hooks.example.com/", "Use an address that starts with https:// (or http://)."),
    ("ftp://hooks.example.com/", "Use an address that starts with https:// (or http://)."),
    ("javascript:alert(1)", "Use an address that starts with https:// (or http://)."),
    ("data:text/plain,hi", "Use an address that starts with https:// (or http://)."),
    ("hooks.example.com/lc", "Use an address that starts with https:// (or http://)."),
    ("https://user:pass@hooks.example.com/", "Remove the user name and password"),
    ("https://hooks.example.com/" + "a" * 480, "Use at most 500 characters; this address has 506."),
    ("https://hooks.example.com/a\r\nX-Evil: 1", "Remove the spaces and line breaks"),
    ("https://hooks.example.com/a b", "Remove the spaces and line breaks"),
    ("https://exa mple.com", "Remove the spaces and line breaks"),
    ("https://hooks.example.com:99999/", "The port number in the address is not valid."),
    ("https:///path", "Add the server's name after https://"),
    ("https://no-such-host.example/", "No server named “no-such-host.example” could be found."),
]


@pytest.mark.parametrize(("url", "message"), BAD_URLS)
def test_bad_urls_are_refused_with_the_rule_that_failed(
    app, owner, app_id, connections, url, message
):
    response = owner.post(f"{base(app_id)}/create", data={"url": url})
    assert response.status_code == 422
    assert message in text_of(response)
    assert set_count(app) == 0
    assert connections == []


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_non_public_addresses_are_refused_without_connecting(
    app_factory, client, url, connections, caplog
):
    app = app_factory(ENVIRON={"ALLOW_PRIVATE_TARGETS": "off"})
    client = app.test_client()
    sign_in(client, add_user(app, "owner@example.com", Role.OWNER))
    app_id = add_app(app)
    caplog.set_level(logging.WARNING, logger="consoleapp")
    response = client.post(f"{base(app_id)}/create", data={"url": url})
    assert response.status_code == 422
    page = text_of(response)
    assert "This address is not publicly reachable" in page
    assert f'value="{url}"' in page  # kept in the form to fix
    assert set_count(app) == 0
    assert connections == []
    assert any(r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5/", "http://169.254.169.254/", "http://[fd00::1]/"]
)
def test_allowing_loopback_still_refuses_private_addresses(app, owner, app_id, url, connections):
    response = owner.post(f"{base(app_id)}/create", data={"url": url})
    assert "This address is not publicly reachable" in text_of(response)
    assert connections == []


def test_loopback_is_allowed_when_the_setting_allows_it(app, owner, app_id, connections):
    assert app.config["ALLOW_PRIVATE_TARGETS"] is True  # sandbox mode
    create_set(owner, app_id, "http://127.0.0.1:5000/hooks/abc")
    assert connections == []


def test_saving_a_url_connects_nowhere_and_looks_the_name_up_once(app, owner, app_id, dns):
    create_set(owner, app_id)
    assert dns == ["hooks.example.com"]


# -- step 1: the test request --------------------------------------------------------------


def test_test_request_shows_only_status_and_time(app, owner, app_id):
    with running_receiver() as receiver:
        receiver.default.body = b'{"token": "dal:leaked-secret-value"}'
        response = owner.post(f"{base(app_id)}/test", data={"url": receiver.url})
    page = text_of(response)
    assert response.status_code == 200
    assert "Test request:</strong> 200 OK in" in page
    assert "leaked-secret-value" not in page
    assert receiver.received[0].json()["ping"] == "consoleapp test request"
    assert set_count(app) == 0  # testing saves nothing


@responses.activate(assert_all_requests_are_fired=True)
def test_test_request_does_not_follow_redirects(app, owner, app_id):
    responses.post(PUBLIC_URL, status=302, headers={"Location": "http://169.254.169.254/"})
    response = owner.post(f"{base(app_id)}/test", data={"url": PUBLIC_URL})
    assert "redirect not followed (302)" in text_of(response)
    assert len(responses.calls) == 1


def test_test_request_to_a_refused_address_sends_nothing(app_factory, connections):
    app = app_factory(ENVIRON={"ALLOW_PRIVATE_TARGETS": "off"})
    client = app.test_client()
    sign_in(client, add_user(app, "owner@example.com", Role.OWNER))
    app_id = add_app(app)
    response = client.post(f"{base(app_id)}/test", data={"url": "http://127.0.0.1:9/"})
    assert response.status_code == 422
    assert "This address is not publicly reachable" in text_of(response)
    assert connections == []


def test_test_requests_are_rate_limited(app, owner, app_id):
    statuses = [
        owner.post(f"{base(app_id)}/test", data={"url": "http://10.0.0.5/"}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [422] * 10
    response = owner.post(f"{base(app_id)}/test", data={"url": "http://10.0.0.5/"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


# -- step 2: the secret key, shown once ----------------------------------------------------


def test_secret_is_shown_once_with_no_store_and_never_again(app, owner, app_id, database_url):
    uid = create_set(owner, app_id)
    response = owner.post(f"{base(app_id)}/{uid}/secret/generate")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = text_of(response)
    webhook_set = the_set(app)
    with app.app_context():
        secret = db.session.get(WebhookSet, webhook_set.id).secret_key
    assert len(secret) >= 43  # token_urlsafe(32)
    assert secret in page
    assert "I saved it" in page
    assert webhook_set.secret_shown_at is not None and webhook_set.secret_saved_at is None

    for path in ("secret", "url"):  # reload, back button
        later = text_of(owner.get(f"{base(app_id)}/{uid}/{path}"))
        assert secret not in later
    assert f"…{secret[-4:]}" in text_of(owner.get(f"{base(app_id)}/{uid}/secret"))

    owner.post(f"{base(app_id)}/{uid}/secret/saved")
    owner.post(f"{base(app_id)}/{uid}/triggers/save", data={"t_incoming_chat-chosen": "y"})
    for path in ("secret", "triggers", "review", "registration"):
        later = owner.get(f"{base(app_id)}/{uid}/{path}")
        assert secret not in text_of(later), path
    assert secret not in text_of(owner.get(f"{base(app_id)}/"))
    with app.app_context():
        assert secret.encode() not in db.session.get(WebhookSet, webhook_set.id).secret_key_sealed


def test_regenerating_gives_a_new_key_and_asks_again(app, owner, app_id):
    uid = create_set(owner, app_id)
    first = text_of(owner.post(f"{base(app_id)}/{uid}/secret/generate"))
    owner.post(f"{base(app_id)}/{uid}/secret/saved")
    second = text_of(owner.post(f"{base(app_id)}/{uid}/secret/generate"))
    with app.app_context():
        secret = db.session.get(WebhookSet, the_set(app).id).secret_key
    assert secret in second and secret not in first
    assert the_set(app).secret_saved_at is None
    assert owner.get(f"{base(app_id)}/{uid}/triggers").status_code == 302


def test_own_secret_skips_the_confirmation(app, owner, app_id):
    uid = create_set(owner, app_id)
    response = owner.post(
        f"{base(app_id)}/{uid}/secret/own", data={"secret_key": "  my-own-secret-key-123  "}
    )
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/triggers"
    assert the_set(app).secret_key_last4 == "-123"
    with app.app_context():
        assert db.session.get(WebhookSet, the_set(app).id).secret_key == "my-own-secret-key-123"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Paste the secret key, or generate one instead."),
        ("short", "Use 16 to 200 characters."),
        ("x" * 201, "Use 16 to 200 characters."),
        ("with\nline-break-123456", "Use plain text: no line breaks, tabs or control characters."),
        ("nul\x00byte-1234567890", "Use plain text: no line breaks, tabs or control characters."),
        ("has a space in it 1234", "Use a key without spaces."),
    ],
)
def test_own_secret_bad_input(app, owner, app_id, value, message):
    uid = create_set(owner, app_id)
    response = owner.post(f"{base(app_id)}/{uid}/secret/own", data={"secret_key": value})
    assert response.status_code == 422
    assert message in text_of(response)
    assert the_set(app).secret_key_sealed is None


# -- step 2 with the console's own inbox: the console keeps the key ------------------------


def inbox_set(owner, app_id: int) -> str:
    response = owner.post(f"{base(app_id)}/create", data={"url": "", "use_inbox": "y"})
    assert response.status_code == 302, text_of(response)
    return response.headers["Location"].split("/")[-2]


def saved_secret(app) -> str:
    with app.app_context():
        return db.session.get(WebhookSet, the_set(app).id).secret_key


def test_own_inbox_secret_step_is_one_screen_and_the_console_keeps_the_key(app, owner, app_id):
    uid = inbox_set(owner, app_id)
    page = text_of(owner.get(f"{base(app_id)}/{uid}/secret"))
    assert "the console keeps the key</strong> and checks every event with it" in page
    assert "Continue to triggers" in page
    for wording in ("I saved it", "endpoint's settings", "Generate a key", "Copy", "own key"):
        assert wording not in page, wording
    assert page.count("<form") == 2  # the step's one button, and sign-out

    response = owner.post(f"{base(app_id)}/{uid}/secret/keep")
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/triggers"
    webhook_set = the_set(app)
    secret = saved_secret(app)
    assert len(secret) >= 43  # token_urlsafe(32)
    assert webhook_set.wizard_step == WizardStep.TRIGGERS
    assert webhook_set.secret_saved_at is not None and webhook_set.secret_shown_at is None
    triggers = text_of(owner.get(f"{base(app_id)}/{uid}/triggers"))
    assert "The console keeps the secret key and checks every event with it." in triggers
    for path in ("secret", "triggers", "url"):
        assert secret not in text_of(owner.get(f"{base(app_id)}/{uid}/{path}")), path
    # The console's receiver checks every delivery with the key it kept.
    token = webhook_set.inbox_token
    assert owner.post(f"/hooks/{token}", json=delivery_body(secret=secret)).status_code == 200
    assert owner.post(f"/hooks/{token}", json=delivery_body(secret="x" * 43)).status_code == 401


def test_keeping_the_key_again_keeps_the_same_key(app, owner, app_id):
    uid = inbox_set(owner, app_id)
    owner.post(f"{base(app_id)}/{uid}/secret/keep")
    first = saved_secret(app)
    page = text_of(owner.get(f"{base(app_id)}/{uid}/secret"))
    assert f"The key in use ends in <code>…{first[-4:]}</code>" in page
    owner.post(f"{base(app_id)}/{uid}/secret/keep")
    assert saved_secret(app) == first


def test_the_console_keeps_no_key_for_someone_elses_endpoint(app, owner, app_id):
    uid = create_set(owner, app_id)
    page = text_of(owner.get(f"{base(app_id)}/{uid}/secret"))
    assert "Generate a key" in page and "Continue to triggers" not in page
    response = owner.post(f"{base(app_id)}/{uid}/secret/keep", follow_redirects=True)
    assert "Your endpoint must know the key" in text_of(response)
    assert the_set(app).secret_key_sealed is None
    assert the_set(app).wizard_step == WizardStep.SECRET


def test_leaving_the_inbox_asks_for_a_key_the_new_endpoint_knows(app, owner, app_id):
    uid = inbox_set(owner, app_id)
    owner.post(f"{base(app_id)}/{uid}/secret/keep")
    owner.post(f"{base(app_id)}/{uid}/triggers/save", data={"t_incoming_chat-chosen": "y"})
    response = owner.post(f"{base(app_id)}/{uid}/url/save", data={"url": PUBLIC_URL})
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/secret"
    page = text_of(owner.get(f"{base(app_id)}/{uid}/secret"))
    assert "kept the key ending in" in page and "never showed it" in page
    assert "I saved it" not in page and "Keep this key" not in page
    assert "Generate a new key" in page
    # Back to the inbox: the console has its key again and the set is ready for review.
    owner.post(f"{base(app_id)}/{uid}/url/save", data={"use_inbox": "y"})
    response = owner.post(f"{base(app_id)}/{uid}/secret/keep")
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/review"


def test_a_typed_key_is_not_asked_for_again_when_leaving_the_inbox(app, owner, app_id):
    uid = inbox_set(owner, app_id)
    owner.post(f"{base(app_id)}/{uid}/secret/own", data={"secret_key": "my-own-secret-key-123"})
    owner.post(f"{base(app_id)}/{uid}/triggers/save", data={"t_incoming_chat-chosen": "y"})
    response = owner.post(f"{base(app_id)}/{uid}/url/save", data={"url": PUBLIC_URL})
    assert response.headers["Location"] == f"{base(app_id)}/{uid}/review"


# -- step 3: triggers and filters ----------------------------------------------------------


def saved_triggers(app) -> dict[str, tuple[dict, list]]:
    with app.app_context():
        webhook_set = db.session.get(WebhookSet, the_set(app).id)
        return {t.action: (t.filters, t.additional_data) for t in webhook_set.triggers}


def test_filters_are_saved_in_livechats_shapes(app, owner, app_id):
    through_triggers(
        owner,
        app_id,
        {
            "t_incoming_event-chosen": "y",
            "t_incoming_event-author_type": "agent",
            "t_incoming_event-presence_mode": "exclude_values",
            "t_incoming_event-presence_ids": "bot@example.com, a@example.com  b@example.com",
            "t_incoming_event-my_bots": "y",
            "t_incoming_event-only_my_chats": "y",
            "t_incoming_event-source_type": ["system", "my_client"],
            "t_incoming_event-additional_data": ["chat_presence_user_ids", "chat_properties"],
            "t_routing_status_set-chosen": "y",
            "t_routing_status_set-agent_mode": "values",
            "t_routing_status_set-agent_ids": "agent@example.com",
            "t_agent_created-chosen": "y",
            # Not allowed for incoming_chat, which is not chosen either: ignored.
            "t_incoming_chat-author_type": "customer",
        },
    )
    assert saved_triggers(app) == {
        "incoming_event": (
            {
                "author_type": "agent",
                "chat_presence": {
                    "user_ids": {
                        "exclude_values": ["bot@example.com", "a@example.com", "b@example.com"]
                    },
                    "my_bots": True,
                },
                "only_my_chats": True,
                "source_type": ["my_client", "system"],
            },
            ["chat_properties", "chat_presence_user_ids"],
        ),
        "routing_status_set": ({"agent_ids": {"values": ["agent@example.com"]}}, []),
        "agent_created": ({}, []),
    }


def test_a_filter_not_allowed_for_a_trigger_is_never_saved(app, owner, app_id):
    through_triggers(
        owner,
        app_id,
        {
            "t_incoming_chat-chosen": "y",
            "t_incoming_chat-author_type": "customer",
            "t_agent_created-chosen": "y",
            "t_agent_created-only_my_chats": "y",
            "t_agent_created-additional_data": ["chat_properties"],
        },
    )
    assert saved_triggers(app) == {"incoming_chat": ({}, []), "agent_created": ({}, [])}


def test_each_trigger_offers_only_its_own_filters(app, owner, app_id):
    uid = through_secret(owner, app_id)
    page = text_of(owner.get(f"{base(app_id)}/{uid}/triggers"))
    assert 'name="t_incoming_event-author_type"' in page
    assert 'name="t_event_updated-author_type"' in page
    assert len(re.findall(r'name="t_\w+-author_type"', page)) == 2 * 3  # 2 triggers, 3 choices
    assert 'name="t_routing_status_set-agent_ids"' in page
    assert len(re.findall(r'name="t_\w+-agent_ids"', page)) == 1
    assert 'name="t_routing_status_set-presence_mode"' not in page
    assert 'name="t_agent_created-additional_data"' not in page
    assert 'name="t_agent_created-source_type"' in page
    assert 'name="t_incoming_customer-chosen"' not in page  # 3.5 only
    assert 'name="t_event_deleted-chosen"' in page
    # Groups fold away; a trigger's filters sit under it, with no link of their own.
    assert page.count('<details class="trigger-group') == len(catalog.TRIGGER_GROUPS)
    assert page.count("<details") == page.count("</details>") == len(catalog.TRIGGER_GROUPS)


def test_an_older_api_version_offers_its_own_triggers(app, owner):
    app_id = add_app(app, "3.5")
    uid = through_secret(owner, app_id)
    page = text_of(owner.get(f"{base(app_id)}/{uid}/triggers"))
    assert 'name="t_incoming_customer-chosen"' in page
    assert 'name="t_event_deleted-chosen"' not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose at least one trigger."),
        ({"t_bogus-chosen": "y"}, "Choose at least one trigger."),
        (
            {"t_incoming_chat-chosen": "y", "t_incoming_chat-presence_mode": "values"},
            "List at least one user ID, or choose “Any chat”.",
        ),
        (
            {"t_incoming_chat-chosen": "y", "t_incoming_chat-presence_ids": "a@example.com"},
            "Choose whether to include or leave out these users.",
        ),
        (
            {
                "t_incoming_chat-chosen": "y",
                "t_incoming_chat-presence_mode": "values",
                "t_incoming_chat-presence_ids": " ".join(f"u{i}" for i in range(51)),
            },
            "List at most 50 IDs.",
        ),
        (
            {
                "t_incoming_chat-chosen": "y",
                "t_incoming_chat-presence_mode": "values",
                "t_incoming_chat-presence_ids": "x" * 101,
            },
            "An ID has at most 100 characters.",
        ),
        (
            {
                "t_incoming_chat-chosen": "y",
                "t_incoming_chat-presence_mode": "values",
                "t_incoming_chat-presence_ids": "a\x00b",
            },
            "Use plain text: no line breaks, tabs or control characters.",
        ),
        (
            {"t_incoming_event-chosen": "y", "t_incoming_event-author_type": "robot"},
            "Not a valid choice",
        ),
        (
            {"t_incoming_chat-chosen": "y", "t_incoming_chat-source_type": ["everyone"]},
            "is not a valid choice",
        ),
        (
            {
                "t_routing_status_set-chosen": "y",
                "t_routing_status_set-agent_mode": "exclude_values",
            },
            "List at least one agent ID, or choose “Any agent”.",
        ),
    ],
)
def test_triggers_bad_input(app, owner, app_id, data, message):
    uid = through_secret(owner, app_id)
    response = owner.post(f"{base(app_id)}/{uid}/triggers/save", data=data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert saved_triggers(app) == {}
    assert the_set(app).wizard_step == WizardStep.TRIGGERS


def test_mistakes_in_unticked_triggers_do_not_block(app, owner, app_id):
    through_triggers(
        owner,
        app_id,
        {"t_incoming_chat-chosen": "y", "t_chat_deactivated-presence_mode": "values"},
    )
    assert saved_triggers(app) == {"incoming_chat": ({}, [])}


def test_saved_triggers_are_shown_again(app, owner, app_id):
    uid = through_triggers(
        owner,
        app_id,
        {
            "t_incoming_event-chosen": "y",
            "t_incoming_event-presence_mode": "values",
            "t_incoming_event-presence_ids": "a@example.com",
        },
    )
    page = text_of(owner.get(f"{base(app_id)}/{uid}/triggers"))
    assert (
        'id="t_incoming_event-chosen" name="t_incoming_event-chosen" type="checkbox" value="y"'
        in page
    )
    assert 'value="a@example.com"' in page


# -- step 3: the picker: groups, quick picks, plain words ------------------------------------


def test_groups_are_collapsed_and_count_what_is_chosen(app, owner, app_id):
    uid = through_triggers(
        owner, app_id, {"t_incoming_chat-chosen": "y", "t_thread_tagged-chosen": "y"}
    )
    page = text_of(owner.get(f"{base(app_id)}/{uid}/triggers"))
    groups = re.findall(
        r'<details class="trigger-group[\w -]*" data-group( open)?>\s*<summary>(.*?)</summary>',
        page,
        re.S,
    )
    names = [re.sub(r"<[^>]+>", "", summary).split() for _, summary in groups]
    assert all(opened == "" for opened, _ in groups)  # all folded
    counts = {words[0]: " ".join(words[1:]) for words in names}
    assert counts["Chats"] == "1 of 2 chosen"
    assert counts["Thread"] == "tags 1 of 2 chosen"
    configuration = [t for t in catalog.triggers_for("3.6") if t.group == "Configuration"]
    assert counts["Configuration"] == f"0 of {len(configuration)} chosen"
    # The search box is there for JavaScript to show; without it the whole list is shown.
    assert re.search(r'<div class="trigger-search" data-search hidden>', page)


def test_a_group_with_a_mistake_opens(app, owner, app_id):
    uid = through_secret(owner, app_id)
    response = owner.post(
        f"{base(app_id)}/{uid}/triggers/save",
        data={"t_routing_status_set-chosen": "y", "t_routing_status_set-agent_mode": "values"},
    )
    assert response.status_code == 422
    page = text_of(response)
    assert re.search(r'data-group open>\s*<summary><span class="group-name">Status<', page)
    assert not re.search(r'data-group open>\s*<summary><span class="group-name">Chats<', page)


def test_filters_are_in_plain_words_with_a_summary_of_their_effect(app, owner, app_id):
    uid = through_triggers(
        owner,
        app_id,
        {
            "t_incoming_event-chosen": "y",
            "t_incoming_event-author_type": "customer",
            "t_incoming_event-source_type": ["other_clients"],
            "t_chat_deactivated-chosen": "y",
        },
    )
    page = text_of(owner.get(f"{base(app_id)}/{uid}/triggers"))
    for jargon in ("Only when the change came from", "Other apps", "Filters and extra data"):
        assert jargon not in page
    for words in ("Messages from", "Customers only", "Only when done by", "None ticked: all."):
        assert words in page
    assert "Only messages from customers, done by people or other apps" in page
    assert "All ended chats" in page
    assert 'data-effect="from customers"' in page  # what the page's script builds the line from


@pytest.mark.parametrize(
    ("action", "filters", "data", "line"),
    [
        ("incoming_event", {}, [], "All messages"),
        ("incoming_event", {"author_type": "customer"}, [], "Only messages from customers"),
        ("agent_created", {}, [], "All changes"),
        (
            "incoming_chat",
            {"only_my_chats": True, "source_type": ["system", "my_client"]},
            ["chat_properties"],
            "Only new chats in chats this app started, done by this app or LiveChat on its "
            "own; also sends the chat's properties",
        ),
        (
            "thread_tagged",
            {"chat_presence": {"user_ids": {"values": ["a@x", "b@x"]}, "my_bots": True}},
            [],
            "Only tags added in chats with a@x, b@x or this app's bots",
        ),
        (
            "incoming_chat",
            {"chat_presence": {"user_ids": {"exclude_values": ["a", "b", "c", "d", "e"]}}},
            ["chat_presence_user_ids", "chat_properties"],
            "Only new chats in chats without a, b, c and 2 more; also sends the chat's "
            "properties and who is in the chat",
        ),
        (
            "routing_status_set",
            {"agent_ids": {"exclude_values": ["bot@x"]}},
            [],
            "Only status changes for agents other than bot@x",
        ),
    ],
)
def test_the_effect_line(action, filters, data, line):
    assert trigger_words.effect(action, filters, data) == line


def test_a_quick_pick_ticks_its_triggers_without_saving(app, owner, app_id):
    uid = through_secret(owner, app_id)
    response = owner.post(
        f"{base(app_id)}/{uid}/triggers/save",
        data={
            "preset": "chats",
            "t_thread_tagged-chosen": "y",
            "t_incoming_event-author_type": "customer",
        },
    )
    assert response.status_code == 200
    page = text_of(response)
    ticked = set(re.findall(r'<input checked data-chosen id="t_(\w+)-chosen"', page))
    assert ticked == {"incoming_chat", "incoming_event", "chat_deactivated", "thread_tagged"}
    assert "Ticked “A chat starts”, “A message arrives”, “A chat ends”." in page
    assert "Only messages from customers" in page  # what was filled in stays
    assert saved_triggers(app) == {}
    assert the_set(app).wizard_step == WizardStep.TRIGGERS
    # The groups it ticked in are open, to show what happened.
    assert re.search(r'data-group open>\s*<summary><span class="group-name">Events<', page)
    assert not re.search(r'data-group open>\s*<summary><span class="group-name">Status<', page)


def test_an_unknown_quick_pick_changes_nothing(app, owner, app_id):
    uid = through_secret(owner, app_id)
    response = owner.post(
        f"{base(app_id)}/{uid}/triggers/save",
        data={"preset": "everything", "t_incoming_chat-chosen": "y"},
    )
    assert response.status_code == 422
    assert "That quick pick does not exist" in text_of(response)
    assert saved_triggers(app) == {}


def test_quick_picks_offer_only_the_versions_triggers():
    assert [p.name for p in catalog.presets_for("3.6")] == ["chats", "tags", "handover", "team"]
    for version in ("3.5", "3.6"):
        known = {t.action for t in catalog.triggers_for(version)}
        for preset in catalog.presets_for(version):
            assert set(preset.actions) <= known


def test_enter_in_a_text_box_saves_rather_than_picking(app, owner, app_id):
    """A browser presses a form's first submit button on Enter: it must be Save."""
    uid = through_secret(owner, app_id)
    page = text_of(owner.get(f"{base(app_id)}/{uid}/triggers"))
    form = page[page.index("data-trigger-picker") :]
    first_button = re.search(r"<button[^>]*>([^<]*)</button>", form)
    assert first_button.group(1) == "Save triggers and review"
    assert 'name="preset"' not in first_button.group(0)


# -- roles ---------------------------------------------------------------------------------


def wizard_posts(app_id: int, uid: str) -> dict[str, dict]:
    return {
        f"{base(app_id)}/create": {"url": PUBLIC_URL},
        f"{base(app_id)}/test": {"url": PUBLIC_URL},
        f"{base(app_id)}/{uid}/url/save": {"url": "https://hooks.example.com/viewer"},
        f"{base(app_id)}/{uid}/url/test": {"url": PUBLIC_URL},
        f"{base(app_id)}/{uid}/secret/generate": {},
        f"{base(app_id)}/{uid}/secret/own": {"secret_key": "viewer-secret-key-123"},
        f"{base(app_id)}/{uid}/secret/saved": {},
        f"{base(app_id)}/{uid}/secret/keep": {},
        f"{base(app_id)}/{uid}/triggers/save": {"t_agent_deleted-chosen": "y"},
        f"{base(app_id)}/{uid}/delete": {},
        f"{base(app_id)}/{uid}/register": {},
        f"{base(app_id)}/{uid}/cancel": {},
        f"{base(app_id)}/{uid}/remove": {},
    }


def test_viewer_gets_403_on_every_wizard_post(app, client, owner, app_id):
    uid = through_triggers(owner, app_id)
    before = (the_set(app).target_url, the_set(app).secret_key_sealed, saved_triggers(app))
    viewer = app.test_client()
    sign_in(viewer, add_user(app, "viewer@example.com", Role.VIEWER))
    posts = wizard_posts(app_id, uid)
    rules = {
        r.rule
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith(("wizard.", "registration.")) and "POST" in r.methods
    }
    assert len(rules) == len(posts)
    for path, data in posts.items():
        response = viewer.post(path, data=data)
        assert response.status_code == 403, path
        assert "Your role can look but not change this" in text_of(response)
    assert (the_set(app).target_url, the_set(app).secret_key_sealed, saved_triggers(app)) == before
    assert set_count(app) == 1


def test_viewer_sees_the_steps_without_controls(app, client, owner, app_id):
    uid = through_triggers(owner, app_id)
    viewer = app.test_client()
    sign_in(viewer, add_user(app, "viewer@example.com", Role.VIEWER))
    for path in ("url", "secret", "triggers", "review"):
        response = viewer.get(f"{base(app_id)}/{uid}/{path}")
        assert response.status_code == 200, path
        assert "<fieldset disabled>" in response.get_data(as_text=True) or path == "review"
    assert "Create one" not in text_of(viewer.get(f"{base(app_id)}/"))
