"""One address rule for the form check and for the guarded client when it connects
(CHECKS S1, S2), down to the IPv6 forms that carry an IPv4 address."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from consoleapp.outbound import safe_http, target_urls
from consoleapp.outbound.addresses import is_public
from consoleapp.outbound.safe_http import SafeHttpClient
from support import NOT_PUBLIC

# IPv6 forms of non-public places, each refused whatever ALLOW_PRIVATE_TARGETS says.
IPV6_FORMS = {
    "::127.0.0.1": "IPv4-compatible",
    "::ffff:0:127.0.0.1": "IPv4-translated",
    "fec0::1": "site-local",
    "::ffff:10.0.0.5": "IPv4-mapped",
    "64:ff9b::7f00:1": "NAT64",
    "64:ff9b:1::a00:5": "local-use NAT64",
    "2002:7f00:1::1": "6to4",
    "2001:0:7f00:1::1": "Teredo",
}
FORMS = pytest.mark.parametrize("address", list(IPV6_FORMS), ids=list(IPV6_FORMS.values()))
LOOPBACK_SETTING = pytest.mark.parametrize(
    "allow_loopback", [False, True], ids=["live", "private targets allowed"]
)


def resolve_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """Any name resolves to ``address``; an address literal to itself."""

    def fake(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        try:
            ip = str(ipaddress.ip_address(host))
        except ValueError:
            ip = address
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sockaddr = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@FORMS
@LOOPBACK_SETTING
def test_both_checks_refuse_the_address_without_connecting(address, allow_loopback, attempts):
    url = f"http://[{address}]/hooks"
    with pytest.raises(target_urls.TargetUrlError, match="not publicly reachable"):
        target_urls.check(url, allow_loopback)
    result = SafeHttpClient(allow_loopback=allow_loopback).post_json(url, {"ping": 1})
    assert result.error_class == safe_http.BLOCKED_ADDRESS
    assert result.error == "address is not publicly reachable"
    assert attempts == []


@FORMS
@LOOPBACK_SETTING
def test_a_name_that_resolves_to_the_address_is_refused_when_connecting(
    address, allow_loopback, attempts, monkeypatch
):
    resolve_to(monkeypatch, address)
    url = "https://rebind.example/hooks"
    result = SafeHttpClient(allow_loopback=allow_loopback).post_json(url, {"ping": 1})
    assert result.error_class == safe_http.BLOCKED_ADDRESS
    assert attempts == []
    with pytest.raises(target_urls.TargetUrlError, match="not publicly reachable"):
        target_urls.check(url, allow_loopback)


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_the_rule_refuses_every_checks_s1_address(url):
    host = target_urls.check_syntax(url)
    address = target_urls.literal_address(host)
    if address is None:  # localhost
        address = ipaddress.ip_address("127.0.0.1")
    assert not is_public(address)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # how a dual-stack socket writes 127.0.0.1
        ("::127.0.0.1", False),
        ("::ffff:0:127.0.0.1", False),
        ("10.0.0.5", False),
    ],
)
def test_loopback_is_public_only_when_private_targets_are_allowed(address, allowed):
    assert is_public(ipaddress.ip_address(address), allow_loopback=True) is allowed
    assert is_public(ipaddress.ip_address(address), allow_loopback=False) is False


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "2a00:1450::1"])
def test_public_addresses_pass_both_checks(address, attempts, monkeypatch):
    assert is_public(ipaddress.ip_address(address))
    resolve_to(monkeypatch, address)
    target_urls.check("https://hooks.example.com/lc")
    result = SafeHttpClient().post_json("https://hooks.example.com/lc", {})
    # Let through to connect, where the test stops it.
    assert [attempt[0] for attempt in attempts] == [address]
    assert result.error_class == safe_http.REFUSED
