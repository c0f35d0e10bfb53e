"""waitress set up for a public host: `cardline serve`, and EC2 behind the ALB.

What each setting guards against (waitress's default in brackets):

- ``max_request_body_size`` [1 GiB]: waitress buffers a body before the application
  runs, so our own limit (``MAX_BODY_BYTES``, checked against Content-Length before
  ``wsgi.input`` is read) came after 200 MiB had been read. waitress now answers 413 as
  soon as a Content-Length says too much, and stops a chunked body once it has received
  that much (framing included, hence the small allowance).
- ``max_request_header_size`` [256 KiB]: 16 KiB, far above any request of ours.
- ``connection_limit`` [100] with ``asyncore_use_poll`` [select, at most 1024 sockets]:
  an idle connection costs a socket, not a thread, so idle or half-sent requests by the
  hundred no longer stop waitress accepting /health; ``channel_timeout`` [120 s] closes
  one that stays silent for 30 s, checked every ``cleanup_interval`` [30 s] of 5 s. A
  host facing the internet still belongs behind the ALB (or a proxy), which holds slow
  clients itself.
- ``threads`` [4]: 16 workers, one per agent paying at once (a payment waits on PayPal
  for a quarter of a second or more: 8 workers cap one process near 32 payments/s); the
  throttle lets at most 4 of them wait out failed-key delays.
- ``expose_tracebacks`` off, ``ident`` without a version.

waitress's own error answers (a malformed request line or header, 413, 431, 501, and the
500 it writes if an application raises) were text that quotes the offending line and
carried none of our security headers. The channel here renders them through
``problem_response``: RFC 9457 problem+json with a fixed detail per status (nothing the
client sent), plus ``SECURITY_HEADERS``. waitress's parser itself is not patched.
"""

from __future__ import annotations

import signal
import socket
import time
from http import HTTPStatus
from typing import Any, TypeAlias

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from cardline.cde.errors import INTERNAL_ERROR, CardlineError, MalformedRequest, PayloadTooLarge
from cardline.cde.http.app import App
from cardline.cde.http.messages import MAX_BODY_BYTES, SECURITY_HEADERS, problem_response
from cardline.http.wsgi import wsgi_app

Server: TypeAlias = Any  # waitress is untyped: a BaseWSGIServer, or a MultiSocketServer

CHUNK_FRAMING = 1024  # chunk-size lines and CRLFs counted in a chunked body's bytes
# After an error answer the rest of the request is read and dropped, up to this much or
# this long, before the socket is closed (see ProblemChannel).
LINGER_BYTES = 1024 * 1024
LINGER_SECONDS = 2.0

SETTINGS: dict[str, Any] = {
    "threads": 16,
    "connection_limit": 1000,
    "asyncore_use_poll": True,
    "channel_timeout": 30,
    "cleanup_interval": 5,
    "max_request_header_size": 16 * 1024,
    # waitress refuses a body of max_request_body_size bytes or more.
    "max_request_body_size": MAX_BODY_BYTES + 1 + CHUNK_FRAMING,
    "expose_tracebacks": False,
    "ident": "cardline",
}


class HeadersTooLarge(CardlineError):
    status = 431
    code = "headers_too_large"
    title = "Request headers too large"


class NotImplementedByServer(CardlineError):
    status = 501
    code = "not_implemented"
    title = "Not implemented"


def _problem(status: int) -> CardlineError:
    """The answer for a waitress error status: fixed words, never the request's."""
    if status == 413:
        return PayloadTooLarge.over(MAX_BODY_BYTES)
    if status == 431:
        max_header = SETTINGS["max_request_header_size"]
        return HeadersTooLarge(f"The request line and headers may be at most {max_header} bytes")
    if status == 501:
        return NotImplementedByServer("That transfer encoding is not supported")
    if 400 <= status < 500:
        return MalformedRequest("The request is not well-formed HTTP/1.1")
    return CardlineError(INTERNAL_ERROR)


class ProblemErrorTask(ErrorTask):  # type: ignore[misc]  # waitress is untyped
    """waitress's error answer as problem+json with the security headers."""

    def execute(self) -> None:
        error = _problem(int(getattr(self.request.error, "code", 500)))
        response = problem_response(error)
        self.status = f"{error.status} {HTTPStatus(error.status).phrase}"
        self.response_headers.extend({**SECURITY_HEADERS, **response.headers}.items())
        self.set_close_on_finish()
        self.channel.linger = True
        self.content_length = len(response.body)
        self.write(response.body)


class ProblemChannel(HTTPChannel):  # type: ignore[misc]  # waitress is untyped
    """waitress's channel with our error answers, closed lingering after one of them.

    waitress answers 413 before reading the body, then closes: a socket closed with
    unread input sends a reset, and the client's TCP stack may drop the answer it has not
    yet read, so the client sees "connection reset" instead of 413. After an error answer
    this channel shuts down its sending side (the answer then ends with a FIN), reads
    and drops what the client still sends for at most LINGER_BYTES or LINGER_SECONDS,
    and then closes (as web servers' "lingering close" does).
    """

    error_task_class = ProblemErrorTask
    linger = False  # set when an error answer is written
    _drain_until = 0.0  # while draining: the monotonic time to stop at
    _drained = 0

    def handle_close(self) -> None:
        if self.linger and not self._drain_until and self.connected and self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self._drain_until = time.monotonic() + LINGER_SECONDS
                self.will_close = self.close_when_flushed = False
                return
        super().handle_close()

    def readable(self) -> bool:
        return True if self._drain_until else bool(super().readable())

    def writable(self) -> bool:
        if self._drain_until:  # "writable" once it is time to close
            return self.will_close or time.monotonic() >= self._drain_until
        return bool(super().writable())

    def handle_write(self) -> None:
        if self._drain_until:
            super().handle_close()
        else:
            super().handle_write()

    def handle_read(self) -> None:
        if not self._drain_until:
            super().handle_read()
            return
        try:
            data = self.recv(self.adj.recv_bytes)  # b"" at the end (wasyncore closes then)
        except OSError:
            data = b""
        self._drained += len(data)
        if (not data or self._drained >= LINGER_BYTES) and self.socket is not None:
            super().handle_close()


def _listeners(server: Server) -> list[Any]:
    """The listening servers: one, or one per address a host name resolved to."""
    if isinstance(server, BaseWSGIServer):
        return [server]
    return [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]


def make_server(app: App, host: str, port: int, **overrides: Any) -> Server:
    """A waitress server for ``app`` with SETTINGS (``overrides`` win) and our error pages."""
    server: Server = create_server(wsgi_app(app), host=host, port=port, **{**SETTINGS, **overrides})
    for listener in _listeners(server):
        listener.channel_class = ProblemChannel
    return server


def port_of(server: Server) -> int:
    """The port the server listens on (the one chosen when asked for port 0)."""
    return int(_listeners(server)[0].effective_port)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_until_stopped(server: Server, app: App) -> None:
    """Run until SIGINT or SIGTERM (systemd's stop), then finish the requests under way
    and write the audit events the App holds back."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()  # waitress closes itself and its workers on KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        app.flush()
