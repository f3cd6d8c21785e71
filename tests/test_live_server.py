"""The test server itself: a client leaving mid-response leaves no file open behind it."""

from __future__ import annotations

import gc
import socket
import struct
import threading
import time


def _drop_mid_request(url: str) -> None:
    """Ask for a file with a body still to come, then reset the connection, as a browser
    leaving the page does: the server's drain of the unread body meets the reset."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"GET /static/favicon.svg HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"x" * 50_000
        )
        time.sleep(0.02)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_response_the_client_dropped_is_closed(live_server_factory):
    live = live_server_factory(worker=False)
    serving = threading.active_count()
    for _ in range(20):
        _drop_mid_request(live.url)
    deadline = time.monotonic() + 10
    while threading.active_count() > serving and time.monotonic() < deadline:
        time.sleep(0.01)
    # An unclosed file warns when collected; the warnings filter makes that a failure.
    gc.collect()
