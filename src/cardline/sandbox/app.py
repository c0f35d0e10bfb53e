"""The emulator's one routing table, and what each route does.

Every request, whatever its path or method, is looked up in :data:`ROUTES`: PayPal's
Orders v2 and Payments v2 operations, OAuth, Transaction Search, and the emulator's own
inspection API (``/_emulator/...``, marked ``control``: no faults, not counted or logged).
A path no route takes is 404 and a method its path does not take is 405, both as PayPal's
JSON error.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cardline.sandbox import reporting
from cardline.sandbox.api import Api, Call, Reply
from cardline.sandbox.errors import ApiError, Issue, error_body, mock_status, new_debug_id
from cardline.sandbox.faults import Fault

if TYPE_CHECKING:
    from cardline.sandbox.emulator import Emulator
    from cardline.sandbox.webhooks import Webhooks

MAX_REQUEST_ID = 108  # the spec's maxLength for PayPal-Request-Id
_LOGGED_HEADERS = ("PayPal-Request-Id", "Prefer", "PayPal-Mock-Response", "Content-Type")


@dataclass
class Outcome:
    """What the handler writes back (or that it must hang up instead)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    reset: bool = False  # with drop: hang up with a TCP RST instead of a FIN


def json_outcome(status: int, body: object, headers: Mapping[str, str] | None = None) -> Outcome:
    """``body`` as a JSON answer (no body and no Content-Type for None)."""
    payload = b"" if body is None else json.dumps(body).encode()
    out_headers = {"Content-Type": "application/json"} if body is not None else {}
    out_headers.update(headers or {})
    return Outcome(status, payload, out_headers)


def error_outcome(error: ApiError, operation: str = "") -> Outcome:
    """PayPal's JSON error for ``error`` (details only below 500), with its debug id."""
    issues = error.issues if error.status < 500 else ()
    body = error_body(error.status, issues, operation=operation)
    headers = {"Paypal-Debug-Id": body["debug_id"]}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return json_outcome(error.status, body, headers)


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request, as a route sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    operation: str = ""  # the route's name ("" when no route takes the path)
    ident: str = ""  # the path's {id}, unquoted


Serve = Callable[["App", Request], Outcome]
Operation = Callable[[Api, str, Call], Reply]


@dataclass(frozen=True)
class Route:
    """One entry of the table: ``method`` on paths matching ``pattern`` (its group is the
    id), served by ``serve``; ``control`` marks the emulator's own inspection API."""

    method: str
    pattern: re.Pattern[str]
    name: str
    serve: Serve
    control: bool = False


def _paypal(operation: Operation) -> Serve:
    """A PayPal v2 operation behind PayPal's common request handling."""

    def serve(app: App, request: Request) -> Outcome:
        return app.call_api(operation, request)

    return serve


def _webhooks(answer: Callable[[Webhooks, Request, str], Outcome]) -> Serve:
    """A Webhooks v1 operation behind the bearer token."""

    def serve(app: App, request: Request) -> Outcome:
        return app.webhooks(answer, request)

    return serve


def _path(template: str) -> re.Pattern[str]:
    return re.compile("^" + template.replace("{id}", "([^/]+)") + "$")


def _control(method: str, path: str, name: str, serve: Serve) -> Route:
    return Route(method, _path(f"/_emulator/{path}"), f"emulator.{name}", serve, control=True)


ORDERS = "/v2/checkout/orders"
AUTHORIZATION = "/v2/payments/authorizations/{id}"
CAPTURE = "/v2/payments/captures/{id}"
WEBHOOKS = "/v1/notifications/webhooks"  # cardline.sandbox.webhooks serves the /v1/notifications

