"""An installation's access token: refreshed once when expired, also by two callers at once,
and a refused refresh asks a person to reconnect (CHECKS.md O9, O10, R11)."""

from __future__ import annotations

import threading
import time

import pytest
import responses
from responses import matchers

from consoleapp.extensions import db
from consoleapp.models import Installation, utcnow
from consoleapp.services import installation as installs
from install_support import (
    ENDPOINTS,
    SECRET,
    TOKEN_URL,
    TOKENS,
    add_install_app,
    installed,
)
from support import text_of


@pytest.fixture
def app_id(app) -> int:
    return add_install_app(app)


def test_o9_expired_token_is_refreshed_once_and_saved(app, app_id):
    row_id = installed(app, app_id)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(
            TOKEN_URL,
            json={**TOKENS, "access_token": "dal:new-access"},
            match=[
                matchers.urlencoded_params_matcher(
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": "refresh-old",
                        "client_id": "client-abc",
                        "client_secret": SECRET,
                    }
                )
            ],
        )
        with app.app_context():
            assert installs.access_token(row_id, ENDPOINTS) == "dal:new-access"
            assert installs.access_token(row_id, ENDPOINTS) == "dal:new-access"
        assert len(mock.calls) == 1
    with app.app_context():
        row = db.session.get(Installation, row_id)
        assert row.access_token == "dal:new-access"
        assert row.refresh_token == TOKENS["refresh_token"]
        assert row.expires_at > utcnow()


def test_valid_token_needs_no_call(app, app_id):
    row_id = installed(app, app_id, expired=False)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        with app.app_context():
            assert installs.access_token(row_id, ENDPOINTS) == "dal:old-access"
        assert len(mock.calls) == 0


def test_r11_two_callers_share_one_refresh(app, app_id):
    row_id = installed(app, app_id)
    results: list[str] = []
    errors: list[BaseException] = []

    def slow_token(request):
        time.sleep(0.3)  # both callers arrive while the refresh is under way
        return 200, {}, '{"access_token": "dal:new-access", "expires_in": 28800}'

    def caller() -> None:
        try:
            with app.app_context():
                results.append(installs.access_token(row_id, ENDPOINTS))
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add_callback(responses.POST, TOKEN_URL, callback=slow_token)
        threads = [threading.Thread(target=caller) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert errors == []
        assert len(mock.calls) == 1
    assert results == ["dal:new-access", "dal:new-access"]


def test_o10_refused_refresh_asks_for_reconnect_without_looping(app, owner, app_id):
    row_id = installed(app, app_id)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
        with app.app_context():
            with pytest.raises(installs.ReauthNeeded):
                installs.access_token(row_id, ENDPOINTS)
            with pytest.raises(installs.ReauthNeeded):
                installs.access_token(row_id, ENDPOINTS)
        assert len(mock.calls) == 1
    with app.app_context():
        uid = db.session.get(Installation, row_id).uid
        assert db.session.get(Installation, row_id).needs_reauth is True
    page = owner.get(f"/apps/{app_id}/install/connection")
    assert page.status_code == 200
    assert "Reconnect LiveChat" in text_of(page)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        checked = owner.post(f"/apps/{app_id}/install/{uid}/check", follow_redirects=True)
        assert len(mock.calls) == 0
    assert "Reconnect LiveChat" in text_of(checked)
    status = owner.get(f"/apps/{app_id}/install/status").get_json()
    assert status["needs_reauth"] is True
    assert status["installed"] is False


def test_a_refresh_under_way_in_another_process_is_waited_for_not_repeated(
    app, app_id, monkeypatch
):
    """The lease lives on the installation row, so a caller in any process sees it."""
    from datetime import timedelta

    waiting = threading.Event()
    sleep = time.sleep

    def noting_sleep(seconds: float) -> None:
        waiting.set()
        sleep(seconds)

    monkeypatch.setattr(installs.time, "sleep", noting_sleep)
    row_id = installed(app, app_id)
    with app.app_context():
        db.session.get(Installation, row_id).refreshing_until = utcnow() + timedelta(seconds=30)
        db.session.commit()
    results: list[str] = []

    def caller() -> None:
        with app.app_context():
            results.append(installs.access_token(row_id, ENDPOINTS))
            db.session.remove()

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN_URL, json=TOKENS)
        thread = threading.Thread(target=caller)
        thread.start()
        assert waiting.wait(timeout=20)  # the caller waits for the other process's refresh
        assert results == []
        with app.app_context():  # ...which saves its new token and lets go of the lease
            row = db.session.get(Installation, row_id)
            row.access_token = "dal:refreshed-elsewhere"
            row.expires_at = utcnow() + timedelta(hours=8)
            row.refreshing_until = None
            db.session.commit()
        thread.join(timeout=20)
        assert len(mock.calls) == 0
    assert results == ["dal:refreshed-elsewhere"]


def test_a_lease_left_by_a_dead_process_only_delays_the_refresh(app, app_id):
    from datetime import timedelta

    row_id = installed(app, app_id)
    with app.app_context():
        db.session.get(Installation, row_id).refreshing_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(TOKEN_URL, json=TOKENS)
        with app.app_context():
            assert installs.access_token(row_id, ENDPOINTS) == TOKENS["access_token"]
        assert len(mock.calls) == 1
    with app.app_context():
        assert db.session.get(Installation, row_id).refreshing_until is None
