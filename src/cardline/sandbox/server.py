"""The emulator's HTTP face: routing, OAuth, faults, inspection API, and :class:`Emulator`."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from cardline.sandbox import reporting, views
from cardline.sandbox.api import Api, Call, Reply
from cardline.sandbox.errors import ApiError, Issue, error_body, mock_status, new_debug_id
from cardline.sandbox.faults import Fault, FaultQueue
from cardline.sandbox.state import StateFile
from cardline.sandbox.store import Store, now_iso

MAX_BODY = 1 << 20
TRANSACTIONS_PATH = "/v1/reporting/transactions"
MAX_REQUEST_ID = 108  # the spec's maxLength for PayPal-Request-Id
_LOGGED_HEADERS = ("PayPal-Request-Id", "Prefer", "PayPal-Mock-Response", "Content-Type")
_ID = r"([^/]+)"

Operation = Callable[[Api, str, Call], Reply]

# (method, path pattern, operation name, handler). Names match the spec's schema groups.
_ROUTES: tuple[tuple[str, re.Pattern[str], str, Operation], ...] = (
    ("POST", re.compile(r"^/v2/checkout/orders$"), "orders.create",
     lambda api, _id, call: api.create_order(call)),
    ("GET", re.compile(rf"^/v2/checkout/orders/{_ID}$"), "orders.get",
     lambda api, ident, _call: api.get_order(ident)),
    ("POST", re.compile(rf"^/v2/checkout/orders/{_ID}/capture$"), "orders.capture",
     Api.capture_order),
    ("POST", re.compile(rf"^/v2/checkout/orders/{_ID}/authorize$"), "orders.authorize",
     Api.authorize_order),
    ("GET", re.compile(rf"^/v2/payments/authorizations/{_ID}$"), "authorizations.get",
     lambda api, ident, _call: api.get_authorization(ident)),
    ("POST", re.compile(rf"^/v2/payments/authorizations/{_ID}/capture$"),
     "authorizations.capture", Api.capture_authorization),
    ("POST", re.compile(rf"^/v2/payments/authorizations/{_ID}/void$"), "authorizations.void",
     Api.void_authorization),
    ("GET", re.compile(rf"^/v2/payments/captures/{_ID}$"), "captures.get",
     lambda api, ident, _call: api.get_capture(ident)),
    ("POST", re.compile(rf"^/v2/payments/captures/{_ID}/refund$"), "captures.refund",
     Api.refund_capture),
    ("GET", re.compile(rf"^/v2/payments/refunds/{_ID}$"), "refunds.get",
     lambda api, ident, _call: api.get_refund(ident)),
)  # fmt: skip


@dataclass
class _Outcome:
    """What the handler writes back (or that it must hang up instead)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    reset: bool = False  # with drop: hang up with a TCP RST instead of a FIN


def _json(status: int, body: object, headers: Mapping[str, str] | None = None) -> _Outcome:
    payload = b"" if body is None else json.dumps(body).encode()
    out_headers = {"Content-Type": "application/json"} if body is not None else {}
    out_headers.update(headers or {})
    return _Outcome(status, payload, out_headers)


