"""Routing, authentication, error answers and security headers for every host.

Standard library only: the charge Lambda builds an App with its single route.
"""

from __future__ import annotations

import logging
import re

from cardline.cde import audit, roles
from cardline.cde.errors import (
    INTERNAL_ERROR,
    AuthenticationFailed,
    CardlineError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RoleRequired,
)
from cardline.cde.http.failure_audit import AggregatedFailures, EachFailure, FailureAudit
from cardline.cde.http.messages import (
    MAX_BODY_BYTES,
    SECURITY_HEADERS,
    Request,
    Response,
    problem_response,
)
from cardline.cde.http.throttle import FailureThrottle, Throttled
from cardline.cde.values import Value

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Protocol

    Handler = Callable[["Call"], Response]
    Refusal = Callable[[CardlineError], Response]
else:
    Protocol = object  # Authenticator is a structural type for mypy only

log = logging.getLogger("cardline.http")


class Caller(Value):
    """Who an authenticated request comes from: the operator's id and role
    (cardline.cde.roles)."""

    operator: str
    role: str


ANONYMOUS = Caller("anonymous", roles.PUBLIC)


class Call(Value):
    """What a route handler receives: the request, its path parameters, who is calling
    (``operator``, and their ``role``: ``roles.PUBLIC`` on a public route)."""

    request: Request
    params: dict[str, str]
    operator: str
    role: str = roles.PUBLIC

    def holds(self, role: str) -> bool:
        """Whether the caller's role holds ``role``'s rights (cardline.cde.roles.allows)."""
        return roles.allows(self.role, role)


class Route(Value):
    """A method and path template (``{name}`` parts match one id-like segment), the
    handler answering them and the lowest ``role`` that may call it (cardline.cde.roles),
    declared on every route: ``roles.PUBLIC`` for one that needs no credential, which the
    App then never authenticates. ``pattern`` is the template compiled."""

    method: str
    template: str
    handler: Handler
    role: str
    static: bool
    pattern: re.Pattern[str]

    def __init__(
        self,
        method: str,
        template: str,
        handler: Handler,
        *,
        role: str,
        # Marks a public static file (the console's page and assets): GET, no
        # authentication. The security tests exempt only these, /health and /openapi.json
        # from credentials.
        static: bool = False,
        refusal: Refusal | None = None,
    ) -> None:
        if role != roles.PUBLIC and role not in roles.ROLES:
            raise ValueError(f"a route's role is one of {', '.join(roles.ROLES)} or public")
        if static and (method != "GET" or role != roles.PUBLIC):
            raise ValueError("a static route is a GET without authentication")
        self.method = method
        self.template = template
        self.handler = handler
        self.role = role
        self.static = static
        self.refusal = refusal
        self.pattern = _compile(template)

    @property
    def authenticated(self) -> bool:
        """Whether the route needs an operator's credential (every role but public)."""
        return self.role != roles.PUBLIC


def _compile(template: str) -> re.Pattern[str]:
    # Literal parts are escaped: the dot in "/console/console.js" matches only a dot.
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        f"(?P<{part}>[A-Za-z0-9_-]{{1,64}})" if i % 2 else re.escape(part)
        for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


class Authenticator(Protocol):
    def authenticate(self, request: Request) -> Caller:
        """The caller's operator id and role; raises AuthenticationFailed."""
        ...


class GatewayAuthenticator:
    """Trusts the identity API Gateway's authorizer put on the request (Lambda hosts), and
    the groups it vouched for: the highest role among them (cardline.cde.roles.highest)."""

    def authenticate(self, request: Request) -> Caller:
        if not request.gateway_identity:
            raise AuthenticationFailed("No authenticated identity came with the request")
        return Caller(request.gateway_identity, roles.highest(request.gateway_groups))


