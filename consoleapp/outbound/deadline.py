"""A total deadline for an outgoing request: connect, headers and body together.

The timeouts of ``requests`` bound each wait on the socket, not the request: a server that
sends a byte every few seconds holds a request as long as it likes. A ``Deadline`` starts a
timer; when it fires it shuts down every socket the request opened or reused, which wakes the
read blocked in the caller's thread, and the request ends with ``DeadlineExceeded`` (a
``requests.Timeout``). The request itself never leaves the caller's thread.

A session takes part through ``DeadlineAdapter`` (``protect`` mounts it): its connections hand
their sockets to the deadline active in the calling context, and a request sent with no
deadline active gets one of the adapter's length, covering its body unless it is streamed.
Callers that stream open a ``Deadline`` around the request and the reading.
"""

from __future__ import annotations

import contextvars
import socket
import threading
from types import TracebackType
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_active: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "consoleapp_outbound_deadline", default=None
)


class DeadlineExceeded(requests.exceptions.Timeout):
    """The request was not finished, body included, when its deadline passed."""


class Deadline:
    """Ends the requests sent inside ``with Deadline(seconds):`` when ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._handles: list[socket.socket] = []
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._token: contextvars.Token[Deadline | None] | None = None

    def __enter__(self) -> Deadline:
        self._token = _active.set(self)
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        if self._token is not None:
            _active.reset(self._token)
        with self._lock:
            self._done = True
            handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()
        if not self.expired or isinstance(exc, DeadlineExceeded):
            return
        if exc is None or isinstance(exc, Exception):
            # Whatever the cut-off socket raised, or a body that simply ended early: too late.
            raise DeadlineExceeded(f"no complete answer within {self.seconds:g} s") from exc

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes, or now if it has passed."""
        # A duplicate descriptor of the same socket: it stays open when TLS takes the socket
        # over or urllib3 closes it, so a late shutdown can never hit a reused descriptor.
        handle = socket.fromfd(sock.fileno(), sock.family, sock.type, sock.proto)
        with self._lock:
            if not self._done:
                self._handles.append(handle)
                if self.expired:
                    _shut(handle)
                return
        handle.close()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for handle in self._handles:
                _shut(handle)


def _shut(handle: socket.socket) -> None:
    try:
        handle.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the other side closed it already


class _WatchedHTTPConnection(HTTPConnection):
    """A connection that hands its socket to the active deadline, new or kept alive."""

    _watched_by: Deadline | None = None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._watched_by = _active.get()
        if self._watched_by is not None:
            self._watched_by.watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = _active.get()
        if deadline is not None and self.sock is not None and self._watched_by is not deadline:
            self._watched_by = deadline
            deadline.watch(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """Sends through watched connections; ends each request after ``deadline`` seconds."""

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS brings connection classes of its own
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        if _active.get() is not None:  # the caller's deadline covers this request
            return super().send(request, stream=stream, **kwargs)
        with Deadline(self.deadline):
            response = super().send(request, stream=stream, **kwargs)
            if not stream:
                response.content  # noqa: B018 - the body is read within the deadline too
        return response


S = TypeVar("S", bound=requests.Session)


def protect(session: S, deadline: float, pool_size: int = 10) -> S:
    """Give every request ``session`` sends a total deadline of ``deadline`` seconds, and keep
    up to ``pool_size`` connections per host for requests made at once."""
    for prefix in ("https://", "http://"):
        session.mount(prefix, DeadlineAdapter(deadline=deadline, pool_maxsize=pool_size))
    return session