class _App:
    """Turns one parsed HTTP request into an outcome; shared by all handler threads."""

    def __init__(self, emulator: Emulator, base: str) -> None:
        self.emulator = emulator
        self.store = emulator._store
        self.faults = emulator._faults
        self.api = Api(self.store, base)

    def respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> _Outcome:
        """Answer one request, applying latency and any pending fault."""
        path, _, query = target.partition("?")
        if path.startswith("/_emulator/"):
            return self._control(method, path, query, body)
        with self.store.lock:
            self.store.requests += 1
        if self.emulator.latency:
            time.sleep(self.emulator.latency)
        plan = self.faults.take(method, path)
        if plan.delay:
            time.sleep(plan.delay)
        fault = plan.fault
        if fault is not None and fault.kind == "drop_before":
            outcome = _Outcome(drop=True)
        elif fault is not None and fault.kind == "reset":
            outcome = _Outcome(drop=True, reset=True)
        elif path == TRANSACTIONS_PATH:
            outcome = self._transactions(method, headers, query)
        elif fault is not None and fault.kind == "status":
            outcome = self._fault_status(fault, self._operation(method, path))
        else:
            outcome = self._dispatch(method, path, headers, body)
            if fault is not None and fault.kind == "drop_after":
                outcome = _Outcome(drop=True)
            elif fault is not None and fault.kind == "malformed_json":
                outcome = _truncated(outcome)
        self.store.log(
            {
                "method": method,
                "path": path,
                "request_id": headers.get("paypal-request-id"),
                "status": None if outcome.drop else outcome.status,
                "headers": {
                    name: headers[name.lower()]
                    for name in _LOGGED_HEADERS
                    if name.lower() in headers
                },
            }
        )
        return outcome

    # -- PayPal API ----------------------------------------------------------------

    def _dispatch(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> _Outcome:
        if path == "/v1/oauth2/token":
            return self._token(method, headers, body)
        operation = self._operation(method, path)
        try:
            if not path.startswith("/v2/"):
                raise ApiError(404)
            self._authenticate(headers)
            route = self._route(method, path)
            if route is None:
                raise ApiError(405 if operation else 404)
            handler, ident = route
            mock = headers.get("paypal-mock-response")
            if mock is not None:
                raise _mock_error(operation, mock)
            request_id = headers.get("paypal-request-id") or None
            if request_id is not None and len(request_id) > MAX_REQUEST_ID:
                raise ApiError(400, Issue("INVALID_STRING_LENGTH", "PayPal-Request-Id", None))
            call = Call(
                body=_parse_body(operation, headers, body),
                request_id=request_id,
                representation="return=representation" in headers.get("prefer", "").lower(),
            )
            reply = handler(self.api, ident, call)
            if method == "POST":  # kept before the answer leaves: a crash loses no answer
                made = reply.body.get("id") if reply.body else None
                self.store.persist([ident, *([made] if isinstance(made, str) else [])],
                                   operation, request_id)  # fmt: skip
        except ApiError as error:
            return self._error(error, operation)
        except Exception:  # noqa: BLE001 - a bug must answer 500 rather than kill the thread
            return self._error(ApiError(500), operation)
        headers_out = {"Paypal-Debug-Id": new_debug_id(), **reply.headers}
        return _json(reply.status, reply.body, headers_out)

    def _transactions(self, method: str, headers: Mapping[str, str], query: str) -> _Outcome:
        """GET /v1/reporting/transactions (Transaction Search)."""
        try:
            if method != "GET":
                raise ApiError(405)
            self._authenticate(headers)
            with self.store.lock:
                body = reporting.search(
                    self.store, urllib.parse.parse_qs(query), self.emulator.search_delay
                )
        except ApiError as error:
            return self._error(error, "")
        return _json(200, body, {"Paypal-Debug-Id": new_debug_id()})

    def _route(self, method: str, path: str) -> tuple[Operation, str] | None:
        for route_method, pattern, _name, handler in _ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                ident = match.group(1) if pattern.groups else ""
                return handler, urllib.parse.unquote(ident)
        return None

    @staticmethod
    def _operation(method: str, path: str) -> str:
        """The operation name of a path ("" when unknown), preferring the method's match."""
        names = [(m, name) for m, pattern, name, _h in _ROUTES if pattern.match(path)]
        for route_method, name in names:
            if route_method == method:
                return name
        return names[0][1] if names else ""

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.store.token_valid(token.strip()):
            raise ApiError(401)

    def _error(self, error: ApiError, operation: str) -> _Outcome:
        issues = error.issues if error.status < 500 else ()
        body = error_body(error.status, issues, operation=operation)
        headers = {"Paypal-Debug-Id": body["debug_id"]}
        if error.retry_after is not None:
            headers["Retry-After"] = str(error.retry_after)
        return _json(error.status, body, headers)

    def _fault_status(self, fault: Fault, operation: str) -> _Outcome:
        issues = (Issue(fault.issue, None, None),) if fault.issue else ()
        error = ApiError(fault.status, *issues, retry_after=fault.retry_after)
        return self._error(error, operation)

    def _token(self, method: str, headers: Mapping[str, str], body: bytes) -> _Outcome:
        with self.store.lock:
            self.store.token_requests += 1
        if method != "POST":
            return _json(405, {"error": "invalid_request", "error_description": "Use POST"})
        if not self._client_authenticated(headers.get("authorization", "")):
            refusal = {
                "error": "invalid_client",
                "error_description": "Client Authentication failed",
            }
            return _json(401, refusal)
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return _json(
                400,
                {"error": "unsupported_grant_type", "error_description": "unsupported grant_type"},
            )
        ttl = self.emulator.token_ttl
        return _json(
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/payment/authcapture "
                "https://uri.paypal.com/services/payments/refund openid",
                "access_token": self.store.issue_token(ttl),
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": ttl,
                "nonce": f"{now_iso()}{new_debug_id()}",
            },
        )

    def _client_authenticated(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        id_ok = hmac.compare_digest(client_id.encode(), self.emulator.client_id.encode())
        secret_ok = hmac.compare_digest(secret.encode(), self.emulator.client_secret.encode())
        return id_ok and secret_ok

    # -- inspection API ------------------------------------------------------------

    def _control(self, method: str, path: str, query: str, body: bytes) -> _Outcome:
        emulator = self.emulator
        params = urllib.parse.parse_qs(query)
        if (method, path) == ("GET", "/_emulator/captures"):
            if "request_id" in params:
                captures = emulator.captures_for(params["request_id"][0])
            else:
                captures = emulator.all_captures()
            return _json(200, {"captures": captures})
        if (method, path) == ("GET", "/_emulator/stats"):
            return _json(200, emulator.stats())
        if (method, path) == ("GET", "/_emulator/requests"):
            return _json(200, {"requests": emulator.request_log()})
        if (method, path) == ("GET", "/_emulator/faults"):
            return _json(200, {"faults": [f.json() for f in self.faults.pending()]})
        if (method, path) == ("POST", "/_emulator/faults"):
            try:
                data = json.loads(body or b"null")
                items = data if isinstance(data, list) else [data]
                faults = [Fault.from_json(item) for item in items]
            except (ValueError, TypeError) as error:
                return _json(400, {"error": str(error)})
            for fault in faults:
                emulator.inject(fault)
            return _json(201, {"faults": [f.json() for f in self.faults.pending()]})
        if (method, path) == ("DELETE", "/_emulator/faults"):
            emulator.clear_faults()
            return _Outcome(204)
        if (method, path) == ("POST", "/_emulator/expire-tokens"):
            emulator.expire_tokens()
            return _Outcome(204)
        return _json(404, {"error": f"no emulator endpoint {method} {path}"})


def _mock_error(operation: str, header: str) -> ApiError:
    """The error a ``PayPal-Mock-Response`` header asks for."""
    try:
        code = json.loads(header)["mock_application_codes"]
    except (ValueError, TypeError, KeyError):
        code = None
    if not isinstance(code, str) or not code:
        return ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", "PayPal-Mock-Response", None))
    return ApiError(mock_status(operation, code), Issue(code))


def _parse_body(operation: str, headers: Mapping[str, str], body: bytes) -> object:
    if not body.strip():
        return None
    if not headers.get("content-type", "").lower().startswith("application/json"):
        raise ApiError(415)
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        # Only Orders lists MALFORMED_REQUEST_JSON; Payments reports bad syntax instead.
        payments = operation.startswith(("authorizations.", "captures.", "refunds."))
        issue = "INVALID_PARAMETER_SYNTAX" if payments else "MALFORMED_REQUEST_JSON"
        raise ApiError(400, Issue(issue, "/", "body") if payments else Issue(issue))
    return parsed


def _truncated(outcome: _Outcome) -> _Outcome:
    """The same answer with its JSON cut in half (a 204 becomes a 200 with a stub)."""
    body = outcome.body[: len(outcome.body) // 2] if len(outcome.body) > 1 else b'{"'
    status = 200 if outcome.status == 204 else outcome.status
    return _Outcome(status, body, {**outcome.headers, "Content-Type": "application/json"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connection
    # Headers and body go out in two writes; without TCP_NODELAY the body would wait for
    # the client's delayed ACK (about 40 ms a request).
    disable_nagle_algorithm = True
    server_version = "cardline-paypal-sandbox"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: the request log is kept in memory instead."""

    def do_GET(self) -> None:
        """Every method goes through one dispatcher."""
        self._serve()

    do_POST = do_GET
    do_DELETE = do_GET
    do_PATCH = do_GET
    do_PUT = do_GET

    def _serve(self) -> None:
        app = cast(_Server, self.server).app
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._write(_json(413, error_body(413)))
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

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, outcome: _Outcome) -> None:
        self.send_response(outcome.status)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        if outcome.status != 204:
            self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        if outcome.body:
            self.wfile.write(outcome.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: _App

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


class Emulator:
    """A PayPal REST sandbox double on loopback HTTP (Orders v2, Payments v2, OAuth).

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
        self._store = Store(StateFile(state_path) if state_path is not None else None)
        self._faults = FaultQueue()
        self._server: _Server | None = None
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
        server = _Server((self.host, self.port))
        host, port = str(server.server_address[0]), int(server.server_address[1])
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
        self._address = (shown, port)
        self._base_url = f"http://{shown}:{port}"
        server.app = _App(self, self._base_url)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"paypal-sandbox:{port}",
            daemon=True,
        )
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Stop serving and hang up on open connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
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

    def stats(self) -> dict[str, int]:
        """Counters: captures (that moved money), orders, refunds, requests, token_requests."""
        with self._store.lock:
            return {
                "captures": self.capture_count(),
                "orders": len(self._store.orders),
                "refunds": len(self._store.refunds),
                "requests": self._store.requests,
                "token_requests": self._store.token_requests,
            }

    def _link_base(self) -> str:
        return self._base_url or f"http://{self.host}:{self.port}"


def serve_forever(host: str, port: int) -> None:
    """Run an emulator in the foreground until Ctrl-C (``cardline sandbox``)."""
    emulator = Emulator(host=host, port=port)
    url = emulator.start()
    print(
        f"PayPal sandbox emulator on {url} (client id {emulator.client_id!r}); Ctrl-C stops it",
        flush=True,
    )
    stopped = threading.Event()
    try:
        while not stopped.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