class App:
    """Dispatches a Request to its route and always answers with a Response.

    Failed authentication is slowed by ``throttle`` (a valid key never is: see
    cardline.cde.http.throttle) and reported to ``failures``, by default aggregated per source
    and interval (cardline.cde.http.failure_audit); ``flush`` writes what is held back.
    """

    def __init__(
        self,
        routes: Sequence[Route],
        authenticator: Authenticator,
        sink: audit.AuditSink,
        *,
        max_body: int = MAX_BODY_BYTES,
        throttle: FailureThrottle | None = None,
        failures: FailureAudit | None = None,
    ) -> None:
        self.routes = list(routes)
        self._authenticator = authenticator
        self._sink = sink
        self._max_body = max_body
        self._throttle = throttle or FailureThrottle()
        self._failures = failures or AggregatedFailures(sink)

    @classmethod
    def on_lambda(cls, routes: Sequence[Route], sink: audit.AuditSink) -> App:
        """The App of a Lambda function: API Gateway's authorizer authenticates, and failed
        attempts are counted, never slept (an instance serves one request at a time), and
        written at once (a frozen instance cannot be trusted to flush later)."""
        return cls(
            routes,
            GatewayAuthenticator(),
            sink,
            throttle=FailureThrottle(max_delay=0.0),
            failures=EachFailure(sink),
        )

    @property
    def failures(self) -> FailureAudit:
        """Where failed authentication is reported (routes that refuse unauthenticated
        callers of their own, the PayPal webhook, report there too)."""
        return self._failures

    def flush(self) -> None:
        """Write the audit events held back (aggregated failed authentication); the
        server calls it when it stops."""
        self._failures.flush()

    def close(self) -> None:
        """Write what is held back and stop the App's background work (the failed
        authentication flusher); a host calls it before it closes the App's sink. A request
        still being answered afterwards is audited at once."""
        self._failures.close()

    def handle(self, request: Request) -> Response:
        if not request.request_id:
            request.request_id = audit.new_id()
        try:
            response = self._dispatch(request)
        except CardlineError as error:
            return self.refuse(error, request.request_id)
        except Exception as error:  # noqa: BLE001 - every failure must still answer
            _log_unhandled(request, error)
            return self.refuse(CardlineError(INTERNAL_ERROR), request.request_id)
        return _secured(response, request.request_id)

    def refuse(self, error: CardlineError, request_id: str = "") -> Response:
        """The problem answer for ``error``: every refusal, the App's own and those of a
        host that could not even read the request (a body over the limit, an unreadable
        event), is made here, with the headers of every other answer and ``request_id``
        (a new one when the host has none)."""
        request_id = request_id or audit.new_id()
        return _secured(problem_response(error, request_id), request_id)

    def _dispatch(self, request: Request) -> Response:
        allowed: list[str] = []
        for route in self.routes:
            match = route.pattern.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            if route.refusal is None:
                return self._serve(route, request, match)
            try:
                return self._serve(route, request, match)
            except CardlineError as error:
                return route.refusal(error)
            except Exception as error:  # noqa: BLE001 - the route's contract still answers
                _log_unhandled(request, error)
                return route.refusal(CardlineError(INTERNAL_ERROR))
        if allowed:
            methods = sorted(set(allowed))
            refusal = MethodNotAllowed(f"Use {' or '.join(methods)} on this path")
            refusal.headers["Allow"] = ", ".join(methods)
            raise refusal
        raise NotFound("No such resource")

    def _serve(self, route: Route, request: Request, match: re.Match[str]) -> Response:
        """The answer of ``route``, whose method and path ``request`` matched."""
        if len(request.body) > self._max_body:
            raise PayloadTooLarge.over(self._max_body)
        if not route.authenticated:
            return route.handler(Call(request, match.groupdict(), ANONYMOUS.operator))
        caller = self._authenticate(request, route)
        # Every audit event written for this request records the caller's role.
        audit.act_as(caller.operator, caller.role)
        try:
            if not roles.allows(caller.role, route.role):
                raise RoleRequired(route.role)
            return route.handler(Call(request, match.groupdict(), caller.operator, caller.role))
        except RoleRequired as denied:  # the route's, or the handler's (not their payment)
            self._record_refusal(request, route, caller, denied)
            raise
        finally:
            audit.act_as("", "")

    def _record_refusal(
        self, request: Request, route: Route, caller: Caller, refusal: RoleRequired
    ) -> None:
        try:
            audit.record(
                self._sink,
                audit.ROLE_REFUSED,
                operator=caller.operator,
                outcome="refused",
                origin=request.source_ip,
                resource=f"{route.method} {route.template}",  # a template: no caller's text
                details={"role_required": refusal.role, "request_id": request.request_id},
            )
        except Exception as error:  # noqa: BLE001 - the refusal stands without its record
            log.error("the role refusal's audit event was not written: %s", type(error).__name__)

    def _authenticate(self, request: Request, route: Route) -> Caller:
        try:
            return self._authenticator.authenticate(request)
        except AuthenticationFailed as error:
            source = request.source_ip
            attempt = f"{route.method} {route.template}"  # a template: no caller's text
            if request.header("authorization") is None:
                # No key, nothing guessed: not delayed, only counted.
                self._failures.record(source, attempt, error.detail)
                raise
            try:
                delay = self._throttle.failure(source)
            except Throttled:
                self._failures.record(source, attempt, error.detail, refused=True)
                raise
            try:
                self._failures.record(source, attempt, error.detail, delay=delay)
            finally:
                self._throttle.wait(delay)
            raise


def _secured(response: Response, request_id: str) -> Response:
    # The security headers, unless the route set its own: one merge, not six look-ups.
    response.headers = {**SECURITY_HEADERS, **response.headers}
    response.headers["X-Request-Id"] = request_id
    return response


def _log_unhandled(request: Request, error: Exception) -> None:
    # Type and frames only: an exception's message may quote data it was handed.
    log.error(
        "unhandled %s in %s\n%s",
        type(error).__name__,
        _safe_path(f"{request.method[:16]} {request.path}"),
        "".join(_frames(error)),
    )


def _frames(error: BaseException) -> list[str]:
    import traceback

    return traceback.format_tb(error.__traceback__)


def _safe_path(path: str) -> str:
    """A client's method and path for a log line: cut short, printable, every card number
    masked (identifier-shaped segments too: a client's path is not one of our identifiers)."""
    printable = "".join(c if c.isprintable() else "?" for c in path[:200])
    return audit.mask_pans(printable, inside_identifiers=True)
