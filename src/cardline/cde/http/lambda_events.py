"""API Gateway proxy events (REST v1 and HTTP API v2) to and from Request/Response.

Standard library only: the charge Lambda imports this. A malformed event never raises:
it becomes a 400 answer.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping

from cardline.cde.audit import install_log_filter
from cardline.cde.errors import MalformedRequest
from cardline.cde.http.messages import Request, Response
from cardline.cde.pan import contains_pan

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from typing import Any

    from cardline.cde.http.app import App
    from cardline.cde.metrics import EmfRecorder


def _mapping(value: Any) -> Mapping[str, Any]:
    # A dict (what the Lambda runtime hands over) is checked without the ABC machinery.
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def _strings(value: Any) -> dict[str, str]:
    if not value:  # None or empty: the usual query of a POST
        return {}
    return {str(k): str(v) for k, v in _mapping(value).items() if v is not None}


def _lowered(value: Any) -> dict[str, str]:
    """Header names lower-cased, values as text, None values dropped: one pass."""
    if not value:
        return {}
    return {str(k).lower(): str(v) for k, v in _mapping(value).items() if v is not None}


def _groups(value: Any) -> tuple[str, ...]:
    """The group names of a ``cognito:groups`` claim, in each form API Gateway passes it:
    a list (a Lambda authorizer's context), ``"[a, b]"`` or ``"[a b]"`` (a JWT claim array
    flattened by HTTP APIs and REST APIs), or ``"a,b"``."""
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str) and item)
    if not isinstance(value, str):
        return ()
    return tuple(word for word in value.strip("[]").replace(",", " ").split() if word)


def _groups_v1(context: Mapping[str, Any]) -> tuple[str, ...]:
    authorizer = _mapping(context.get("authorizer"))
    claims = _mapping(authorizer.get("claims"))
    return _groups(claims.get("cognito:groups") or authorizer.get("groups"))


def _groups_v2(context: Mapping[str, Any]) -> tuple[str, ...]:
    authorizer = _mapping(context.get("authorizer"))
    claims = _mapping(_mapping(authorizer.get("jwt")).get("claims"))
    lambda_context = _mapping(authorizer.get("lambda"))
    return _groups(claims.get("cognito:groups") or lambda_context.get("groups"))


def _identity_v1(context: Mapping[str, Any]) -> str | None:
    authorizer = _mapping(context.get("authorizer"))
    claims = _mapping(authorizer.get("claims"))
    for candidate in (claims.get("sub"), authorizer.get("principalId")):
        if isinstance(candidate, str) and candidate:
            return candidate
    user_arn = _mapping(context.get("identity")).get("userArn")
    return user_arn if isinstance(user_arn, str) and user_arn else None


def _identity_v2(context: Mapping[str, Any]) -> str | None:
    authorizer = _mapping(context.get("authorizer"))
    claims = _mapping(_mapping(authorizer.get("jwt")).get("claims"))
    iam = _mapping(authorizer.get("iam"))
    lambda_context = _mapping(authorizer.get("lambda"))
    for candidate in (claims.get("sub"), iam.get("userArn"), lambda_context.get("operator")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def gateway_identity(event: Any) -> str | None:
    """The identity API Gateway's authorizer vouched for in a proxy event (the operator
    the request acts as), or None: what a host's logs name the request by."""
    mapping = _mapping(event)
    context = _mapping(mapping.get("requestContext"))
    if mapping.get("version") == "2.0":
        return _identity_v2(context)
    return _identity_v1(context)


def request_from_event(event: Any) -> Request:
    """Translate an API Gateway proxy event; raises MalformedRequest for junk."""
    if type(event) is not dict and not isinstance(event, Mapping):
        raise MalformedRequest("The event is not an API Gateway proxy event")
    context = _mapping(event.get("requestContext"))
    if event.get("version") == "2.0":
        http = _mapping(context.get("http"))
        method, path = http.get("method"), event.get("rawPath")
        source_ip = http.get("sourceIp")
        identity = _identity_v2(context)
        groups = _groups_v2(context)
        stage = context.get("stage")
        if isinstance(path, str) and isinstance(stage, str) and stage != "$default":
            prefix = f"/{stage}"
            path = path[len(prefix) :] or "/" if path.startswith(prefix + "/") else path
    else:
        method, path = event.get("httpMethod"), event.get("path")
        source_ip = _mapping(context.get("identity")).get("sourceIp")
        identity = _identity_v1(context)
        groups = _groups_v1(context)
    if not isinstance(method, str) or not isinstance(path, str):
        raise MalformedRequest("The event has no HTTP method or path")
    headers = _lowered(event.get("headers"))
    body = event.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise MalformedRequest("The event body is not text")
    elif event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedRequest("The event body is not valid base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    return Request(
        method=method.upper(),
        path=path,
        headers=headers,
        query=_strings(event.get("queryStringParameters")),
        body=raw,
        source_ip=source_ip if isinstance(source_ip, str) else "unknown",
        gateway_identity=identity,
        gateway_groups=groups if identity else (),
        request_id=_request_id(context),
    )


# API Gateway's request ids: a UUID (REST APIs) or a short base64-like token (HTTP APIs).
_MAX_REQUEST_ID = 128
_REQUEST_ID_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+/="
)


def _request_id(context: Mapping[str, Any]) -> str:
    """API Gateway's ``requestContext.requestId`` when it has the shape of one, else ""
    (the App then makes its own): it is echoed in ``X-Request-Id`` and the problem's
    ``instance``, so nothing else that an event can carry (a line break, a card number)
    may pass."""
    value = context.get("requestId")
    if (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_REQUEST_ID
        and _REQUEST_ID_CHARACTERS.issuperset(value)
        and not contains_pan(value, inside_identifiers=False)
    ):
        return value
    return ""


def response_to_event(response: Response, *, version_2: bool) -> dict[str, Any]:
    body = response.body.decode("utf-8")
    answer: dict[str, Any] = {
        "statusCode": response.status,
        "headers": response.headers,  # the Response ends here: no copy
        "body": body,
        "isBase64Encoded": False,
    }
    if not version_2:
        answer["multiValueHeaders"] = {}
    return answer


def handle_event(app: App, event: Any) -> dict[str, Any]:
    """One Lambda invocation: event in, API Gateway answer out, whatever the event holds."""
    version_2 = _mapping(event).get("version") == "2.0"
    try:
        request = request_from_event(event)
    except MalformedRequest as error:
        request_id = _request_id(_mapping(_mapping(event).get("requestContext")))
        return response_to_event(app.refuse(error, request_id), version_2=version_2)
    return response_to_event(app.handle(request), version_2=version_2)


class LambdaFunction:
    """A Lambda entry point (the template's ``Handler`` names one): builds its App on the
    first invocation, after putting the PAN mask on the runtime's log handler (nothing has
    logged yet), and keeps it for the life of the instance; ``app`` is None until then.
    With ``metrics``, what the invocation observed is written as its EMF line once it is
    answered."""

    __slots__ = ("_build", "app", "metrics")

    def __init__(self, build: Callable[[], App], metrics: EmfRecorder | None = None) -> None:
        self._build = build
        self.app: App | None = None
        self.metrics = metrics

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        app = self.app
        if app is None:
            install_log_filter()
            app = self.app = self._build()
        if self.metrics is None:
            return handle_event(app, event)
        try:
            return handle_event(app, event)
        finally:
            self.metrics.flush()
