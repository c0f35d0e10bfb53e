"""The emulator itself: :class:`Emulator` starts, stops and inspects one PayPal double."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from cardline.sandbox import views
from cardline.sandbox.app import App
from cardline.sandbox.deliveries import Deliverer
from cardline.sandbox.faults import Fault, FaultQueue
from cardline.sandbox.lifecycles import Fire, Lifecycles
from cardline.sandbox.scheduler import Scheduler
from cardline.sandbox.server import Server
from cardline.sandbox.signing import KeyPair, Signer
from cardline.sandbox.state import StateFile
from cardline.sandbox.store import Store
from cardline.sandbox.webhooks import ALL, CERTS_PATH, Webhooks


class Emulator:
    """A PayPal REST sandbox double on loopback HTTP (Orders v2, Payments v2, OAuth,
    Webhooks v1).

    ``with Emulator() as paypal:`` starts it on a free port; point the client at
    ``paypal.base_url`` with ``paypal.client_id`` / ``paypal.client_secret``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token_ttl: int = 32400,
        latency: float = 0.0,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",  # noqa: S107 - the sandbox's well-known test secret
        state_path: Path | None = None,
    ) -> None:
        """``state_path``: a SQLite file keeping what PayPal would remember (orders,
        captures, refunds, request ids) across restarts; in memory only without one."""
        self.host = host
        self.port = port
        self.token_ttl = token_ttl
        self.latency = latency
        # Transaction Search lists a transaction only this many seconds after it happened
        # (PayPal documents up to 3 hours; none by default here).
        self.search_delay = 0.0
        self.client_id = client_id
        self.client_secret = client_secret
        state = StateFile(state_path) if state_path is not None else None
        self._store = Store(state)
        self._faults = FaultQueue()
        self._scheduler = Scheduler(self._store.clock)
        signer = _signer(state)
        deliverer = Deliverer(
            self._store.clock,
            self._scheduler,
            signer,
            lambda: f"{self._link_base()}{CERTS_PATH}/{self.webhooks.cert_id()}",
        )
        self.webhooks: Webhooks = Webhooks(state, self._store.new_id, signer, deliverer)
        self.lifecycles: Lifecycles = Lifecycles(
            self._store, self._scheduler, self.webhooks.publish, self._link_base
        )
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._address = (host, port)

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` once started."""
        if self._base_url is None:
            raise RuntimeError("the emulator is not started")
        return self._base_url

    def start(self) -> str:
        """Listen and serve in a daemon thread; returns the base URL."""
        if self._base_url is not None:
            return self._base_url
        server = Server((self.host, self.port))
        host, port = str(server.server_address[0]), int(server.server_address[1])
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
        self._address = (shown, port)
        self._base_url = f"http://{shown}:{port}"
        server.app = App(self, self._base_url)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"paypal-sandbox:{port}",
            daemon=True,
        )
        self._thread.start()
        self._scheduler.start(f"paypal-sandbox-scheduler:{port}")
        return self._base_url

    def stop(self) -> None:
        """Stop serving and hang up on open connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._scheduler.stop()
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()
        # A connection wakes the accept loop now instead of at its next poll.
        with contextlib.suppress(OSError):
            socket.create_connection(self._address, timeout=1).close()
        stopper.join()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        self._base_url = None
        self._store.close_state()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- fault injection -----------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` to the next ``fault.times`` matching requests."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    # -- inspection ----------------------------------------------------------------

    def captures_for(self, request_id: str) -> list[dict[str, Any]]:
        """Captures (declined ones included) made by requests with this PayPal-Request-Id."""
        with self._store.lock:
            return [
                views.capture(self._store, c, self._link_base())
                for c in self._store.captures.values()
                if c.request_id == request_id
            ]

    def all_captures(self) -> list[dict[str, Any]]:
        """Every capture, oldest first."""
        with self._store.lock:
            return [
                views.capture(self._store, c, self._link_base())
                for c in self._store.captures.values()
            ]

    def capture_count(self) -> int:
        """How many captures moved money (declined attempts are not counted)."""
        with self._store.lock:
            return sum(1 for c in self._store.captures.values() if c.moved_money)

    def request_log(self) -> list[dict[str, Any]]:
        """Requests served: method, path, request_id, status (None when dropped), and the
        PayPal-Request-Id/Prefer/PayPal-Mock-Response/Content-Type headers. Never the
        Authorization header, never a body."""
        return self._store.request_log()

    def expire_tokens(self) -> None:
        """Expire every access token issued so far: the next API call gets a 401."""
        self._store.expire_tokens()

    def expire_request_ids(self) -> None:
        """Forget every PayPal-Request-Id, as PayPal does after its window (6 hours for
        orders): a retry then makes a new request, refused only by a duplicate invoice id."""
        self._store.forget_request_ids()

    def advance_clock(self, *, days: float = 0.0, seconds: float = 0.0) -> None:
        """Let ``days`` and ``seconds`` pass at once: authorizations age (honour period,
        validity) and new records carry the later time. Access tokens keep real time."""
        self._store.clock.advance(days * 86400 + seconds)
        self._scheduler.wake()  # retries and lifecycle steps now due go now

    # -- webhooks ------------------------------------------------------------------

    def subscribe(
        self, url: str, event_types: tuple[str, ...] = (ALL,), *, moves: bool = False
    ) -> str:
        """Subscribe ``url`` to ``event_types`` (every event by default) and return its
        webhook id; the same URL keeps its id (what a listener calls at each start), and
        with ``moves`` so does the same host and path on another port."""
        return self.webhooks.subscribe(url, event_types, moves=moves).id

    def fire(self, event_type: str, **about: str) -> dict[str, Any]:
        """Make the change ``event_type`` reports happen and send its event: ``capture_id``,
        ``authorization_id`` or ``dispute_id`` name the resource, ``value`` an amount,
        ``reason`` / ``outcome`` a dispute's. Returns the event sent; raises FireRefused
        or ValueError."""
        return self.lifecycles.fire(Fire.from_json({"event_type": event_type, **about}))

    def events(self) -> list[dict[str, Any]]:
        """Every webhook event sent so far, oldest first (delivered or not)."""
        return self.lifecycles.events()

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt so far (see Deliverer.attempts)."""
        return self.webhooks.deliverer.attempts()

    def stats(self) -> dict[str, int]:
        """Counters: authorizations (reauthorizations included), captures (that moved
        money), orders, refunds, requests, token_requests."""
        with self._store.lock:
            return {
                "authorizations": len(self._store.authorizations),
                "captures": self.capture_count(),
                "orders": len(self._store.orders),
                "refunds": len(self._store.refunds),
                "requests": self._store.requests,
                "token_requests": self._store.token_requests,
            }

    def _link_base(self) -> str:
        return self._base_url or f"http://{self.host}:{self.port}"


def _signer(state: StateFile | None) -> Signer:
    """The webhook signer, its key kept in ``state`` when there is one."""
    if state is None:
        return Signer()

    def load() -> KeyPair | None:
        kept = state.load_signing_key()
        return None if kept is None else KeyPair(*kept)

    return Signer(load, lambda pair: state.save_signing_key(pair.key_pem, pair.cert_pem))


def serve_forever(host: str, port: int, webhooks: tuple[str, ...] = ()) -> None:
    """Run an emulator in the foreground until Ctrl-C (``cardline sandbox``), each URL of
    ``webhooks`` subscribed to every event."""
    emulator = Emulator(host=host, port=port)
    url = emulator.start()
    print(
        f"PayPal sandbox emulator on {url} (client id {emulator.client_id!r}); Ctrl-C stops it",
        flush=True,
    )
    for listener in webhooks:
        print(f"  webhook {emulator.subscribe(listener)}: every event to {listener}", flush=True)
    stopped = threading.Event()
    try:
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
