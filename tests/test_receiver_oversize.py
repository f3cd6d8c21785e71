"""Bodies over the 1 MB cap get 413, with a Content-Length or chunked, and nothing is stored.

Werkzeug stops reading a chunked body at the cap without telling the application that more was
coming, so a padded body used to be cut to 1 MB and accepted. These tests send real requests
over a socket, to the werkzeug server the other tests use and to gunicorn, and through Flask's
test client.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from consoleapp.extensions import db
from consoleapp.models import Delivery
from support import TEST_FERNET_KEY, add_webhook_set, delivery_body

CAP = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]


def padded(size: int) -> bytes:
    """A valid delivery padded with trailing spaces to ``size`` bytes: its first megabyte is a
    complete delivery too, so a body cut at the cap would be accepted."""
    body = json.dumps(delivery_body()).encode()
    return body + b" " * (size - len(body))


def framed(body: bytes, chunked: bool) -> bytes:
    if not chunked:
        return body
    step = 64 * 1024
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + step]), body[i : i + step])
        for i in range(0, len(body), step)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def send(port: int, token: str, body: bytes, chunked: bool) -> tuple[int, dict]:
    """POST over a socket, reading the answer while still sending: a server may answer 413 and
    stop reading before the body is all sent."""
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = (
        f"POST /hooks/{token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{length}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:

        def write() -> None:
            try:
                sock.sendall(head + framed(body, chunked))
            except OSError:
                pass  # the server answered and closed before taking it all

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        response = http.client.HTTPResponse(sock)
        response.begin()
        answer = json.loads(response.read())
        status = response.status
    writer.join(timeout=30)
    return status, answer


def stored(app) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count(Delivery.id))).scalar_one()


CASES = [
    pytest.param(CAP, False, 200, id="1MB-length"),
    pytest.param(CAP, True, 200, id="1MB-chunked"),
    pytest.param(CAP + 1, False, 413, id="1MB+1-length"),
    pytest.param(CAP + 1, True, 413, id="1MB+1-chunked"),
    pytest.param(2 * CAP, False, 413, id="2MB-length"),
    pytest.param(2 * CAP, True, 413, id="2MB-chunked"),
]


def check(status: int, answer: dict, expected: int, where: str = "") -> None:
    assert status == expected, (where, answer)
    if expected == 413:
        assert answer["error"]["status"] == 413
        assert "larger than 1 MB" in answer["error"]["message"]
    else:
        assert answer["status"] == "received"


@pytest.mark.parametrize(("size", "chunked", "expected"), CASES)
def test_over_a_socket_to_the_werkzeug_server(live_server_factory, size, chunked, expected):
    server = live_server_factory()
    token = add_webhook_set(server.app)[1]
    status, answer = send(server.server.server_port, token, padded(size), chunked)
    check(status, answer, expected)
    assert stored(server.app) == (1 if expected == 200 else 0)


@pytest.mark.parametrize(("size", "chunked", "expected"), CASES)
def test_through_the_flask_test_client(app, client, size, chunked, expected):
    token = add_webhook_set(app)[1]
    if chunked:
        # What a server that dechunks sets: no Content-Length, and the stream ends by itself.
        response = client.post(
            f"/hooks/{token}",
            input_stream=io.BytesIO(padded(size)),
            content_type="application/json",
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    else:
        response = client.post(
            f"/hooks/{token}", data=padded(size), content_type="application/json"
        )
    check(response.status_code, response.get_json(), expected)
    assert stored(app) == (1 if expected == 200 else 0)


# -- gunicorn ------------------------------------------------------------------------------

LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


@pytest.fixture
def gunicorn(app_factory, database_url, tmp_path):
    """The console under gunicorn (one sync worker) on this test's database."""
    app = app_factory()
    token = add_webhook_set(app)[1]
    environ = {
        **os.environ,
        "LIVECHAT_MODE": "sandbox",
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "FERNET_KEYS": TEST_FERNET_KEY,
        "DATABASE_URL": database_url,
        "SANDBOX_PROVISIONING": "off",
        # Newer gunicorns open a control socket under $HOME: keep it in this test's folder.
        "HOME": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1"]
        + ["--chdir", str(ROOT), "--worker-tmp-dir", str(tmp_path), "wsgi:app"],
        env=environ,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        while port is None:
            ready, _, _ = select.select([process.stderr], [], [], 60)
            line = process.stderr.readline() if ready else ""
            if not line:
                pytest.fail("gunicorn did not start")
            found = LISTENING.search(line)
            port = int(found.group(1)) if found else None
        # Wait for the worker, so the first request does not race its start.
        while "Booting worker" not in line:
            ready, _, _ = select.select([process.stderr], [], [], 60)
            line = process.stderr.readline() if ready else ""
            if not line:
                pytest.fail("gunicorn's worker did not start")
        yield app, token, port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def test_over_a_socket_to_gunicorn(gunicorn):
    """One gunicorn for every case: starting it is the slow part."""
    app, token, port = gunicorn
    accepted = 0
    for case in CASES:
        size, chunked, expected = case.values
        status, answer = send(port, token, padded(size), chunked)
        check(status, answer, expected, where=case.id)
        accepted += expected == 200
        assert stored(app) == accepted, case.id
