"""What the Inbox keeps: deliveries by age and per inbox, removed in small batches by a task and
by ``flask inbox prune``, without holding up the receiver; bad retention settings stop the start."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import requests

from consoleapp.config import ConfigurationError
from consoleapp.extensions import db
from consoleapp.models import Delivery, DeliveryEvent, DeliveryMinute, WebhookSet, utcnow
from consoleapp.services import retention
from consoleapp.tasks import prune_inbox
from support import add_webhook_set, delivery_body, fold, make_app


def post(client, token: str, **fields: object):
    return client.post(f"/hooks/{token}", json=delivery_body(**fields))


def event(number: int) -> dict[str, object]:
    """A distinct event, so each delivery folds into an event of its own."""
    return {"payload": {"chat_id": "PJ0MRSHTDG", "event": {"id": f"e{number}", "type": "message"}}}


def stored_ids(app) -> list[int]:
    with app.app_context():
        query = db.select(Delivery.id).order_by(Delivery.id)
        return list(db.session.execute(query).scalars())


def age(app, delivery_ids: list[int], days: float) -> None:
    """Make these deliveries (and their events and minutes) look ``days`` old."""
    then = utcnow() - timedelta(days=days)
    with app.app_context():
        db.session.execute(
            db.update(Delivery).where(Delivery.id.in_(delivery_ids)).values(received_at=then)
        )
        db.session.execute(
            db.update(DeliveryEvent)
            .where(
                DeliveryEvent.id.in_(
                    db.select(Delivery.event_id).where(Delivery.id.in_(delivery_ids))
                )
            )
            .values(first_received_at=then, last_received_at=then)
        )
        db.session.execute(
            db.update(DeliveryMinute).values(minute=then.replace(second=0, microsecond=0))
        )
        db.session.commit()


def prune(app, days: int = 7, per_inbox: int = 10_000) -> retention.Pruned:
    with app.app_context():
        return retention.prune(retention.Policy(days, per_inbox))


def test_deliveries_older_than_the_setting_go_with_their_events_and_minutes(app):
    token = add_webhook_set(app)[1]
    client = app.test_client()
    for number in range(5):
        assert post(client, token, **event(number)).status_code == 200
    fold(app)
    old = stored_ids(app)[:3]
    age(app, old, days=8)

    pruned = prune(app, days=7)

    assert (pruned.too_old, pruned.beyond_cap, pruned.events) == (3, 0, 3)
    assert stored_ids(app) == [i for i in range(old[0], old[0] + 5) if i not in old]
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(DeliveryEvent.id))).scalar_one() == 2
        # The chart shows the last hour; counts of eight days ago are gone.
        assert (
            db.session.execute(db.select(db.func.count()).select_from(DeliveryMinute)).scalar_one()
            == 0
        )


def test_each_inbox_keeps_only_its_newest(app):
    token = add_webhook_set(app)[1]
    other = add_webhook_set(app, app_name="Other app")[1]
    client = app.test_client()
    for number in range(6):
        assert post(client, token, **event(number)).status_code == 200
    for number in range(2):
        assert post(client, other, **event(100 + number)).status_code == 200
    fold(app)
    before = stored_ids(app)

    pruned = prune(app, per_inbox=4)

    assert (pruned.too_old, pruned.beyond_cap) == (0, 2)
    # The first inbox lost its two oldest; the other had fewer than four and lost nothing.
    assert stored_ids(app) == before[2:]


def test_nothing_to_remove_removes_nothing(app):
    token = add_webhook_set(app)[1]
    assert post(app.test_client(), token).status_code == 200
    fold(app)
    pruned = prune(app)
    assert pruned.deliveries == 0 and len(stored_ids(app)) == 1


def test_removal_goes_in_small_batches(app, monkeypatch):
    """Each batch is a transaction of its own: the write lock is never held for all of them."""
    token = add_webhook_set(app)[1]
    client = app.test_client()
    for number in range(7):
        assert post(client, token, **event(number)).status_code == 200
    fold(app)
    age(app, stored_ids(app), days=30)
    monkeypatch.setattr(retention, "BATCH", 3)
    commits = []
    with app.app_context():
        original = db.session.commit

        def counting_commit() -> None:
            commits.append(1)
            original()

        monkeypatch.setattr(db.session, "commit", counting_commit)
        pruned = retention.prune(retention.Policy(7, 10_000))
    assert pruned.too_old == 7
    assert len(commits) >= 3  # 3 + 3 + 1, each committed on its own


def test_the_periodic_task_prunes_with_the_settings(app_factory):
    app = app_factory(ENVIRON={"INBOX_MAX_DELIVERIES": "2"})
    token = add_webhook_set(app)[1]
    client = app.test_client()
    for number in range(4):
        assert post(client, token, **event(number)).status_code == 200
    fold(app)
    before = stored_ids(app)
    with app.app_context():
        prune_inbox.call_local()
    assert stored_ids(app) == before[2:]


def test_the_command_says_what_it_removed(app):
    token = add_webhook_set(app)[1]
    client = app.test_client()
    for number in range(3):
        assert post(client, token, **event(number)).status_code == 200
    fold(app)
    age(app, stored_ids(app)[:1], days=10)
    result = app.test_cli_runner().invoke(args=["inbox", "prune"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 deliveries older than 7 days and 0 beyond the newest 10,000" in result.output
    assert len(stored_ids(app)) == 2


def test_a_delivery_arriving_while_retention_deletes_is_kept(live_server_factory, monkeypatch):
    """Retention removes old deliveries a small batch at a time while the receiver stores new
    ones: every new delivery is acknowledged and kept; only the old ones go."""
    server = live_server_factory(worker=False)
    app = server.app
    token = add_webhook_set(app)[1]
    with app.app_context():
        then = utcnow() - timedelta(days=30)
        set_id = db.session.execute(
            db.select(WebhookSet.id).where(WebhookSet.inbox_token == token)
        ).scalar_one()
        rows = [
            Delivery(
                webhook_set_id=set_id,
                received_at=then,
                action="incoming_event",
                verified=True,
                headers={},
                body="{}",
                folded=True,
            )
            for _ in range(600)
        ]
        db.session.add_all(rows)
        db.session.commit()
    old = stored_ids(app)
    monkeypatch.setattr(retention, "BATCH", 20)
    statuses: list[int] = []

    def send() -> None:
        for number in range(30):
            response = requests.post(
                f"{server.url}/hooks/{token}",
                data=json.dumps(delivery_body(**event(number))),
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            statuses.append(response.status_code)

    sender = threading.Thread(target=send)
    sender.start()
    pruned = prune(app, days=7)
    sender.join(timeout=60)

    assert statuses == [200] * 30
    assert pruned.too_old == 600
    kept = stored_ids(app)
    assert len(kept) == 30 and not set(kept) & set(old)


@pytest.mark.parametrize("setting", ["DELIVERY_RETENTION_DAYS", "INBOX_MAX_DELIVERIES"])
@pytest.mark.parametrize("value", ["0", "-3", "seven", "1.5"])
def test_bad_retention_settings_stop_the_start_with_a_clear_message(
    tmp_path, database_url, setting, value
):
    with pytest.raises(ConfigurationError, match=f"{setting} must be a whole number"):
        make_app(tmp_path, database_url, ENVIRON={setting: value})
