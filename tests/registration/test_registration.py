"""Registration against the sandbox over HTTP (CHECKS R7-R10): one webhook per trigger, ids
saved at once, resume, adoption after a lost answer, limits, removal and cleanup.

The Register button queues a run; these tests carry it out in the test's own thread
(``run_queued_tasks``), as a worker would, so every step is deterministic. Runs in the
background, cancelling them and workers that die are in ``test_registration_runs.py``."""

from __future__ import annotations

import time

import pytest
import responses
from responses import matchers

from consoleapp.extensions import db
from consoleapp.livechat.configuration import ConfigurationApi
from consoleapp.models import (
    App,
    RegisteredWebhook,
    WebhookSet,
    WebhookTrigger,
    WizardStep,
)
from registration_support import (
    FIVE,
    create_app,
    fault,
    listed,
    register,
    remove,
    rows,
    sandbox_api,
    the_set,
    walk,
)
from support import run_queued_tasks, text_of

# -- happy path ----------------------------------------------------------------------------


def test_register_every_trigger_and_show_progress(live, console, calls):
    app_id = create_app(console)
    uid = walk(
        console,
        app_id,
        ["incoming_event", "chat_deactivated", "agent_created"],
        {
            "t_incoming_event-author_type": "customer",
            "t_incoming_event-source_type": ["other_clients"],
            "t_incoming_event-additional_data": ["chat_properties"],
        },
    )
    response = register(console, app_id, uid)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/apps/{app_id}/webhooks/{uid}/registration"
    # A set never registered before has nothing at LiveChat to find: no list first.
    assert calls == ["register_webhook"] * 3

    webhook_set = the_set(live)
    assert webhook_set.wizard_step == WizardStep.DONE
    saved = rows(live)
    assert {action: state for action, (state, _, _) in saved.items()} == {
        "chat_deactivated": "registered",
        "incoming_event": "registered",
        "agent_created": "registered",
    }
    in_livechat = {w.action: w for w in listed(live, app_id)}
    assert {a: w.id for a, w in in_livechat.items()} == {a: i for a, (_, i, _) in saved.items()}
    event = in_livechat["incoming_event"]
    assert event.url == webhook_set.target_url
    assert event.url.endswith(f"/hooks/{webhook_set.inbox_token}")
    assert event.type == "license"
    assert event.filters == {"author_type": "customer", "source_type": ["other_clients"]}
    assert event.additional_data == ["chat_properties"]
    assert event.description.startswith(f"consoleapp set {uid} key ")

    page = text_of(console.get(response.headers["Location"]))
    assert "Registered with LiveChat" in page
    assert "3 of 3 registered" in page
    assert page.count(">registered</span>") == 3
    status = console.get(f"/apps/{app_id}/webhooks/{uid}/registration.json").get_json()
    assert status["registered"] == 3 and status["total"] == 3 and status["done"] is True
    assert {row["state"] for row in status["rows"]} == {"registered"}
    overview = text_of(console.get(f"/apps/{app_id}"))
    assert "3 triggers registered" in overview

    calls.clear()
    register(console, app_id, uid)
    assert calls == ["list_webhooks"]  # nothing left to do, nothing done twice


# -- resume after a failure (R7) -----------------------------------------------------------


def fail_the_nth_register(monkeypatch, live, n: int) -> None:
    """Set the sandbox's "internal" fault just before the n-th register_webhook call."""
    send = ConfigurationApi._send
    seen = {"register_webhook": 0}

    def sending(self, method, body, region):
        if method == "register_webhook":
            seen[method] += 1
            if seen[method] == n:
                fault(live, kind="internal", method="register_webhook", remaining=1)
        return send(self, method, body, region)

    monkeypatch.setattr(ConfigurationApi, "_send", sending)


