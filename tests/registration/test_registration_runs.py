"""Registration as background work: Register answers at once, one run per set, cancel, a
worker that dies, the queue that does not answer, and LiveChat's faults during a run."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import requests
from local_receiver import closed_port

from consoleapp.extensions import db, queue
from consoleapp.models import RegistrationRun, Role, WebhookSet, utcnow
from consoleapp.services import registration
from consoleapp.tasks import requeue_stalled_runs, watch_registration
from registration_support import (
    FIVE,
    create_app,
    fault,
    listed,
    rows,
    sandbox_api,
    walk,
)
from support import add_user, run_queued_tasks, sign_in, text_of


def runs(live) -> list[tuple[str, str, str | None]]:
    with live.app.app_context():
        return [
            (run.kind, run.state, run.problem)
            for run in db.session.execute(
                db.select(RegistrationRun).order_by(RegistrationRun.id)
            ).scalars()
        ]


def status(console, app_id: int, uid: str) -> dict:
    return console.get(f"/apps/{app_id}/webhooks/{uid}/registration.json").get_json()


def test_register_answers_at_once_and_the_worker_does_the_calls(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, FIVE)
    response = console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    assert response.status_code == 302
    assert calls == []  # nothing sent to LiveChat from the request
    page = text_of(console.get(response.headers["Location"]))
    assert "Registration started." in page
    assert "Waiting for a worker to start it…" in page
    assert page.count(">queued</span>") == 5
    assert ">Cancel</button>" in page and ">Register with LiveChat</button>" not in page
    before = status(console, app_id, uid)
    assert before["run"] == {"state": "queued", "kind": "register", "active": True, "problem": None}

    assert run_queued_tasks() == 1
    assert calls == ["register_webhook"] * 5
    after = status(console, app_id, uid)
    assert after["run"]["state"] == "finished" and after["run"]["active"] is False
    assert after["registered"] == 5 and after["done"] is True
    assert runs(live) == [("register", "finished", None)]


def test_a_second_register_joins_the_run_already_going(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat"])
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    again = console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    page = text_of(console.get(again.headers["Location"]))
    assert "This set is already being registered; its progress is below." in page
    assert len(runs(live)) == 1
    run_queued_tasks()
    assert calls == ["register_webhook"]
    assert len(listed(live, app_id)) == 1


def test_two_tabs_pressing_register_at_once_start_one_run(live, console):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat", "chat_deactivated"])
    tabs = []
    for _ in range(2):
        tab = live.app.test_client()
        with console.session_transaction() as theirs, tab.session_transaction() as mine:
            mine.update(theirs)
        tabs.append(tab)
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def press(tab) -> None:
        barrier.wait()
        answers.append(tab.post(f"/apps/{app_id}/webhooks/{uid}/register").status_code)

    threads = [threading.Thread(target=press, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [302, 302]
    assert len(runs(live)) == 1
    run_queued_tasks()
    assert sorted(w.action for w in listed(live, app_id)) == ["chat_deactivated", "incoming_chat"]


def test_cancel_before_a_worker_starts_sends_nothing(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, FIVE)
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    response = console.post(f"/apps/{app_id}/webhooks/{uid}/cancel")
    page = text_of(console.get(response.headers["Location"]))
    assert "Cancel requested. Nothing new is sent to LiveChat." in page
    assert "Cancelling: calls already sent finish, then the webhooks this run" in page
    again = console.post(f"/apps/{app_id}/webhooks/{uid}/cancel")
    assert "Already cancelling" in text_of(console.get(again.headers["Location"]))
    run_queued_tasks()
    assert calls == []
    assert runs(live) == [("register", "cancelled", None)]
    assert {state for state, _, _ in rows(live).values()} == {"pending"}
    page = text_of(console.get(f"/apps/{app_id}/webhooks/{uid}/registration"))
    assert ">Register with LiveChat</button>" in page


def test_cancel_mid_run_removes_only_what_that_run_registered(live, console, monkeypatch):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat", "chat_deactivated"])
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    run_queued_tasks()
    first = {i for _, i, _ in rows(live).values()}
    assert len(first) == 2

    chosen = ["incoming_chat", "chat_deactivated", *FIVE[2:]]
    data = {f"t_{action}-chosen": "y" for action in chosen}
    console.post(f"/apps/{app_id}/webhooks/{uid}/triggers/save", data=data)
    live.app.config["REGISTRATION_IN_FLIGHT"] = 1
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")

    from consoleapp.livechat.configuration import ConfigurationApi

    send, made = ConfigurationApi._send, []

    def sending(self, method, body, region):
        answer = send(self, method, body, region)
        made.append(method)
        if method == "register_webhook" and made.count("register_webhook") == 2:
            # Someone presses Cancel while this run's 2nd call is in flight.
            with live.app.app_context():
                run = registration.active_run(the_set_id(live))
                run.cancel_requested_at = utcnow()
                run.state = "cancelling"
                db.session.commit()
        return answer

    monkeypatch.setattr(ConfigurationApi, "_send", sending)
    run_queued_tasks()
    # The call in flight finished, nothing new started, and both calls' webhooks went.
    assert made.count("register_webhook") == 2
    assert made.count("unregister_webhook") == 2
    assert {w.id for w in listed(live, app_id)} == first
    assert runs(live)[-1][:2] == ("register", "cancelled")
    saved = rows(live)
    assert {saved[a][0] for a in ("incoming_chat", "chat_deactivated")} == {"registered"}
    assert {saved[a][0] for a in FIVE[2:]} == {"pending"}


def the_set_id(live) -> int:
    with live.app.app_context():
        return db.session.execute(db.select(WebhookSet.id)).scalar_one()


def test_queue_that_does_not_answer_starts_nothing(live_server_factory):
    port = closed_port()
    live = live_server_factory(
        worker=False,
        ENVIRON={"SANDBOX_PROVISIONING": "on", "TASK_QUEUE_URL": f"redis://127.0.0.1:{port}/0"},
    )
    client = live.app.test_client()
    sign_in(client, add_user(live.app, "owner@example.com", Role.OWNER))
    app_id = create_app(client)
    uid = walk(client, app_id, ["incoming_chat"])
    response = client.post(f"/apps/{app_id}/webhooks/{uid}/register")
    page = text_of(client.get(response.headers["Location"]))
    assert "Nothing was started and nothing was sent to LiveChat." in page
    assert f"The task queue (redis://127.0.0.1:{port}) did not answer." in page
    assert runs(live) == []
    assert listed(live, app_id) == []
    assert {state for state, _, _ in rows(live).values()} == {"pending"}
    assert ">Register with LiveChat</button>" in page


def test_a_run_whose_worker_died_goes_on_without_duplicates(live, console):
    app_id = create_app(console)
    uid = walk(console, app_id, FIVE)
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    queue.huey.flush()  # the worker took the task and died with it...
    api, client_id = sandbox_api(live, app_id)
    with live.app.app_context():
        webhook_set = db.session.execute(db.select(WebhookSet)).scalar_one()
        spec = registration.desired(webhook_set)["incoming_chat"]
        secret = webhook_set.secret_key
        db.session.commit()
    # ...right after LiveChat stored its first webhook, before the id was saved.
    api.register_webhook(
        action="incoming_chat",
        url=spec["url"],
        secret_key=secret,
        owner_client_id=client_id,
        description=spec["description"],
    )
    with live.app.app_context():
        run = db.session.execute(db.select(RegistrationRun)).scalar_one()
        webhook_set = db.session.get(WebhookSet, run.webhook_set_id)
        row = next(r for r in webhook_set.registered if r.action == "incoming_chat")
        row.state, row.attempts = "registering", 1
        run.state, run.holder = "running", "dead-worker"
        run.lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert requeue_stalled_runs() == 1
    run_queued_tasks()
    in_livechat = listed(live, app_id)
    assert sorted(w.action for w in in_livechat) == sorted(FIVE)  # one each, no duplicate
    assert {i for _, i, _ in rows(live).values()} == {w.id for w in in_livechat}
    assert runs(live) == [("register", "finished", None)]


def test_the_watch_queues_a_run_again_only_when_its_lease_ran_out(live, console):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat"])
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    queue.huey.flush()
    with live.app.app_context():
        run = db.session.execute(db.select(RegistrationRun)).scalar_one()
        run.lease_until, run.holder = utcnow() + timedelta(seconds=30), "busy-worker"
        db.session.commit()
        run_id = run.id
    watch_registration.call_local(run_id)
    assert [t.name for t in queue.huey.pending()] == ["watch_registration"]  # looks again later
    queue.huey.flush()
    with live.app.app_context():
        db.session.get(RegistrationRun, run_id).lease_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    watch_registration.call_local(run_id)
    assert [t.name for t in queue.huey.pending()] == ["run_registration"]
    run_queued_tasks()
    assert len(listed(live, app_id)) == 1


def test_a_deleted_set_cannot_be_registered_and_a_running_one_cannot_be_deleted(live, console):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat"])
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    refused = console.post(f"/apps/{app_id}/webhooks/{uid}/delete")
    page = text_of(console.get(refused.headers["Location"]))
    assert "A registration run of this set is going on." in page
    console.post(f"/apps/{app_id}/webhooks/{uid}/cancel")
    run_queued_tasks()
    deleted = console.post(f"/apps/{app_id}/webhooks/{uid}/delete")
    assert deleted.status_code == 302
    assert console.post(f"/apps/{app_id}/webhooks/{uid}/register").status_code == 404
    assert runs(live) == []  # went with the set


# -- LiveChat's faults during a queued run --------------------------------------------------


def test_rate_limiting_is_waited_out_as_retry_after_says(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, ["incoming_chat", "chat_deactivated"])
    fault(live, kind="too_many_requests", method="register_webhook", value=1, remaining=2)
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    run_queued_tasks()
    assert calls.count("register_webhook") == 4  # two refused, both tried again
    assert sorted(w.action for w in listed(live, app_id)) == ["chat_deactivated", "incoming_chat"]
    assert runs(live) == [("register", "finished", None)]


def test_a_revoked_developer_token_stops_the_run_with_what_to_do(live, console, calls):
    app_id = create_app(console)
    uid = walk(console, app_id, FIVE)
    live.app.config["REGISTRATION_IN_FLIGHT"] = 1
    with live.app.app_context():
        from consoleapp.models import App

        app = db.session.get(App, app_id)
        app.set_developer_token("revoked-or-wrong-token")
        db.session.commit()
    console.post(f"/apps/{app_id}/webhooks/{uid}/register")
    run_queued_tasks()
    assert calls == ["register_webhook"]  # the run stops at the first refusal
    ((kind, state, problem),) = runs(live)
    assert state == "finished"
    assert "LiveChat did not accept the credential. Check the token or sign in again." in problem
    page = text_of(console.get(f"/apps/{app_id}/webhooks/{uid}/registration"))
    assert "Registration stopped." in page and ">Resume</button>" in page


def test_progress_shows_each_trigger_registering_while_a_worker_runs(live_server_factory):
    live = live_server_factory(ENVIRON={"SANDBOX_PROVISIONING": "on"})  # with a worker
    client = live.app.test_client()
    sign_in(client, add_user(live.app, "owner@example.com", Role.OWNER))
    app_id = create_app(client)
    uid = walk(client, app_id, FIVE)
    fault(live, kind="latency", method="register_webhook", value=400)
    client.post(f"/apps/{app_id}/webhooks/{uid}/register")
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = status(client, app_id, uid)
        seen |= {row["label"] for row in current["rows"]}
        if not current["run"]["active"]:
            break
        time.sleep(0.05)
    assert "registering…" in seen
    assert current["registered"] == 5 and current["run"]["state"] == "finished"
    requests.delete(f"{live.url}/sandbox/faults", timeout=5)
