"""Facts of livechat-api.md the rest of the suite did not pin down, probed through HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fixtures_world import (
    add_client,
    add_webhook,
    receiver_fixture,  # noqa: F401 - fixture
    run_due,
    sandbox_app_fixture,  # noqa: F401 - fixture
    simulate,
)
from sandbox_helpers import (
    ADA,
    NICK,
    Sandbox,
    api,
    authorize_params,
    decide,
    get_code,
    query_of,
    register,
)

from consoleapp.extensions import db
from consoleapp.sandbox import delivery
from consoleapp.sandbox.accounts.models import SandboxAuthorizationCode

# -- §1.1 lifecycle headers -----------------------------------------------------------------

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.mark.parametrize(
    ("method", "use_pat"),
    [("list_webhook_names", False), ("register_webhook", True), ("list_webhooks", False)],
    ids=["unauthenticated", "success", "error"],
)
@pytest.mark.parametrize("version", ["3.5", "3.6"])
def test_legacy_version_answers_carry_the_legacy_header(
    client, sandbox: Sandbox, version, method, use_pat
):
    body = {"owner_client_id": sandbox.client_id} if method == "list_webhooks" else {}
    if method == "register_webhook":
        response = register(client, sandbox, version=version)
    else:
        # list_webhooks without credentials answers an authentication error.
        response = api(client, method, body, version=version)
    assert response.status_code == (401 if method == "list_webhooks" else 200)
    assert "Deprecation" not in response.headers
    if version == "3.5":  # legacy since 3.6 became stable
        assert DATE.match(response.headers.get("Legacy", "")), response.headers
    else:
        assert "Legacy" not in response.headers


# -- §5.3 at most 3 redirects to the OAuth server per 30 s per client and user ------------


def _codes(app) -> int:
    with app.app_context():
        return db.session.execute(
            db.select(db.func.count()).select_from(SandboxAuthorizationCode)
        ).scalar_one()


def _age_codes(app, seconds: int) -> None:
    with app.app_context():
        for row in db.session.execute(db.select(SandboxAuthorizationCode)).scalars():
            row.created_at -= timedelta(seconds=seconds)
        db.session.commit()


def test_a_fourth_redirect_within_30_seconds_is_too_many_redirects(app, client, sandbox):
    for _ in range(3):
        get_code(client, sandbox)
    fourth = decide(client, authorize_params(sandbox))
    assert fourth.status_code == 302
    location = fourth.headers["Location"]
    assert urlsplit(location).path == "/sandbox/accounts/ooops"
    assert query_of(location)["exception_details"] == "too_many_redirects"
    assert "code" not in query_of(location)
    assert _codes(app) == 3
    page = client.get(location)
    assert page.status_code == 400 and "too_many_redirects" in page.get_data(as_text=True)
    # Counted per user: another account of the license may still sign in.
    assert get_code(client, sandbox, NICK, scope="accounts--my:ro")
    # Once the window has passed, the same user may sign in again.
    _age_codes(app, 31)
    assert get_code(client, sandbox, ADA)


# -- §3.4 / §4.1 additional_data holds exactly what was requested -------------------------


@pytest.mark.parametrize(
    "requested",
    [
        [],
        ["chat_properties"],
        ["chat_presence_user_ids"],
        ["chat_properties", "chat_presence_user_ids"],
    ],
)
@pytest.mark.parametrize("version", ["3.5", "3.6"])
def test_additional_data_holds_exactly_what_was_requested(
    sandbox_app, receiver, requested, version
):
    client_id = add_client(sandbox_app)
    add_webhook(
        sandbox_app,
        client_id,
        "incoming_event",
        receiver.url,
        additional_data=requested,
        api_version=version,
    )
    simulate(sandbox_app.test_client(), "send_message")
    run_due(sandbox_app)
    body = receiver.received[0].json()
    assert set(body["additional_data"]) == set(requested)
    assert "requester" not in body  # configuration webhooks only
    assert "organization_id" in body and "license_id" not in body


# -- §4.3 delivery: ~10 s timeout, up to 3 retries within about a minute -------------------


def test_delivery_defaults_follow_the_current_guide(app):
    sender = delivery._client(app)
    assert sender.read_timeout == 10.0
    assert delivery.MAX_ATTEMPTS == 1 + 3
    assert sum(delivery._retry_delays(app)) <= 60


# -- §2.4 list_webhook_names needs no credentials -----------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer dal:revoked"}, {"Authorization": "Basic !!"}]
)
def test_list_webhook_names_ignores_credentials(client, headers):
    response = api(client, "list_webhook_names", {"version": "3.5"}, headers)
    assert response.status_code == 200
    assert {"action": "incoming_customer", "filters": ["source_type"]} in response.get_json()