def test_partial_failure_is_resumed_without_duplicates(live, console, monkeypatch):
    # One call at a time, so "the 3rd fails" leaves exactly the 4th and 5th untried.
    live.app.config["REGISTRATION_IN_FLIGHT"] = 1
    app_id = create_app(console)
    uid = walk(console, app_id, FIVE)
    fail_the_nth_register(monkeypatch, live, 3)
    response = register(console, app_id, uid)
    states = [state for state, _, _ in rows(live).values()]
    assert states == ["registered", "registered", "failed", "pending", "pending"]
    assert rows(live)["incoming_event"][2] == "LiveChat unavailable, try later."
    assert len(listed(live, app_id)) == 2

    page = text_of(console.get(response.headers["Location"]))
    assert "Registration stopped." in page and "incoming_event" in page
    assert "failed: LiveChat unavailable, try later." in page
    assert page.count(">waiting</span>") == 2
    assert ">Resume</button>" in page
    assert the_set(live).wizard_step == WizardStep.REVIEW

    monkeypatch.undo()
    made: list[str] = []
    send = ConfigurationApi._send
    monkeypatch.setattr(
        ConfigurationApi,
        "_send",
        lambda self, method, body, region: made.append(method) or send(self, method, body, region),
    )
    register(console, app_id, uid)
    assert made == ["list_webhooks"] + ["register_webhook"] * 3
    assert sorted(w.action for w in listed(live, app_id)) == sorted(FIVE)
    assert {state for state, _, _ in rows(live).values()} == {"registered"}
    assert the_set(live).wizard_step == WizardStep.DONE


# -- a lost answer (R8) --------------------------------------------------------------------


