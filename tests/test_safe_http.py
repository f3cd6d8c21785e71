"""The guarded HTTP client for typed addresses (CHECKS.md S1, S2, S5, S6, S7)."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
import responses
from local_receiver import Answer, closed_port, running_receiver

from consoleapp.outbound import safe_http
from consoleapp.outbound.safe_http import SafeHttpClient
from support import NOT_PUBLIC

PUBLIC_IP = "93.184.215.14"


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_non_public_addresses_are_refused_without_connecting(url, attempts, caplog):
    caplog.set_level(logging.WARNING)
    result = SafeHttpClient(allow_loopback=False).post_json(url, {"action": "ping"})
    assert result.error_class == safe_http.BLOCKED_ADDRESS
    assert result.error == "address is not publicly reachable"
    assert result.status_code is None
    assert attempts == []
    assert any(record.levelno == logging.WARNING for record in caplog.records)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5/", "http://169.254.169.254/", "http://[fd00::1]/"]
)
def test_allowing_loopback_still_refuses_private_addresses(url, attempts):
    result = SafeHttpClient(allow_loopback=True).post_json(url, {})
    assert result.error == "address is not publicly reachable"
    assert attempts == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "ftp://x/", "http:///x"])
def test_other_schemes_are_refused_before_any_request(url, attempts):
    result = SafeHttpClient().post_json(url, {})
    assert result.error_class == safe_http.INVALID_URL
    assert attempts == []


def _addrinfo(ip: str, port: int) -> list[tuple]:
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]


def test_name_resolving_to_a_private_address_is_refused(monkeypatch, attempts):
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, port, *a, **k: _addrinfo("10.1.2.3", port)
    )
    result = SafeHttpClient().post_json("https://rebind.example/", {})
    assert result.error == "address is not publicly reachable"
    assert attempts == []


def test_connection_is_pinned_to_the_address_that_was_checked(monkeypatch, attempts):
    answers = iter([PUBLIC_IP, "10.1.2.3", "10.1.2.3"])
    lookups: list[str] = []

    def rebinding(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        lookups.append(host)
        if host == "rebind.example":
            return _addrinfo(next(answers), port)
        return _addrinfo(host, port)  # an address literal resolves to itself

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    result = SafeHttpClient().post_json("http://rebind.example/", {})
    assert lookups.count("rebind.example") == 1
    assert [address[0] for address in attempts] == [PUBLIC_IP]
    assert result.error_class == safe_http.REFUSED


@responses.activate(assert_all_requests_are_fired=True)
def test_redirect_is_not_followed():
    responses.post(
        "https://hooks.example.com/lc",
        status=302,
        headers={"Location": "http://169.254.169.254/latest/meta-data/"},
    )
    result = SafeHttpClient().post_json("https://hooks.example.com/lc", {"a": 1})
    assert result.error == "redirect not followed (302)"
    assert result.status_code == 302
    assert len(responses.calls) == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_body_is_never_returned():
    secret = "sk_live_do_not_echo_me"
    responses.post("https://hooks.example.com/lc", status=200, body=f'{{"token":"{secret}"}}')
    result = SafeHttpClient().post_json("https://hooks.example.com/lc", {})
    assert result.ok
    assert result.summary().startswith("200 OK in ")
    assert secret not in repr(result)
    assert not hasattr(result, "body") and not hasattr(result, "text")


@responses.activate(assert_all_requests_are_fired=True)
def test_declared_oversized_response_is_cut_off():
    responses.post("https://hooks.example.com/lc", status=200, body=b"x" * (5 * 1024 * 1024))
    result = SafeHttpClient().post_json("https://hooks.example.com/lc", {})
    assert result.error == "response too large"
    assert not result.ok


def test_streamed_oversized_response_is_cut_off():
    with running_receiver() as receiver:
        receiver.answer(Answer(body=b"x" * (5 * 1024 * 1024), chunked=True))
        client = SafeHttpClient(allow_loopback=True, max_response_bytes=100_000)
        result = client.post_json(receiver.url, {})
    assert result.error_class == safe_http.TOO_LARGE
    assert result.error == "response too large"


def test_slow_target_times_out_and_frees_the_caller():
    with running_receiver() as receiver:
        receiver.answer(Answer(delay=5))
        client = SafeHttpClient(allow_loopback=True, read_timeout=0.3)
        done = threading.Event()
        outcome: list[safe_http.HttpResult] = []

        def send() -> None:
            outcome.append(client.post_json(receiver.url, {}))
            done.set()

        worker = threading.Thread(target=send)
        worker.start()
        assert done.wait(3), "the sending thread is stuck"
        worker.join()
    assert outcome[0].error == "timed out after 0.3 s"
    assert outcome[0].error_class == safe_http.TIMEOUT


def test_refused_connection_is_reported_in_plain_words():
    result = SafeHttpClient(allow_loopback=True).post_json(f"http://127.0.0.1:{closed_port()}/", {})
    assert result.error == "connection refused"
    assert result.summary().startswith("failed: connection refused")


def test_loopback_is_allowed_only_when_asked():
    with running_receiver() as receiver:
        refused = SafeHttpClient(allow_loopback=False).post_json(receiver.url, {"n": 1})
        allowed = SafeHttpClient(allow_loopback=True).post_json(receiver.url, {"n": 2})
        bodies = [item.json() for item in receiver.received]
    assert refused.error == "address is not publicly reachable"
    assert allowed.ok and allowed.status_code == 200
    assert bodies == [{"n": 2}]
    assert allowed.latency_ms >= 0
