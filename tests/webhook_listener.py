"""A webhook listener for tests of the emulator's deliveries: a loopback HTTP server that
keeps every delivery (headers and raw body) and answers the statuses it is told to."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WAIT = 15.0  # seconds a test waits for a delivery before it fails (a hang guard, not a bound)


@dataclass(frozen=True)
class Received:
    """One delivery as it arrived."""

    path: str
    headers: dict[str, str]  # names as sent
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    def header(self, name: str) -> str:
        return next(v for k, v in self.headers.items() if k.lower() == name.lower())

    def verify_fields(self, webhook_id: str, event: Any = None) -> dict[str, Any]:
        """The verify-webhook-signature body for this delivery (``event`` instead of the
        one received, when given)."""
        return {
            "auth_algo": self.header("PAYPAL-AUTH-ALGO"),
            "cert_url": self.header("PAYPAL-CERT-URL"),
            "transmission_id": self.header("PAYPAL-TRANSMISSION-ID"),
            "transmission_sig": self.header("PAYPAL-TRANSMISSION-SIG"),
            "transmission_time": self.header("PAYPAL-TRANSMISSION-TIME"),
            "webhook_id": webhook_id,
            "webhook_event": self.event if event is None else event,
        }


class Listener:
    """Answers ``statuses`` in turn (then 200); ``hold`` makes it wait before answering."""

    def __init__(self, statuses: tuple[int, ...] = (), hold: threading.Event | None = None):
        self.received: queue.Queue[Received] = queue.Queue()
        self.arrived = threading.Event()  # set when a delivery has arrived (before any hold)
        self._statuses = list(statuses)
        self._skipped: list[Received] = []
        self._hold = hold
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                listener.received.put(Received(self.path, dict(self.headers.items()), body))
                listener.arrived.set()
                if listener._hold is not None:
                    listener._hold.wait(WAIT)
                with listener._lock:
                    status = listener._statuses.pop(0) if listener._statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def next(self) -> Received:
        """The next delivery (fails the test if none comes)."""
        return self.received.get(timeout=WAIT)

    def next_of(self, event_type: str) -> Received:
        """The next delivery of ``event_type``; others are kept for a later call (attempts
        run in parallel, so deliveries may arrive in any order)."""
        for index, got in enumerate(self._skipped):
            if got.event["event_type"] == event_type:
                return self._skipped.pop(index)
        while True:
            got = self.next()
            if got.event["event_type"] == event_type:
                return got
            self._skipped.append(got)


@contextmanager
def listening(
    statuses: tuple[int, ...] = (), hold: threading.Event | None = None
) -> Iterator[Listener]:
    listener = Listener(statuses, hold)
    thread = threading.Thread(target=listener.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        if hold is not None:
            hold.set()
        listener.server.shutdown()
        listener.server.server_close()
