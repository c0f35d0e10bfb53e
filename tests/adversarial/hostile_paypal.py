"""A hostile PayPal on 127.0.0.1: a proper token endpoint, and API answers written byte by byte.

Each test hands in ``answer(exchange)``, which writes whatever it likes on the raw socket
(a malformed status line, a flood of interim answers, a drip-fed head, a body shorter than
its Content-Length...); the connection is closed when it returns. The server counts the
bytes it wrote and notes when the client hung up on it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

TOKEN_PATH = "/v1/oauth2/token"
_TOKEN_DOCUMENT = {"access_token": "A21AAhostile", "token_type": "Bearer", "expires_in": 32400}


class ClientGone(Exception):
    """The client closed the connection while the server was still writing."""


@dataclass
class Exchange:
    """One API request the hostile server received, and the socket to answer it on."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = field(repr=False)  # holds the card: never in an assertion's message
    connection: socket.socket = field(repr=False)
    sent: int = 0

    def write(self, data: bytes) -> None:
        """Send ``data``; ClientGone once the client has hung up."""
        try:
            self.connection.sendall(data)
        except OSError:
            raise ClientGone from None
        self.sent += len(data)


@dataclass
class HostilePayPal:
    answer: Callable[[Exchange], None]
    # The n-th token answer (from 0); None: a valid token every time.
    token: Callable[[int], bytes] | None = None
    token_requests: int = 0
    exchanges: list[Exchange] = field(default_factory=list)
    hung_up: list[Exchange] = field(default_factory=list)  # the client left mid-answer
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def api_requests(self) -> list[Exchange]:
        return list(self.exchanges)


def _read_request(reader: socket.SocketIO) -> tuple[str, str, dict[str, str], bytes] | None:
    buffered = b""
    while b"\r\n\r\n" not in buffered:
        chunk = reader.read(65536)
        if not chunk:
            return None
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = reader.read(65536)
        if not chunk:
            return None
        rest += chunk
    return method, path, headers, rest[:length]


def _serve(server: HostilePayPal, connection: socket.socket) -> None:
    with connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw = socket.SocketIO(connection, "rb")
        while True:
            request = _read_request(raw)
            if request is None:
                return
            method, path, headers, body = request
            if path == TOKEN_PATH:
                with server.lock:
                    number = server.token_requests
                    server.token_requests += 1
                made = server.token(number) if server.token is not None else None
                connection.sendall(made or json_answer(200, _TOKEN_DOCUMENT, close=False))
                continue
            exchange = Exchange(method, path, headers, body, connection)
            with server.lock:
                server.exchanges.append(exchange)
            try:
                server.answer(exchange)
            except ClientGone:
                with server.lock:
                    server.hung_up.append(exchange)
            return


@contextmanager
def hostile_paypal(
    answer: Callable[[Exchange], None], token: Callable[[int], bytes] | None = None
) -> Iterator[HostilePayPal]:
    """Serve ``answer`` for every API request (and ``token`` for token requests) until the
    block ends."""
    server = HostilePayPal(answer, token)
    listener = socket.create_server(("127.0.0.1", 0))
    server.base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    threads: list[threading.Thread] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=_serve, args=(server, connection), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        listener.close()
        acceptor.join(5)
        for thread in threads:
            thread.join(10)


def answer_with(data: bytes) -> Callable[[Exchange], None]:
    """An answer that writes ``data`` and closes."""

    def write(exchange: Exchange) -> None:
        exchange.write(data)

    return write


def json_answer(status: int, document: object, *, close: bool = True) -> bytes:
    """A JSON answer; ``close`` says so in a Connection field (the server closes after every
    API answer: without it, a client could race the close and reuse the connection)."""
    body = json.dumps(document).encode()
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        + ("Connection: close\r\n" if close else "")
        + f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