def test_webhook_stored_before_a_timeout_is_adopted_not_registered_again(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat", "chat_deactivated"])
    live.app.config["LIVECHAT_API_TIMEOUT"] = (2, 0.5)
    fault(live, kind="timeout_after_store", method="register_webhook", value=1, remaining=1)
    register(console, app_id, uid)
    assert calls.count("register_webhook") == 2  # one timed out, one for the other trigger
    assert calls.count("list_webhooks") == 1
    assert calls[-1] == "list_webhooks"  # looked before registering anything again
    in_livechat = listed(live, app_id)
    assert sorted(w.action for w in in_livechat) == ["chat_deactivated", "incoming_chat"]
    saved = rows(live)
    assert {w.id for w in in_livechat} == {i for _, i, _ in saved.values()}
    assert {state for state, _, _ in saved.values()} == {"registered"}
    time.sleep(1)  # let the held answer finish before the server stops


# -- limits and refusals (R9) --------------------------------------------------------------


def test_limit_reached_is_not_retried_and_names_the_trigger(live, console, calls):
    app_id = create_app(console)
    api, client_id = sandbox_api(live, app_id)
    foreign = [
        api.register_webhook(
            action="incoming_chat",
            url=f"https://other{i}.example/hook",
            secret_key="someone-elses-secret",
            owner_client_id=client_id,
        )
        for i in range(3)
    ]
    uid = walk(console, app_id, ["incoming_chat", "chat_deactivated"])
    calls.clear()
    response = register(console, app_id, uid)
    assert calls == ["register_webhook", "register_webhook"]
    saved = rows(live)
    assert saved["incoming_chat"][0] == "failed"
    assert saved["incoming_chat"][2] == "LiveChat allows at most 3 webhooks per trigger for one app"
    assert saved["chat_deactivated"][0] == "registered"
    page = text_of(console.get(response.headers["Location"]))
    assert "1 of 2 triggers were not registered; each row says why." in page
    assert "failed: LiveChat allows at most 3 webhooks" in page
    assert set(foreign) <= {w.id for w in listed(live, app_id)}


# -- removal (R10) -------------------------------------------------------------------------


def test_removal_takes_off_only_what_this_console_registered(live, console, monkeypatch):
    live.app.config["REGISTRATION_IN_FLIGHT"] = 1
    app_id = create_app(console)
    api, client_id = sandbox_api(live, app_id)
    foreign = api.register_webhook(
        action="incoming_chat",
        url="https://other.example/hook",
        secret_key="someone-elses-secret",
        owner_client_id=client_id,
    )
    uid = walk(console, app_id, ["incoming_chat", "chat_deactivated", "incoming_event"])
    fail_the_nth_register(monkeypatch, live, 3)
    register(console, app_id, uid)
    ours = {i for _, i, _ in rows(live).values() if i}
    assert len(ours) == 2

    monkeypatch.undo()
    removed: list[str] = []
    send = ConfigurationApi._send

    def recording(self, method, body, region):
        if method == "unregister_webhook":
            removed.append(body["id"])
        return send(self, method, body, region)

    monkeypatch.setattr(ConfigurationApi, "_send", recording)
    fault(live, kind="internal", method="unregister_webhook", remaining=1)
    response = remove(console, app_id, uid)
    assert set(removed) == ours
    left = rows(live)
    assert [state for state, _, _ in left.values()] == ["cleanup_pending"]
    assert list(left.values())[0][2] == "could not remove it: LiveChat unavailable, try later."
    page = text_of(console.get(response.headers["Location"]))
    assert "cleanup pending: could not remove it" in page
    assert f'href="/apps/{app_id}/webhooks/{uid}/remove">Retry cleanup…</a>' in page

    removed.clear()
    remove(console, app_id, uid)
    assert len(removed) == 1
    assert rows(live) == {}
    assert [w.id for w in listed(live, app_id)] == [foreign]
    assert the_set(live).wizard_step == WizardStep.REVIEW
    page = text_of(console.get(f"/apps/{app_id}/webhooks/{uid}/registration"))
    assert ">Register with LiveChat</button>" in page
    assert f'href="/apps/{app_id}/webhooks/{uid}/delete">Delete this set…</a>' in page


# -- changes after registration ------------------------------------------------------------


def test_a_changed_url_is_unregistered_and_registered_again(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat", "chat_deactivated"])
    register(console, app_id, uid)
    before = {i for _, i, _ in rows(live).values()}
    new_url = f"{live.url}/hooks/elsewhere"
    response = console.post(f"/apps/{app_id}/webhooks/{uid}/url/save", data={"url": new_url})
    assert response.headers["Location"].endswith("/review")
    assert the_set(live).wizard_step == WizardStep.REVIEW
    calls.clear()
    register(console, app_id, uid)
    assert calls == ["list_webhooks"] + ["unregister_webhook"] * 2 + ["register_webhook"] * 2
    in_livechat = listed(live, app_id)
    assert {w.url for w in in_livechat} == {new_url}
    assert not before & {w.id for w in in_livechat}


def test_an_unticked_trigger_is_removed_and_a_new_key_re_registers(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat", "chat_deactivated"])
    register(console, app_id, uid)
    base = f"/apps/{app_id}/webhooks/{uid}"
    console.post(f"{base}/triggers/save", data={"t_incoming_chat-chosen": "y"})
    calls.clear()
    register(console, app_id, uid)
    assert calls == ["list_webhooks", "unregister_webhook"]
    assert [w.action for w in listed(live, app_id)] == ["incoming_chat"]
    assert list(rows(live)) == ["incoming_chat"]

    console.post(f"{base}/secret/generate")
    console.post(f"{base}/secret/saved")
    calls.clear()
    register(console, app_id, uid)
    assert calls == ["list_webhooks", "unregister_webhook", "register_webhook"]


def test_a_webhook_removed_in_livechat_is_registered_again(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat"])
    register(console, app_id, uid)
    api, client_id = sandbox_api(live, app_id)
    api.unregister_webhook(rows(live)["incoming_chat"][1], client_id)
    calls.clear()
    register(console, app_id, uid)
    assert calls == ["list_webhooks", "register_webhook"]
    assert rows(live)["incoming_chat"][1] == listed(live, app_id)[0].id


# -- what the sandbox cannot produce, and what needs no LiveChat at all --------------------


def offline_set(app, client_id: str | None = "client-1", credential: bool = True) -> tuple:
    with app.app_context():
        row = App(name="Offline", client_id=client_id)
        if credential:
            row.developer_account_id = "account-1"
            row.set_developer_token("pat-1234")
        db.session.add(row)
        db.session.flush()
        webhook_set = WebhookSet(app_id=row.id, target_url="https://hooks.example.com/lc")
        webhook_set.set_secret_key("offline-secret-123456")
        webhook_set.secret_saved_at = webhook_set.created_at
        db.session.add(webhook_set)
        db.session.flush()
        webhook_set.triggers.append(WebhookTrigger(action="incoming_chat"))
        webhook_set.triggers.append(WebhookTrigger(action="chat_deactivated"))
        webhook_set.wizard_step = WizardStep.REVIEW
        db.session.commit()
        return row.id, webhook_set.uid


@pytest.mark.parametrize(
    ("client_id", "credential", "message"),
    [
        (None, True, "Add the app's Client ID on the Authorization tab first."),
        ("client-1", False, "Add a developer credential (Personal Access Token)"),
    ],
)
@responses.activate(assert_all_requests_are_fired=True)
def test_registration_needs_the_apps_credentials(app, owner, client_id, credential, message):
    app_id, uid = offline_set(app, client_id, credential)
    response = owner.post(f"/apps/{app_id}/webhooks/{uid}/register")
    page = text_of(owner.get(response.headers["Location"]))
    assert message in page
    assert len(responses.calls) == 0


API = "http://127.0.0.1:5000/sandbox/api/v3.6/configuration/action"


@responses.activate(assert_all_requests_are_fired=True)
def test_validation_refusal_names_the_trigger_and_is_not_retried(app, owner):
    app_id, uid = offline_set(app)
    responses.post(
        f"{API}/register_webhook",
        status=400,
        json={"error": {"type": "validation", "message": "`url` is not reachable"}},
        match=[matchers.json_params_matcher({"action": "incoming_chat"}, strict_match=False)],
    )
    responses.post(
        f"{API}/register_webhook",
        json={"id": "wh-2"},
        match=[matchers.json_params_matcher({"action": "chat_deactivated"}, strict_match=False)],
    )
    response = owner.post(f"/apps/{app_id}/webhooks/{uid}/register")
    run_queued_tasks()
    page = text_of(owner.get(response.headers["Location"]))
    assert "1 of 2 triggers were not registered; each row says why." in page
    assert "failed: LiveChat refused the request: `url` is not reachable" in page
    assert [c.request.url.rsplit("/", 1)[-1] for c in responses.calls] == [
        "register_webhook",
        "register_webhook",
    ]


@responses.activate(assert_all_requests_are_fired=True)
def test_livechat_unreachable_when_listing_registers_nothing(app, owner):
    app_id, uid = offline_set(app)
    with app.app_context():
        # Tried before: a webhook may be waiting at LiveChat, so the run lists first.
        webhook_set = db.session.execute(db.select(WebhookSet)).scalar_one()
        webhook_set.registered.append(
            RegisteredWebhook(action="incoming_chat", state="failed", attempts=1)
        )
        db.session.commit()
    app.config["LIVECHAT_API_TIMEOUT"] = (1, 1)
    for _ in range(4):
        responses.post(f"{API}/list_webhooks", status=503, json={})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ConfigurationApi, "__init__", _no_sleep_init())
        response = owner.post(f"/apps/{app_id}/webhooks/{uid}/register")
        run_queued_tasks()
    page = text_of(owner.get(response.headers["Location"]))
    assert (
        "Could not read the app's webhooks from LiveChat: LiveChat unavailable, try later." in page
    )
    assert len(responses.calls) == 4
    assert {state for state, _, _ in rows_of(app).values()} == {"pending"}


def rows_of(app) -> dict[str, tuple[str, str | None, str | None]]:
    with app.app_context():
        return {
            row.action: (row.state, row.livechat_webhook_id, row.last_error)
            for row in db.session.execute(db.select(RegisteredWebhook)).scalars()
        }


def _no_sleep_init():
    init = ConfigurationApi.__init__

    def patched(self, *args, **kwargs):
        kwargs["sleep"] = lambda seconds: None
        init(self, *args, **kwargs)

    return patched