# Names match the spec's schema groups ("orders.create", "authorizations.capture", ...).
ROUTES: tuple[Route, ...] = (
    Route("POST", _path("/v1/oauth2/token"), "oauth.token", lambda app, r: app.token(r)),
    Route("GET", _path(reporting.PATH), "reporting.transactions",
          lambda app, r: app.transactions(r)),
    Route("POST", _path(ORDERS), "orders.create",
          _paypal(lambda api, _id, call: api.create_order(call))),
    Route("GET", _path(f"{ORDERS}/{{id}}"), "orders.get",
          _paypal(lambda api, ident, _call: api.get_order(ident))),
    Route("POST", _path(f"{ORDERS}/{{id}}/capture"), "orders.capture",
          _paypal(Api.capture_order)),
    Route("POST", _path(f"{ORDERS}/{{id}}/authorize"), "orders.authorize",
          _paypal(Api.authorize_order)),
    Route("GET", _path(AUTHORIZATION), "authorizations.get",
          _paypal(lambda api, ident, _call: api.get_authorization(ident))),
    Route("POST", _path(f"{AUTHORIZATION}/capture"), "authorizations.capture",
          _paypal(Api.capture_authorization)),
    Route("POST", _path(f"{AUTHORIZATION}/void"), "authorizations.void",
          _paypal(Api.void_authorization)),
    Route("POST", _path(f"{AUTHORIZATION}/reauthorize"), "authorizations.reauthorize",
          _paypal(Api.reauthorize_authorization)),
    Route("GET", _path(CAPTURE), "captures.get",
          _paypal(lambda api, ident, _call: api.get_capture(ident))),
    Route("POST", _path(f"{CAPTURE}/refund"), "captures.refund", _paypal(Api.refund_capture)),
    Route("GET", _path("/v2/payments/refunds/{id}"), "refunds.get",
          _paypal(lambda api, ident, _call: api.get_refund(ident))),
    Route("POST", _path(WEBHOOKS), "webhooks.create",
          _webhooks(lambda hooks, r, base: hooks.create_answer(r, base))),
    Route("GET", _path(WEBHOOKS), "webhooks.list",
          _webhooks(lambda hooks, r, base: hooks.list_answer(r, base))),
    Route("GET", _path(f"{WEBHOOKS}/{{id}}"), "webhooks.get",
          _webhooks(lambda hooks, r, base: hooks.get_answer(r, base))),
    Route("DELETE", _path(f"{WEBHOOKS}/{{id}}"), "webhooks.delete",
          _webhooks(lambda hooks, r, base: hooks.delete_answer(r, base))),
    Route("POST", _path("/v1/notifications/verify-webhook-signature"), "webhooks.verify",
          _webhooks(lambda hooks, r, base: hooks.verify_answer(r, base))),
    Route("GET", _path("/v1/notifications/certs/{id}"), "webhooks.certificate",
          lambda app, r: app.emulator.webhooks.certificate(r)),
    _control("GET", "captures", "captures", lambda app, r: app.captures(r)),
    _control("GET", "stats", "stats", lambda app, _r: json_outcome(200, app.emulator.stats())),
    _control("GET", "requests", "requests",
             lambda app, _r: json_outcome(200, {"requests": app.emulator.request_log()})),
    _control("GET", "faults", "faults.list", lambda app, _r: app.pending_faults(200)),
    _control("POST", "faults", "faults.add", lambda app, r: app.add_faults(r)),
    _control("DELETE", "faults", "faults.clear",
             lambda app, _r: app.done(app.emulator.clear_faults)),
    _control("POST", "expire-tokens", "expire_tokens",
             lambda app, _r: app.done(app.emulator.expire_tokens)),
    _control("POST", "advance-clock", "advance_clock", lambda app, r: app.advance_clock(r)),
    _control("GET", "webhooks/deliveries", "webhooks.deliveries",
             lambda app, _r: json_outcome(200, {"deliveries": app.emulator.deliveries()})),
    _control("POST", "webhooks/fire", "webhooks.fire", lambda app, r: app.fire(r)),
)  # fmt: skip


@dataclass(frozen=True)
class Found:
    """What the table says about one request: the route taking it, else the name of a
    route taking its path with another method ("" when none does)."""

    route: Route | None
    name: str
    ident: str = ""
    control: bool = False
    allowed: tuple[str, ...] = ()  # the methods the path takes, when the route is None


def find(method: str, path: str) -> Found:
    """Look ``method path`` up in :data:`ROUTES`."""
    on_path = []
    for route in ROUTES:
        match = route.pattern.match(path)
        if match is None:
            continue
        if route.method == method:
            ident = urllib.parse.unquote(match.group(1)) if route.pattern.groups else ""
            return Found(route, route.name, ident, route.control)
        on_path.append(route)
    if not on_path:
        return Found(None, "")
    allowed = tuple(r.method for r in on_path)
    return Found(None, on_path[0].name, control=all(r.control for r in on_path), allowed=allowed)


