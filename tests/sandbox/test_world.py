"""The simulated license and the sandbox's pages."""

from __future__ import annotations

import re

from fixtures_world import (
    ACME,
    GLOBEX,
    add_client,
    add_webhook,
    run_due,
    sandbox_app_fixture,  # noqa: F401 - fixture
    simulate,
)

from consoleapp.extensions import db
from consoleapp.sandbox.accounts.models import SandboxOrganization
from consoleapp.sandbox.configuration_api.models import SandboxFault
from consoleapp.sandbox.delivery.models import SandboxDelivery
from consoleapp.sandbox.world import licenses
from consoleapp.sandbox.world.models import SandboxAgent, SandboxBot, SandboxCustomer, SandboxGroup
from support import sign_in


def _count(model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def test_world_is_seeded_once(sandbox_app):
    with sandbox_app.app_context():
        licenses.ensure_world()
        db.session.commit()
        counts = [_count(model) for model in (SandboxAgent, SandboxGroup, SandboxCustomer)]
        licenses.ensure_world()
        db.session.commit()
        assert [_count(m) for m in (SandboxAgent, SandboxGroup, SandboxCustomer)] == counts
        for organization_id in (ACME, GLOBEX):
            organization = db.session.get(SandboxOrganization, organization_id)
            roles = sorted(agent.role for agent in licenses.agents(organization))
            assert roles == ["administrator", "normal"]
            assert [group.group_id for group in licenses.groups(organization)] == [0, 1]
            assert len(licenses.customers(organization)) == 2


def test_a_clients_bot_is_created_once_per_license(sandbox_app):
    client_id = add_client(sandbox_app)
    with sandbox_app.app_context():
        organization = licenses.organization_or_default(ACME)
        first = licenses.ensure_bot(organization, client_id)
        again = licenses.ensure_bot(organization, client_id)
        assert first.id == again.id and len(first.id) == 32
        assert first.owner_client_id == client_id
        assert _count(SandboxBot) == 1


def test_ids_have_livechats_shapes():
    assert re.fullmatch(r"[A-Z0-9]{10}", licenses.chat_like_id())
    assert re.fullmatch(r"[0-9a-f]{32}", licenses.hex_id())


def test_overview_shows_licenses_apps_webhooks_and_deliveries(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "incoming_chat", "http://127.0.0.1:9/hooks")
    client = sandbox_app.test_client()
    simulate(client, "start_chat")
    run_due(sandbox_app)
    page = client.get("/sandbox/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for expected in ("10500001", "10500002", client_id, "incoming_chat", "webhooks on"):
        assert expected in html
    assert "connection refused" in html
    assert "<script>" not in html and "style=" not in html


def test_overview_is_read_only(sandbox_app):
    client = sandbox_app.test_client()
    assert client.post("/sandbox/").status_code == 405


def test_scenarios_page_has_a_button_per_scenario(sandbox_app):
    from consoleapp.sandbox.world import scenarios

    html = sandbox_app.test_client().get("/sandbox/scenarios").get_data(as_text=True)
    for item in scenarios.SCENARIOS:
        assert f'name="scenario" value="{item.name}"' in html
    assert 'method="post"' in html


def test_scenario_button_runs_it_and_says_what_happened(sandbox_app):
    client_id = add_client(sandbox_app)
    add_webhook(sandbox_app, client_id, "thread_tagged", "http://127.0.0.1:9/")
    client = sandbox_app.test_client()
    form = {
        "organization_id": ACME,
        "client_id": "",
        "performed_by": "this_app",
        "author_type": "customer",
        "scenario": "tag_thread",
    }
    response = client.post("/sandbox/scenarios", data=form)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "thread_tagged" in page and "1 delivery queued" in page
    with sandbox_app.app_context():
        assert _count(SandboxDelivery) == 1


def test_scenario_form_errors_are_shown(sandbox_app):
    client = sandbox_app.test_client()
    bad = client.post("/sandbox/scenarios", data={"scenario": "nope", "organization_id": ACME})
    assert bad.status_code == 422
    assert "Pick a scenario" in bad.get_data(as_text=True)
    needs_app = client.post(
        "/sandbox/scenarios",
        data={
            "organization_id": ACME,
            "client_id": "",
            "performed_by": "system",
            "author_type": "customer",
            "scenario": "create_bot",
        },
    )
    assert needs_app.status_code == 302
    assert "needs an app" in client.get("/sandbox/scenarios").get_data(as_text=True)


def test_forms_need_a_csrf_token(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    refused = client.post("/sandbox/fault-injection", data={"kind": "latency", "value": "5"})
    assert refused.status_code == 400
    page = client.get("/sandbox/fault-injection").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    added = client.post(
        "/sandbox/fault-injection",
        data={"csrf_token": token, "kind": "latency", "method": "*", "value": "250"},
    )
    assert added.status_code == 302
    with app.app_context():
        fault = db.session.execute(db.select(SandboxFault)).scalar_one()
        assert (fault.kind, fault.value, fault.remaining) == ("latency", 250.0, None)
        fault_id = fault.id
    html = client.get("/sandbox/fault-injection").get_data(as_text=True)
    assert "250" in html and "until removed" in html
    removed = client.post(f"/sandbox/fault-injection/{fault_id}/remove", data={"csrf_token": token})
    assert removed.status_code == 302
    with app.app_context():
        assert _count(SandboxFault) == 0
    # The JSON API stays usable without a token.
    assert client.post("/sandbox/simulate/start_chat", json={}).status_code == 200


def test_fault_form_rejects_bad_values(sandbox_app):
    client = sandbox_app.test_client()
    response = client.post(
        "/sandbox/fault-injection", data={"kind": "latency", "method": "DROP TABLE", "value": "-1"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A method name, or *." in html
    with sandbox_app.app_context():
        assert _count(SandboxFault) == 0


def test_console_navigation_links_to_the_sandbox(sandbox_app, owner_id):
    client = sandbox_app.test_client()
    sign_in(client, owner_id)
    html = client.get("/apps/").get_data(as_text=True)
    assert 'href="/sandbox/"' in html
