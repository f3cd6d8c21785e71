"""Faults on demand, set through POST /sandbox/faults and seen through the Configuration API."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from sandbox_helpers import Sandbox, api, error_of, provision, webhook_body

from consoleapp.extensions import db
from consoleapp.sandbox.configuration_api.models import SandboxFault, SandboxWebhook


def set_fault(client, **body):
    response = client.post("/sandbox/faults", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_set_list_and_clear_faults(client):
    fault = set_fault(client, kind="latency", method="list_webhooks", value=250)
    assert fault == {
        "id": fault["id"],
        "kind": "latency",
        "method": "list_webhooks",
        "value": 250.0,
        "unit": "milliseconds",
        "remaining": None,
    }
    set_fault(client, kind="internal")
    assert len(client.get("/sandbox/faults").get_json()["faults"]) == 2
    assert client.delete(f"/sandbox/faults/{fault['id']}").get_json() == {"removed": 1}
    assert client.delete(f"/sandbox/faults/{fault['id']}").status_code == 404
    assert client.delete("/sandbox/faults").get_json() == {"removed": 1}
    assert client.get("/sandbox/faults").get_json() == {"faults": []}


def test_clear_faults_of_one_kind(client):
    set_fault(client, kind="latency", value=1)
    set_fault(client, kind="internal")
    assert client.delete("/sandbox/faults?kind=latency").get_json() == {"removed": 1}
    assert [item["kind"] for item in client.get("/sandbox/faults").get_json()["faults"]] == [
        "internal"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "meteor"}, "`kind` must be one of"),
        ({}, "`kind` must be one of"),
        ({"kind": "latency", "value": -1}, "`value` must be a number"),
        ({"kind": "latency", "value": "fast"}, "`value` must be a number"),
        ({"kind": "latency", "value": True}, "`value` must be a number"),
        ({"kind": "internal", "remaining": 0}, "`remaining` must be a positive integer"),
        ({"kind": "internal", "remaining": 1.5}, "`remaining` must be a positive integer"),
        ({"kind": "internal", "method": ""}, "`method` must be a method name"),
        ({"kind": "internal", "method": 3}, "`method` must be a method name"),
    ],
)
def test_bad_fault_requests(client, body, message):
    response = client.post("/sandbox/faults", json=body)
    assert response.status_code == 400
    type_, text = error_of(response)
    assert type_ == "validation" and text.startswith(message)


def test_fault_request_must_be_json(client):
    response = client.post("/sandbox/faults", data="kind=latency")
    assert response.status_code == 400
    assert error_of(response)[0] == "validation"


def test_latency(client, sandbox: Sandbox):
    set_fault(client, kind="latency", method="list_webhooks", value=300)
    body = {"owner_client_id": sandbox.client_id}
    started = time.monotonic()
    assert api(client, "list_webhooks", body, sandbox.pat_headers).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api(client, "list_webhook_names")
    assert time.monotonic() - started < 0.3


def test_too_many_requests_burst(client, sandbox: Sandbox):
    set_fault(client, kind="too_many_requests", value=2, remaining=2)
    body = {"owner_client_id": sandbox.client_id}
    for _ in range(2):
        response = api(client, "list_webhooks", body, sandbox.pat_headers)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2"
        assert error_of(response) == ("too_many_requests", "Too many requests")
    assert api(client, "list_webhooks", body, sandbox.pat_headers).status_code == 200
    assert client.get("/sandbox/faults").get_json()["faults"][0]["remaining"] == 0


def test_internal_error_on_one_method_stores_nothing(app, client, sandbox: Sandbox):
    set_fault(client, kind="internal", method="register_webhook")
    response = api(client, "register_webhook", webhook_body(sandbox), sandbox.pat_headers)
    assert response.status_code == 500
    assert error_of(response) == ("internal", "Internal server error")
    listed = api(
        client, "list_webhooks", {"owner_client_id": sandbox.client_id}, sandbox.pat_headers
    )
    assert listed.status_code == 200 and listed.get_json() == []


def test_propagation_delay_sets_active_from(app, client, sandbox: Sandbox):
    set_fault(client, kind="propagation_delay", value=90)
    response = api(client, "register_webhook", webhook_body(sandbox), sandbox.pat_headers)
    with app.app_context():
        webhook = db.session.get(SandboxWebhook, response.get_json()["id"])
        delay = webhook.active_from - webhook.created_at
    assert timedelta(seconds=89) <= delay <= timedelta(seconds=91)


def test_no_propagation_delay_by_default(app, client, sandbox: Sandbox):
    response = api(client, "register_webhook", webhook_body(sandbox), sandbox.pat_headers)
    with app.app_context():
        webhook = db.session.get(SandboxWebhook, response.get_json()["id"])
        assert webhook.active_from - webhook.created_at < timedelta(seconds=1)


def test_timeout_after_store_keeps_the_webhook(live_server_factory):
    live = live_server_factory()
    client = live.app.test_client()
    sandbox = provision(client)
    set_fault(client, kind="timeout_after_store", method="register_webhook", value=1, remaining=1)
    url = f"{live.url}/sandbox/api/v3.6/configuration/action/register_webhook"
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            url, json=webhook_body(sandbox), headers=sandbox.pat_headers, timeout=(2, 0.2)
        )
    listed = api(
        client, "list_webhooks", {"owner_client_id": sandbox.client_id}, sandbox.pat_headers
    ).get_json()
    assert [item["action"] for item in listed] == ["incoming_chat"]
    with live.app.app_context():
        assert db.session.execute(db.select(SandboxFault)).scalar_one().remaining == 0
    time.sleep(1)  # let the held answer finish before the server shuts down
