"""Install & test: the checklist read from the database, test events over HTTP, and errors."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import requests
import responses

from checklist_support import SANDBOX, SCENARIOS, deliver, rows_of, seed_app
from consoleapp.extensions import db
from consoleapp.models import (
    App,
    AuditEvent,
    Delivery,
    Installation,
    Role,
    TriggerTest,
    WebhookSet,
    WebhookTrigger,
    utcnow,
)
from support import add_user, flat_text_of, run_queued_tasks, sign_in

# -- the checklist from database rows ---------------------------------------------------------


def test_every_fact_verified_with_the_time_it_took(app, owner):
    app_id = seed_app(app, installed={"webhooks_enabled": True})
    deliver(app, app_id, "incoming_chat", timedelta(seconds=7))
    deliver(app, app_id, "chat_deactivated", timedelta(minutes=2, seconds=5))
    rows = rows_of(owner, app_id)
    assert {key: pill for key, (pill, _, _) in rows.items()} == {
        "authorization": "ok",
        "registration": "ok",
        "installed": "ok",
        "license_webhooks": "ok",
        "trigger:incoming_chat": "ok",
        "trigger:chat_deactivated": "ok",
    }
    assert rows["trigger:incoming_chat"][2] == (
        "Event received, secret verified 7 s after registration."
    )
    assert "2 min 5 s after registration" in rows["trigger:chat_deactivated"][2]
    page = flat_text_of(owner.get(f"/apps/{app_id}/test/"))
    assert "6 of 6 verified" in page and "Webhooks registered 2/2" in page
    assert page.count('class="pill pill-ok">verified<') == 6
    overview = flat_text_of(owner.get(f"/apps/{app_id}"))
    assert "Install and test · 6 of 6 verified" in overview
    assert f'href="/apps/{app_id}/test/"' in overview


def test_a_rejected_delivery_fails_the_row_with_its_reason(app, owner):
    app_id = seed_app(app, installed={"webhooks_enabled": True})
    deliver(app, app_id, "chat_deactivated", timedelta(seconds=3), rejection="wrong secret key")
    rows = rows_of(owner, app_id)
    assert rows["trigger:chat_deactivated"][:2] == ("bad", "failed: wrong secret key")
    assert rows["trigger:incoming_chat"] == ("wait", "waiting", "No event yet.")
    page = flat_text_of(owner.get(f"/apps/{app_id}/test/"))
    assert 'class="pill pill-bad">failed: wrong secret key<' in page


def test_deliveries_from_before_registration_do_not_count(app, owner):
    app_id = seed_app(app, installed={"webhooks_enabled": True})
    deliver(app, app_id, "incoming_chat", timedelta(seconds=-30))
    assert rows_of(owner, app_id)["trigger:incoming_chat"][0] == "wait"


@pytest.mark.parametrize(
    ("installed", "expected_installed", "expected_webhooks"),
    [
        (None, ("wait", "waiting"), ("wait", "waiting")),
        ({"webhooks_enabled": None}, ("ok", "verified"), ("wait", "waiting")),
        (
            {"webhooks_enabled": False},
            ("ok", "verified"),
            ("bad", "failed: turned off on the license"),
        ),
        (
            {"webhooks_enabled": True, "needs_reauth": True},
            ("bad", "failed: sign in with LiveChat again"),
            ("ok", "verified"),
        ),
        (
            {"webhooks_enabled": True, "uninstalled_at": utcnow()},
            ("wait", "waiting"),
            ("wait", "waiting"),
        ),
    ],
)
def test_installation_states(app, owner, installed, expected_installed, expected_webhooks):
    app_id = seed_app(app, installed=installed)
    rows = rows_of(owner, app_id)
    assert rows["installed"][:2] == expected_installed
    assert rows["license_webhooks"][:2] == expected_webhooks


def test_registration_and_authorization_not_done_yet(app, owner):
    app_id = seed_app(app, registered=("incoming_chat",))
    with app.app_context():
        db.session.get(App, app_id).scopes = ["webhooks.configuration:rw"]
        db.session.commit()
    rows = rows_of(owner, app_id)
    assert rows["authorization"][:2] == ("bad", "failed: missing scope webhooks.state:rw")
    assert rows["registration"][:2] == ("wait", "waiting")
    assert rows["trigger:chat_deactivated"] == ("wait", "waiting", "Not registered yet.")
    page = flat_text_of(owner.get(f"/apps/{app_id}/test/"))
    assert "Webhooks registered 1/2" in page


def test_an_app_without_webhooks_says_what_to_do(app, owner):
    with app.app_context():
        item = App(name="Bare")
        db.session.add(item)
        db.session.commit()
        app_id = item.id
    page = flat_text_of(owner.get(f"/apps/{app_id}/test/"))
    assert "Nothing to test yet: choose the triggers to send first." in page
    assert f'<a href="/apps/{app_id}/webhooks/">Set up webhooks →</a>' in page
    assert "0 of 4 verified" in page
    assert "Install and test · 0 of 4 verified" in flat_text_of(owner.get(f"/apps/{app_id}"))


def test_live_mode_tells_which_action_fires_each_trigger_and_has_no_buttons(app, owner):
    assert app.config["SANDBOX_URL"] is None
    app_id = seed_app(app)
    page = flat_text_of(owner.get(f"/apps/{app_id}/test/"))
    assert "In LiveChat: Open your website's chat widget as a customer and send a first" in page
    assert "In LiveChat: Close an open chat in the Agent App." in page
    assert f"/apps/{app_id}/test/incoming_chat/start" not in page
    assert owner.post(f"/apps/{app_id}/test/incoming_chat/start").status_code == 400


def test_the_tab_links_here_and_the_page_polls_its_status(app, owner):
    app_id = seed_app(app)
    page = owner.get(f"/apps/{app_id}/test/").get_data(as_text=True)
    assert f'<a href="/apps/{app_id}/test/" aria-current="page">Install &amp; test</a>' in page
    assert f'data-status-url="/apps/{app_id}/test/status"' in page
    assert 'src="/static/js/checklist.js"' in page


def test_a_viewer_sees_the_checklist_but_may_not_start_events(app_factory):
    app = app_factory(SANDBOX_URL=SANDBOX)
    app_id = seed_app(app)
    client = app.test_client()
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        page = client.get(f"/apps/{app_id}/test/")
        assert page.status_code == 200
        assert "Event received, secret verified" in flat_text_of(page)
        assert "/test/incoming_chat/start" not in flat_text_of(page)
        assert client.get(f"/apps/{app_id}/test/status").status_code == 200
        response = client.post(f"/apps/{app_id}/test/incoming_chat/start")
    assert response.status_code == 403
    assert not [call for call in mocked.calls if call.request.method == "POST"]


# -- sandbox errors are a plain flash, never a 500 ----------------------------------------------


@pytest.fixture
def mocked_sandbox(sandboxed):
    app, client = sandboxed
    return app, client, seed_app(app)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"body": requests.ConnectionError("refused")},
            "Could not reach the sandbox; check that the console is running in sandbox mode",
        ),
        ({"body": requests.ReadTimeout("slow")}, "The sandbox did not answer in time; try again."),
        (
            {
                "status": 404,
                "json": {
                    "error": {
                        "type": "not_found",
                        "message": "There is no app with client_id 'client-1'.",
                    }
                },
            },
            "The sandbox could not start this event: There is no app with client_id 'client-1'.",
        ),
        (
            {
                "status": 422,
                "json": {
                    "error": {
                        "type": "validation",
                        "message": "Chat X is closed; start a new chat.",
                    }
                },
            },
            "The sandbox could not start this event: Chat X is closed; start a new chat.",
        ),
        (
            {"status": 500, "body": "<html>oops</html>"},
            "The sandbox had a problem and started nothing",
        ),
    ],
)
def test_sandbox_errors_are_flashed_in_plain_words(mocked_sandbox, answer, expected):
    app, client, app_id = mocked_sandbox
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        mocked.post(f"{SANDBOX}/simulate/start_chat", **answer)
        response = client.post(f"/apps/{app_id}/test/incoming_chat/start")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/apps/{app_id}/test/"
    with responses.RequestsMock() as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        page = flat_text_of(client.get(response.headers["Location"]))
    assert expected in page
    with app.app_context():
        assert db.session.execute(db.select(AuditEvent)).first() is None


def test_a_sandbox_that_does_not_list_its_events_leaves_the_page_working(mocked_sandbox):
    app, client, app_id = mocked_sandbox
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.get(f"{SANDBOX}/simulate", body=requests.ConnectionError("refused"))
        page = client.get(f"/apps/{app_id}/test/")
    assert page.status_code == 200
    assert "The sandbox's events are not available: Could not reach the sandbox" in flat_text_of(
        page
    )
    assert "/test/incoming_chat/start" not in flat_text_of(page)


def test_a_trigger_no_set_chose_is_refused_without_calling_the_sandbox(mocked_sandbox):
    app, client, app_id = mocked_sandbox
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        response = client.post(f"/apps/{app_id}/test/agent_created/start")
    assert response.status_code == 302
    with responses.RequestsMock() as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        page = flat_text_of(client.get(response.headers["Location"]))
    assert "This trigger is not chosen in any webhook set of the app." in page


def test_the_filters_shape_what_the_sandbox_is_asked_for(mocked_sandbox):
    app, client, app_id = mocked_sandbox
    with app.app_context():
        trigger = db.session.execute(
            db.select(WebhookTrigger).where(WebhookTrigger.action == "incoming_chat")
        ).scalar_one()
        trigger.filters = {"source_type": ["other_clients"]}
        db.session.add(Installation(app_id=app_id, organization_id="org-9", webhooks_enabled=True))
        db.session.commit()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        started = mocked.post(
            f"{SANDBOX}/simulate/start_chat",
            json={"scenario": "start_chat", "deliveries": []},
            match=[
                responses.matchers.json_params_matcher(
                    {
                        "client_id": "client-1",
                        "organization_id": "org-9",
                        "performed_by": "other_app",
                    }
                )
            ],
        )
        response = client.post(f"/apps/{app_id}/test/incoming_chat/start")
    assert response.status_code == 302 and started.call_count == 1
    with responses.RequestsMock() as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        page = flat_text_of(client.get(response.headers["Location"]))
    assert (
        "Started: a customer starts a chat (through another app), but LiveChat queued no "
        "delivery for it. Check that "
        "the app is installed, license webhooks are on and the trigger's filters let it through."
    ) in page


# -- a real event from the sandbox, over HTTP, lands verified ------------------------------------


@pytest.fixture
def live(live_server_factory):
    return live_server_factory(
        worker=False,
        ENVIRON={"SANDBOX_PROVISIONING": "on"},
        SANDBOX_DELIVERY_TIMEOUT=5,
    )


def install_in_sandbox(live, app_id: int) -> None:
    """Stands in for the install flow: the app on the sandbox's first license, webhooks on."""
    from consoleapp.sandbox.accounts import seed
    from consoleapp.sandbox.accounts.models import SandboxInstallation

    with live.app.app_context():
        item = db.session.get(App, app_id)
        organization = seed.first_organization()
        db.session.add(
            SandboxInstallation(client_id=item.client_id, organization_id=organization.id)
        )
        db.session.add(
            Installation(app_id=app_id, organization_id=organization.id, webhooks_enabled=True)
        )
        db.session.commit()


