"""The emulator's HTTP face: a threading HTTP/1.1 server that hands every request, whatever
its method, to :class:`~cardline.sandbox.app.App`, and answers what it cannot parse with
PayPal's JSON error instead of the standard library's HTML page."""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from cardline.sandbox.app import App, Outcome, error_outcome
from cardline.sandbox.errors import ApiError

MAX_BODY = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connection
    # Headers and body go out in two writes; without TCP_NODELAY the body would wait for
    # the client's delayed ACK (about 40 ms a request).
    disable_nagle_algorithm = True
    server_version = "cardline-paypal-sandbox"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: the request log is kept in memory instead."""

    def __getattr__(self, name: str) -> Callable[[], None]:
        # The base class looks up do_<METHOD> and answers an HTML 501 when it is missing:
        # every method, TRACE or BREW alike, goes to the routing table instead.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the base class cannot parse (request line, version, headers) gets PayPal's
        JSON error, and the connection closes."""
        if self.request_version == "HTTP/0.9":  # no status line would be written
            self.request_version = "HTTP/1.1"
        self.close_connection = True
        outcome = error_outcome(ApiError(code))
        outcome.headers["Connection"] = "close"
        self._write(outcome)

    def _serve(self) -> None:
        app = cast(Server, self.server).app
        try:
            body = self._read_body()
        except ApiError as error:
            self.close_connection = True
            self._write(error_outcome(error))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        outcome = app.respond(self.command, self.path, headers, body)
        if outcome.drop:
            self.close_connection = True
            if outcome.reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            return
        self._write(outcome)

    def _read_body(self) -> bytes:
        """The request body; ApiError 400 for bad framing, 413 beyond MAX_BODY."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = _size(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ApiError(413)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = _size(self.headers.get("Content-Length") or "0", 10)
        if length > MAX_BODY:
            raise ApiError(413)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, outcome: Outcome) -> None:
        self.send_response(outcome.status)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        if outcome.status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        if outcome.body and self.command != "HEAD":
            self.wfile.write(outcome.body)


def _size(text: str | bytes, base: int) -> int:
    try:
        size = int(text, base)
    except ValueError:
        raise ApiError(400) from None
    if size < 0:
        raise ApiError(400)
    return size


class Server(ThreadingHTTPServer):
    """The emulator's listening socket; set ``app`` before serving."""

    daemon_threads = True
    app: App

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is normal; anything else gets one line, never a traceback
        (its frames could hold request data)."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            sys.stderr.write(f"paypal sandbox: {type(error).__name__} while serving a request\n")

    def close_connections(self) -> None:
        """Hang up on every kept-alive client, so a stopped emulator really stops."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
