"""Rules for a webhook URL a person types (CHECKS.md S1, S3, S4), checked before anything is
saved or sent.

The guarded client (``outbound.safe_http``) checks the address again when it connects, with the
same rule (``outbound.addresses.is_public``), and pins the connection to it; this check exists
so a bad address is refused with a clear message at the form, with no connection at all.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from .addresses import IPAddress, is_public

log = logging.getLogger("consoleapp.target_urls")

MAX_LENGTH = 500
NOT_PUBLIC = "This address is not publicly reachable. LiveChat can only call public addresses."


class TargetUrlError(ValueError):
    """The URL breaks a rule; the message names the rule in plain words."""


def check_syntax(url: str) -> str:
    """Scheme, length, credentials, spaces: everything that needs no name lookup."""
    if len(url) > MAX_LENGTH:
        raise TargetUrlError(f"Use at most {MAX_LENGTH} characters; this address has {len(url)}.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise TargetUrlError("Remove the spaces and line breaks from the address.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        raise TargetUrlError("Use an address that starts with https:// (or http://).")
    if "@" in parts.netloc:
        raise TargetUrlError(
            "Remove the user name and password from the address; LiveChat sends the secret key "
            "instead."
        )
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise TargetUrlError("The port number in the address is not valid.") from exc
    if not host:
        raise TargetUrlError("Add the server's name after https://, like https://example.com/.")
    if parts.fragment:
        raise TargetUrlError("Remove the #part from the end of the address.")
    del port
    return host


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal means, in any notation a resolver accepts
    (``2130706433``, ``0x7f000001``, ``017700000001``, ``127.1``, ``[::ffff:127.0.0.1]``)."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    if all(part and part.strip("0123456789abcdefxABCDEFX") == "" for part in host.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check(url: str, allow_loopback: bool = False) -> None:
    """Raise ``TargetUrlError`` unless ``url`` is a well-formed, publicly reachable address."""
    host = check_syntax(url)
    address = literal_address(host)
    if address is not None:
        addresses = [address]
    else:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError, ValueError) as exc:
            raise TargetUrlError(
                f"No server named “{host}” could be found. Check the spelling."
            ) from exc
    if not addresses or not all(is_public(a, allow_loopback) for a in addresses):
        log.warning("refused a webhook URL with a non-public address: %s", host)
        raise TargetUrlError(NOT_PUBLIC)