def run_due(live) -> int:
    from consoleapp.sandbox import delivery

    with live.app.app_context():
        return delivery.run_due()


def test_a_button_makes_the_sandbox_fire_a_real_event_that_turns_the_row_verified(live):
    console = live.app.test_client()
    sign_in(console, add_user(live.app, "owner@example.com", Role.OWNER))
    app_id = int(
        console.post("/apps/new", data={"name": "Helpdesk"}).headers["Location"].split("/")[2]
    )
    base = f"/apps/{app_id}/webhooks"
    uid = console.post(f"{base}/create", data={"use_inbox": "y"}).headers["Location"].split("/")[-2]
    console.post(f"{base}/{uid}/secret/own", data={"secret_key": "testing-secret-key-123"})
    console.post(f"{base}/{uid}/triggers/save", data={"t_incoming_chat-chosen": "y"})
    assert console.post(f"{base}/{uid}/register").status_code == 302
    assert run_queued_tasks() == 1
    install_in_sandbox(live, app_id)

    page = flat_text_of(console.get(f"/apps/{app_id}/test/"))
    assert "Webhooks registered 1/1" in page
    assert f'action="/apps/{app_id}/test/incoming_chat/start"' in page
    assert ">A customer starts a chat</button>" in page
    response = console.post(f"/apps/{app_id}/test/incoming_chat/start")
    assert response.status_code == 302
    page = flat_text_of(console.get(response.headers["Location"]))
    assert "Started: a customer starts a chat. Waiting for LiveChat's delivery…" in page
    assert rows_of(console, app_id)["trigger:incoming_chat"] == (
        "wait",
        "waiting",
        "Waiting for LiveChat's delivery…",
    )

    assert run_due(live) == 1
    pill, label, detail = rows_of(console, app_id)["trigger:incoming_chat"]
    assert (pill, label) == ("ok", "verified")
    assert re.fullmatch(r"Event received, secret verified \d+ s after the test started\.", detail)
    with live.app.app_context():
        [event] = db.session.execute(
            db.select(AuditEvent).where(AuditEvent.action == "test.event_started")
        ).scalars()
        assert event.details == {
            "app_id": app_id,
            "trigger": "incoming_chat",
            "scenario": "start_chat",
        }
        [start] = db.session.execute(db.select(TriggerTest)).scalars()
        assert (start.app_id, start.action, start.scenario) == (
            app_id,
            "incoming_chat",
            "start_chat",
        )
        assert start.started_at == event.created_at