class App:
    """Turns one parsed HTTP request into an outcome; shared by all handler threads."""

    emulator: Emulator

    def __init__(self, emulator: Emulator, base: str) -> None:
        self.emulator = emulator
        self.store = emulator._store
        self.faults = emulator._faults
        self.api = Api(self.store, base)

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        """Answer one request, applying latency and any pending fault."""
        path, _, query = target.partition("?")
        found = find(method, path)
        request = Request(
            method, path, urllib.parse.parse_qs(query), headers, body, found.name, found.ident
        )
        if found.control:
            return self._serve(found, request)
        with self.store.lock:
            self.store.requests += 1
        if self.emulator.latency:
            time.sleep(self.emulator.latency)
        plan = self.faults.take(method, path)
        if plan.delay:
            time.sleep(plan.delay)
        fault = plan.fault
        if fault is not None and fault.kind == "drop_before":
            outcome = Outcome(drop=True)
        elif fault is not None and fault.kind == "reset":
            outcome = Outcome(drop=True, reset=True)
        elif fault is not None and fault.kind == "status":
            issues = (Issue(fault.issue, None, None),) if fault.issue else ()
            error = ApiError(fault.status, *issues, retry_after=fault.retry_after)
            outcome = error_outcome(error, found.name)
        else:
            outcome = self._serve(found, request)
            if fault is not None and fault.kind == "drop_after":
                outcome = Outcome(drop=True)
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

    def _serve(self, found: Found, request: Request) -> Outcome:
        if found.route is None and found.allowed:
            refusal = error_outcome(ApiError(405), found.name)
            refusal.headers["Allow"] = ", ".join(found.allowed)  # RFC 9110 asks for it
            return refusal
        if found.route is None:
            return error_outcome(ApiError(404), found.name)
        try:
            return found.route.serve(self, request)
        except ApiError as error:
            return error_outcome(error, found.name)
        except Exception:  # noqa: BLE001 - a bug must answer 500 rather than kill the thread
            return error_outcome(ApiError(500), found.name)

    # -- PayPal API ----------------------------------------------------------------

    def call_api(self, operation: Operation, request: Request) -> Outcome:
        """Run a v2 operation: bearer token, PayPal-Mock-Response, PayPal-Request-Id, JSON
        body; what it changed is kept before the answer leaves (a crash loses no answer)."""
        headers = request.headers
        self._authenticate(headers)
        mock = headers.get("paypal-mock-response")
        if mock is not None:
            raise _mock_error(request.operation, mock)
        request_id = headers.get("paypal-request-id")
        if request_id is not None and not 1 <= len(request_id) <= MAX_REQUEST_ID:
            raise ApiError(400, Issue("INVALID_STRING_LENGTH", "PayPal-Request-Id", None))
        call = Call(
            body=_parse_body(request.operation, headers, request.body),
            request_id=request_id,
            representation="return=representation" in headers.get("prefer", "").lower(),
        )
        reply = operation(self.api, request.ident, call)
        if request.method == "POST":
            made = reply.body.get("id") if reply.body else None
            touched = [request.ident, *([made] if isinstance(made, str) else [])]
            self.store.persist(touched, request.operation, request_id)
            self.emulator.lifecycles.observe(touched)  # the webhook events it causes
        return json_outcome(
            reply.status, reply.body, {"Paypal-Debug-Id": new_debug_id(), **reply.headers}
        )

    def transactions(self, request: Request) -> Outcome:
        """GET /v1/reporting/transactions (Transaction Search)."""
        self._authenticate(request.headers)
        with self.store.lock:
            body = reporting.search(self.store, request.query, self.emulator.search_delay)
        return json_outcome(200, body, {"Paypal-Debug-Id": new_debug_id()})

    def webhooks(
        self, answer: Callable[[Webhooks, Request, str], Outcome], request: Request
    ) -> Outcome:
        """A Webhooks v1 operation (bearer token first, as for every PayPal API), its
        refusals in Webhooks v1's error shape."""
        from cardline.sandbox.webhooks import Refusal

        self._authenticate(request.headers)
        try:
            return answer(self.emulator.webhooks, request, self.api.base)
        except Refusal as refusal:
            return refusal.outcome()

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.store.token_valid(token.strip()):
            raise ApiError(401)

    def token(self, request: Request) -> Outcome:
        """POST /v1/oauth2/token (client credentials); OAuth's own error shape."""
        with self.store.lock:
            self.store.token_requests += 1
        if not self._client_authenticated(request.headers.get("authorization", "")):
            refusal = {
                "error": "invalid_client",
                "error_description": "Client Authentication failed",
            }
            return json_outcome(401, refusal)
        form = urllib.parse.parse_qs(request.body.decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return json_outcome(
                400,
                {"error": "unsupported_grant_type", "error_description": "unsupported grant_type"},
            )
        ttl = self.emulator.token_ttl
        return json_outcome(
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/payment/authcapture "
                "https://uri.paypal.com/services/payments/refund openid",
                "access_token": self.store.issue_token(ttl),
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": ttl,
                "nonce": f"{self.store.clock.iso()}{new_debug_id()}",
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

    def captures(self, request: Request) -> Outcome:
        """GET /_emulator/captures[?request_id=...]."""
        if "request_id" in request.query:
            found = self.emulator.captures_for(request.query["request_id"][0])
        else:
            found = self.emulator.all_captures()
        return json_outcome(200, {"captures": found})

    def pending_faults(self, status: int) -> Outcome:
        """The faults still pending."""
        return json_outcome(status, {"faults": [f.json() for f in self.faults.pending()]})

    def add_faults(self, request: Request) -> Outcome:
        """POST /_emulator/faults: one fault object or a list of them."""
        try:
            data = json.loads(request.body or b"null")
            items = data if isinstance(data, list) else [data]
            faults = [Fault.from_json(item) for item in items]
        except (ValueError, TypeError) as error:
            return json_outcome(400, {"error": str(error)})
        for fault in faults:
            self.emulator.inject(fault)
        return self.pending_faults(201)

    def advance_clock(self, request: Request) -> Outcome:
        """POST /_emulator/advance-clock ``{"days": 4}`` or ``{"seconds": 60}``."""
        try:
            data = json.loads(request.body or b"null")
            if not isinstance(data, dict) or set(data) - {"days", "seconds"}:
                raise ValueError('send {"days": n} and/or {"seconds": n}')
            days, seconds = data.get("days", 0), data.get("seconds", 0)
            if not all(
                isinstance(n, int | float) and not isinstance(n, bool) for n in (days, seconds)
            ):
                raise ValueError("days and seconds are numbers")
            self.emulator.advance_clock(days=days, seconds=seconds)
        except ValueError as error:
            return json_outcome(400, {"error": str(error)})
        return Outcome(204)

    def fire(self, request: Request) -> Outcome:
        """POST /_emulator/webhooks/fire ``{"event_type": ..., "capture_id": ...}``: make
        that change and send its event; 201 with the event, 400 or 409 saying why not."""
        from cardline.sandbox.lifecycles import Fire, FireRefused

        try:
            fire = Fire.from_json(json.loads(request.body or b"null"))
        except ValueError as error:
            return json_outcome(400, {"error": str(error)})
        try:
            event = self.emulator.lifecycles.fire(fire)
        except FireRefused as refused:
            return json_outcome(409, {"error": str(refused)})
        except ApiError as error:  # an amount PayPal would refuse
            return json_outcome(409, {"error": str(error)})
        return json_outcome(201, event)

    @staticmethod
    def done(action: Callable[[], None]) -> Outcome:
        """Run ``action``; 204."""
        action()
        return Outcome(204)


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


def _truncated(outcome: Outcome) -> Outcome:
    """The same answer with its JSON cut in half (a 204 becomes a 200 with a stub)."""
    body = outcome.body[: len(outcome.body) // 2] if len(outcome.body) > 1 else b'{"'
    status = 200 if outcome.status == 204 else outcome.status
    return Outcome(status, body, {**outcome.headers, "Content-Type": "application/json"})
