"""HTTP/1.1 to PayPal on http.client: connections bound by a deadline, and a small pool.

http.client writes each request and parses each answer (its status line, header and
chunk rules and limits, patched upstream); this module owns only the policy around it:

- a deadline, not a timeout: every socket operation of an exchange (connect, TLS
  handshake, send, each read of the answer) may wait only for the time left before the
  attempt's deadline, so a drip-fed answer ends when the deadline does;
- a byte budget per answer (``MAX_ANSWER``), which bounds what http.client's own loops
  would read without end (interim 1xx answers, trailer fields, an unsized body);
- :class:`Pool`: idle kept-alive connections, one per concurrent caller up to ``size``;
  its lock is held only to take or return a connection, never across an exchange.

Standard library only: the charge path imports it.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import threading

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

__all__ = ["MAX_BODY", "Connection", "DeadlinePassed", "Pool", "TLSConnection"]

MAX_BODY = 1 << 20  # PayPal's answers are a few kB; refuse to buffer anything huge
# Everything one answer may take off the wire: the body, its head (PayPal's is ~1 kB),
# interim answers, chunk framing and trailers.
MAX_ANSWER = MAX_BODY + (256 << 10)


class DeadlinePassed(TimeoutError):
    """The attempt's deadline passed before the exchange was over."""


class AnswerTooLarge(http.client.HTTPException):
    """The answer ran past MAX_ANSWER bytes (a flood, or a body nobody should buffer)."""


class _BoundedSocketReader(io.RawIOBase):
    """The socket as an answer is read from it: each read waits at most until the deadline,
    and all reads together take at most MAX_ANSWER bytes."""

    def __init__(self, sock: socket.socket, deadline: float, clock: Callable[[], float]) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline
        self._clock = clock
        self._budget = MAX_ANSWER

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._budget <= 0:
            raise AnswerTooLarge(f"the answer ran past {MAX_ANSWER} bytes")
        self._sock.settimeout(_time_left(self._deadline, self._clock))
        with memoryview(buffer) as view:
            received = self._sock.recv_into(view[: self._budget])
        self._budget -= received
        return received


def _time_left(deadline: float, clock: Callable[[], float]) -> float:
    left = deadline - clock()
    if left <= 0:
        raise DeadlinePassed("the deadline passed")
    return left


class _ReaderHolder:
    """What http.client.HTTPResponse is built from: it asks only for ``makefile("rb")``."""

    __slots__ = ("_reader",)

    def __init__(self, reader: io.BufferedReader) -> None:
        self._reader = reader

    def makefile(self, mode: str) -> io.BufferedReader:
        return self._reader


class _DeadlineMixin:
    """What Connection and TLSConnection add to http.client's: the deadline of the current
    exchange (set by the caller before each one) and the bounded answer reader."""

    deadline: float = float("inf")
    clock: Callable[[], float]
    sock: socket.socket | None

    def time_left(self) -> float:
        """Seconds until the deadline; DeadlinePassed when none are left."""
        return _time_left(self.deadline, self.clock)

    def _open_socket(
        self,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        # http.client's connect() calls this for the TCP connection; the TLS handshake that
        # follows (HTTPS) runs under the socket timeout set here: the time then left.
        sock = socket.create_connection(address, self.time_left(), source_address)
        left = self.deadline - self.clock()
        sock.settimeout(max(left, 1e-3))  # at the deadline: the handshake's first wait ends it
        return sock

    def begin_exchange(self, deadline: float) -> None:
        """Bind the next request and its answer to ``deadline``."""
        self.deadline = deadline
        if self.sock is not None:
            self.sock.settimeout(self.time_left())  # for sending the request

    def response_class(
        self, sock: socket.socket, debuglevel: int = 0, method: str | None = None
    ) -> http.client.HTTPResponse:
        # http.client calls ``self.response_class(self.sock, method=...)`` for each answer.
        reader = io.BufferedReader(_BoundedSocketReader(sock, self.deadline, self.clock))
        return http.client.HTTPResponse(
            _ReaderHolder(reader),  # type: ignore[arg-type]
            debuglevel,
            method=method,
        )


# response_class is a method here, not the class typeshed expects: http.client only calls it.
class Connection(_DeadlineMixin, http.client.HTTPConnection):  # type: ignore[misc]
    """A plain HTTP connection (the loopback emulator only) bound by a deadline."""

    def __init__(self, host: str, port: int, clock: Callable[[], float]) -> None:
        super().__init__(host, port)
        self.clock = clock
        self._create_connection = self._open_socket


class TLSConnection(_DeadlineMixin, http.client.HTTPSConnection):  # type: ignore[misc]
    """An HTTPS connection, verified by ``context``, bound by a deadline."""

    def __init__(
        self, host: str, port: int, clock: Callable[[], float], context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, context=context)
        self.clock = clock
        self._create_connection = self._open_socket


def peer_closed(sock: socket.socket) -> bool:
    """True when an idle kept-alive socket is readable: the server closed it (or sent junk)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class Pool:
    """Idle kept-alive connections: at most ``size``, the most recently used taken first.

    ``take`` gives an idle connection that is still open, or a new unconnected one from
    ``make``; ``give_back`` keeps a connection that is still open for the next caller, or
    closes it when ``size`` are already idle. The lock guards the list only.
    """

    def __init__(self, make: Callable[[], Connection | TLSConnection], size: int) -> None:
        self._make = make
        self._size = size
        self._idle: list[Connection | TLSConnection] = []
        self._lock = threading.Lock()

    def take(self) -> Connection | TLSConnection:
        """A connection for one exchange, used by this caller alone until given back."""
        while True:
            with self._lock:
                if not self._idle:
                    break
                connection = self._idle.pop()
            if connection.sock is not None and not peer_closed(connection.sock):
                return connection
            connection.close()  # the server dropped the idle connection
        return self._make()

    def give_back(self, connection: Connection | TLSConnection) -> None:
        """Return a connection after its exchange; one that is closed is dropped."""
        if connection.sock is not None:
            with self._lock:
                if len(self._idle) < self._size:
                    self._idle.append(connection)
                    return
        connection.close()

    def close(self) -> None:
        """Close every idle connection; the pool stays usable (the next caller opens one)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