def test_the_console_reaches_the_sandbox_over_http(live, monkeypatch):
    """The page's event list comes over a socket, asked once per request."""
    asked: list[str] = []
    send = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        asked.append(f"{method} {url}")
        return send(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording)
    console = live.app.test_client()
    sign_in(console, add_user(live.app, "owner@example.com", Role.OWNER))
    app_id = seed_app(live.app)
    started = time.monotonic()
    assert console.get(f"/apps/{app_id}/test/").status_code == 200
    assert time.monotonic() - started < 10
    assert asked == [f"GET {live.url}/sandbox/simulate"]


def test_the_installed_row_offers_the_install_flow(app, owner):
    app_id = seed_app(app)
    page = owner.get(f"/apps/{app_id}/test/").get_data(as_text=True)
    assert f'<form method="post" action="/apps/{app_id}/install/start" data-install-popup' in page
    assert 'target="livechat-install"' not in page  # without JavaScript, in this tab
    assert 'src="/static/js/install.js"' in page
    with app.app_context():
        db.session.add(Installation(app_id=app_id, organization_id="org-1", webhooks_enabled=True))
        db.session.commit()
    page = owner.get(f"/apps/{app_id}/test/").get_data(as_text=True)
    assert f"/apps/{app_id}/install/start" not in page
    assert f'href="/apps/{app_id}/install/connection">Installation</a>' in page


