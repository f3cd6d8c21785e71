"""Which addresses an outgoing request may reach: one rule for the form check
(``target_urls``) and for the guarded client's check when it connects (``safe_http``)."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Never public, although Python's ``is_global`` says yes (or did before Python 3.11.10).
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(net)
    for net in (
        "100.64.0.0/10",  # carrier-grade NAT
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "2001:20::/28",  # ORCHIDv2
        "5f00::/16",  # segment routing
        "3fff::/20",  # documentation
        "fec0::/10",  # site-local, deprecated but still routed inside some networks
        # IPv6 forms that carry an IPv4 address: where they lead depends on that address and
        # on gateways the console cannot see, so none of them counts as public.
        "::/96",  # IPv4-compatible, ::127.0.0.1
        "::ffff:0:0/96",  # IPv4-mapped, ::ffff:127.0.0.1
        "::ffff:0:0:0/96",  # IPv4-translated, ::ffff:0:127.0.0.1
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
    )
)


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        # ::ffff:127.0.0.1 is how a dual-stack socket spells 127.0.0.1.
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_public(address: IPAddress, allow_loopback: bool = False) -> bool:
    """True for a globally routable address, and for loopback when ``allow_loopback``."""
    if allow_loopback and _is_loopback(address):
        return True
    if address.is_multicast or any(address in net for net in _NOT_PUBLIC):
        return False
    return address.is_global
