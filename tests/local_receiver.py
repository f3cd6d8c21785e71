"""A webhook receiver on 127.0.0.1 for tests: records what arrives, answers as scripted."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] = ("", 0)  # the client's address and port: one per connection

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    """One scripted answer: a status, or a slow answer, a redirect, or a huge body.

    ``drip`` sends the body one byte every ``drip`` seconds after the headers; with
    ``drip_headers`` the status line and headers come a byte at a time too.
    """

    status: int = 200
    delay: float = 0.0
    location: str | None = None
    body: bytes = b"ok"
    chunked: bool = False
    drip: float = 0.0
    drip_headers: bool = False


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)
    default: Answer = field(default_factory=Answer)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Set when a client closed the connection before a dripping answer was complete.
    hung_up: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def answer(self, *answers: Answer) -> None:
        with self.lock:
            self.script.extend(answers)

    def next_answer(self) -> Answer:
        with self.lock:
            return self.script.pop(0) if self.script else self.default


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, fmt: str, *args: Any) -> None:
        return

    def _serve(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with receiver.lock:
            receiver.received.append(
                Received(
                    self.command, self.path, dict(self.headers.items()), body, self.client_address
                )
            )
        answer = receiver.next_answer()
        if answer.delay and receiver.release.wait(answer.delay):
            return
        if answer.drip:
            self._drip(answer)
            return
        try:
            self.send_response(answer.status)
            if answer.location:
                self.send_header("Location", answer.location)
            if answer.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                piece = b"x" * 65536
                sent = 0
                while sent < len(answer.body) and not receiver.release.is_set():
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    sent += len(piece)
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:
            # The client gave up (timeout, size cap); that is what the test wanted.
            return

    def _drip(self, answer: Answer) -> None:
        receiver = self.server.receiver
        head = (
            f"HTTP/1.1 {answer.status} OK\r\nContent-Length: {len(answer.body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        if answer.drip_headers:
            pieces = [bytes([byte]) for byte in head + answer.body]
        else:
            pieces = [head, *(bytes([byte]) for byte in answer.body)]
        try:
            for number, piece in enumerate(pieces):
                if number and receiver.release.wait(answer.drip):
                    return
                self.wfile.write(piece)
        except OSError:
            receiver.hung_up.set()
            return
        self.close_connection = True

    do_POST = _serve
    do_GET = _serve


class _KeepAliveHandler(_Handler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle kept-alive connection must not hold the server's shutdown for ever


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


@contextmanager
def running_receiver(keep_alive: bool = False) -> Iterator[Receiver]:
    """A receiver on a free port; with ``keep_alive`` it keeps connections open between
    answers (HTTP/1.1), as most servers do."""
    server = _Server(("127.0.0.1", 0), _KeepAliveHandler if keep_alive else _Handler)
    receiver = Receiver(server=server)
    server.receiver = receiver
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