def test_a_viewer_gets_no_install_button(app, client):
    app_id = seed_app(app)
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    page = client.get(f"/apps/{app_id}/test/").get_data(as_text=True)
    assert "/install/start" not in page
    assert client.post(f"/apps/{app_id}/install/start").status_code == 403


def test_a_delivery_that_beats_the_sandbox_answer_still_counts(mocked_sandbox):
    """The sandbox may deliver before it answers; the clock starts before it is asked."""
    app, client, app_id = mocked_sandbox
    with app.app_context():
        set_id = db.session.execute(db.select(WebhookSet.id)).scalar_one()

    def deliver_then_answer(request):
        with db.engine.begin() as connection:
            connection.execute(
                db.insert(Delivery).values(
                    webhook_set_id=set_id,
                    action="incoming_chat",
                    received_at=utcnow(),
                    verified=True,
                    headers={},
                    body="{}",
                )
            )
        return 200, {}, '{"scenario": "start_chat", "deliveries": [1]}'

    with responses.RequestsMock(assert_all_requests_are_fired=True) as mocked:
        mocked.get(f"{SANDBOX}/simulate", json=SCENARIOS)
        mocked.add_callback(
            responses.POST, f"{SANDBOX}/simulate/start_chat", callback=deliver_then_answer
        )
        assert client.post(f"/apps/{app_id}/test/incoming_chat/start").status_code == 302
    pill, label, detail = rows_of(client, app_id)["trigger:incoming_chat"]
    assert (pill, label) == ("ok", "verified")
    assert detail.endswith("s after the test started.")


def test_a_registration_after_the_last_test_restarts_the_clock(app, owner, owner_id):
    app_id = seed_app(app, installed={"webhooks_enabled": True})
    with app.app_context():
        db.session.add(
            TriggerTest(
                app_id=app_id,
                action="incoming_chat",
                scenario="start_chat",
                started_at=utcnow() - timedelta(minutes=20),
                started_by_id=owner_id,
            )
        )
        db.session.commit()
    deliver(app, app_id, "incoming_chat", timedelta(seconds=-60))
    assert rows_of(owner, app_id)["trigger:incoming_chat"][:2] == ("wait", "waiting")
    deliver(app, app_id, "incoming_chat", timedelta(seconds=7))
    assert rows_of(owner, app_id)["trigger:incoming_chat"] == (
        "ok",
        "verified",
        "Event received, secret verified 7 s after registration.",
    )
