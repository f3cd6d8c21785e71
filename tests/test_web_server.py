"""The web server as the README serves it: gunicorn with gunicorn.conf.py, two processes.

Each process listens on the port itself (SO_REUSEPORT), so the kernel spreads connections
between them; with one shared socket, a burst of kept-alive connections could all be taken by
whichever process woke first while the other sat idle.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from served import served

from bench_support import console_environ

CONNECTIONS = 32


def _sockets(pid: int) -> set[int]:
    """The inodes of the sockets a process has open."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def _tcp(port: int) -> list[tuple[str, int]]:
    """(state, inode) of every IPv4 TCP socket whose local port is ``port``."""
    states = {"0A": "listen", "01": "established"}
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            rows.append((states.get(fields[3], fields[3]), int(fields[9])))
    return rows


def _request(connection: socket.socket) -> bytes:
    connection.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return connection.recv(64)


def test_each_web_process_listens_and_connections_are_spread_between_them(tmp_path):
    environ = console_environ(tmp_path, f"sqlite:///{tmp_path / 'console.db'}")
    with served(environ, tmp_path / "logs", web_workers=2, task_workers=0) as running:
        port = int(running.url.rsplit(":", 1)[1])
        workers = running.pids()[1:]
        assert len(workers) == 2
        listening = {inode for state, inode in _tcp(port) if state == "listen"}
        own = [listening & _sockets(pid) for pid in workers]
        assert len(listening) == 2 and own[0] and own[1] and not own[0] & own[1]

        connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
        try:
            for connection in connections:
                assert _request(connection).startswith(b"HTTP/1.1 ")
            served_here = [
                {inode for state, inode in _tcp(port) if state == "established"} & _sockets(pid)
                for pid in workers
            ]
        finally:
            for connection in connections:
                connection.close()
    # Spread by a hash of each connection's addresses: both get a share (all 32 on one
    # process would happen about once in two thousand million runs).
    assert sum(len(held) for held in served_here) == CONNECTIONS
    assert all(held for held in served_here), [len(held) for held in served_here]
