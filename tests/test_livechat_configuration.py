from __future__ import annotations

import base64
import json

import pytest
import requests
import responses

from consoleapp.livechat.configuration import ConfigurationApi, Credential, LiveChatError

BASE = "https://api.livechatinc.com"
URL = f"{BASE}/v3.6/configuration/action"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def api(sleeps) -> ConfigurationApi:
    return ConfigurationApi(
        BASE, "3.6", Credential.personal_access_token("acc-1", "pat-1"), sleep=sleeps.append
    )


@responses.activate(assert_all_requests_are_fired=True)
def test_personal_access_token_is_sent_as_basic_base64(api):
    responses.post(f"{URL}/list_webhooks", json=[])
    assert api.list_webhooks("client-1") == []
    request = responses.calls[0].request
    expected = base64.b64encode(b"acc-1:pat-1").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert "X-Region" not in request.headers
    assert json.loads(request.body) == {"owner_client_id": "client-1"}
    assert request.req_kwargs["timeout"] == (5, 15)


@responses.activate(assert_all_requests_are_fired=True)
def test_bearer_token_sends_its_region():
    responses.post(f"{URL}/get_license_webhooks_state", json={"license_webhooks_enabled": True})
    api = ConfigurationApi(BASE, "3.6", Credential.bearer("fra:abc"))
    assert api.get_license_webhooks_state() is True
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Bearer fra:abc"
    assert request.headers["X-Region"] == "fra"
    assert json.loads(request.body) == {}


@responses.activate(assert_all_requests_are_fired=True)
def test_rate_limited_read_is_retried_after_retry_after(api, sleeps):
    """CHECKS R6: 429 with Retry-After: 1, then 200."""
    responses.post(
        f"{URL}/list_webhooks",
        status=429,
        headers={"Retry-After": "1"},
        json={"error": {"type": "too_many_requests", "message": "Too many requests"}},
    )
    responses.post(f"{URL}/list_webhooks", json=[{"id": "w1", "action": "incoming_chat"}])
    hooks = api.list_webhooks("client-1")
    assert [hook.id for hook in hooks] == ["w1"]
    assert len(responses.calls) == 2
    assert sleeps == [1.0]


@responses.activate(assert_all_requests_are_fired=True)
def test_persistent_5xx_gives_up_after_four_attempts(api, sleeps):
    """CHECKS R6: 500 five times: four attempts, then a message a person can act on."""
    for _ in range(5):
        responses.post(f"{URL}/list_webhooks", status=500, body="oops")
    with pytest.raises(LiveChatError) as caught:
        api.list_webhooks("client-1")
    assert len(responses.calls) == 4
    assert len(sleeps) == 3
    assert caught.value.plain == "LiveChat unavailable, try later."
    responses.calls.reset()
    responses.reset()


@responses.activate(assert_all_requests_are_fired=True)
def test_register_is_never_retried_blindly(api, sleeps):
    responses.post(
        f"{URL}/register_webhook",
        status=500,
        json={"error": {"type": "internal", "message": "Internal server error"}},
    )
    with pytest.raises(LiveChatError) as caught:
        api.register_webhook(
            action="incoming_chat", url="https://x.example/h", secret_key="s", owner_client_id="c"
        )
    assert len(responses.calls) == 1
    assert caught.value.ambiguous is True
    assert sleeps == []


@responses.activate(assert_all_requests_are_fired=True)
def test_register_timeout_is_ambiguous(api):
    responses.post(f"{URL}/register_webhook", body=requests.ReadTimeout("slow"))
    with pytest.raises(LiveChatError) as caught:
        api.register_webhook(
            action="incoming_chat", url="https://x.example/h", secret_key="s", owner_client_id="c"
        )
    assert caught.value.type == "request_timeout"
    assert caught.value.ambiguous is True


@pytest.mark.parametrize(
    ("error_type", "plain"),
    [
        ("limit_reached", "at most 3 webhooks per trigger"),
        ("validation", "LiveChat refused the request: `url` is too long"),
        ("authentication", "did not accept the credential"),
    ],
)
@responses.activate(assert_all_requests_are_fired=True)
def test_errors_keep_livechat_type_and_read_plainly(api, error_type, plain):
    responses.post(
        f"{URL}/register_webhook",
        status=400,
        json={"error": {"type": error_type, "message": "`url` is too long"}},
    )
    with pytest.raises(LiveChatError) as caught:
        api.register_webhook(
            action="incoming_chat", url="https://x.example/h", secret_key="s", owner_client_id="c"
        )
    assert caught.value.type == error_type
    assert plain in caught.value.plain


@responses.activate(assert_all_requests_are_fired=True)
def test_misdirected_request_is_retried_in_the_named_region(api):
    responses.post(
        f"{URL}/list_webhooks",
        status=421,
        json={
            "error": {
                "type": "misdirected_request",
                "message": "Wrong region",
                "data": {"region": "fra"},
            }
        },
    )
    responses.post(f"{URL}/list_webhooks", json=[])
    assert api.list_webhooks("client-1") == []
    assert responses.calls[1].request.headers["X-Region"] == "fra"


@responses.activate(assert_all_requests_are_fired=True)
def test_register_sends_only_given_fields_and_returns_id(api):
    responses.post(f"{URL}/register_webhook", json={"id": "pqi8oasdjahuakndw9nsad9na"})
    webhook_id = api.register_webhook(
        action="incoming_event",
        url="https://x.example/h",
        secret_key="secret",
        owner_client_id="client-1",
        filters={"author_type": "customer"},
    )
    assert webhook_id == "pqi8oasdjahuakndw9nsad9na"
    assert json.loads(responses.calls[0].request.body) == {
        "action": "incoming_event",
        "secret_key": "secret",
        "url": "https://x.example/h",
        "owner_client_id": "client-1",
        "type": "license",
        "filters": {"author_type": "customer"},
    }
