"""The one request/response shape every host adapter translates to and from.

Standard library only: the charge Lambda imports this.
"""

from __future__ import annotations

import json

from cardline.cde.encoding import compact
from cardline.cde.errors import CardlineError, MalformedRequest, UnsupportedMediaType
from cardline.cde.values import Value

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

MAX_BODY_BYTES = 16 * 1024

SECURITY_HEADERS: Mapping[str, str] = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


class Request(Value):
    """An HTTP request as the application sees it, whatever the host."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    source_ip: str
    gateway_identity: str | None
    request_id: str

    def __init__(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,  # names lower-cased
        query: dict[str, str] | None = None,
        body: bytes = b"",
        source_ip: str = "unknown",
        # Identity an upstream authorizer (API Gateway + Cognito/IAM) already established.
        gateway_identity: str | None = None,
        request_id: str = "",
    ) -> None:
        self.method = method
        self.path = path
        self.headers = {} if headers is None else headers
        self.query = {} if query is None else query
        self.body = body
        self.source_ip = source_ip
        self.gateway_identity = gateway_identity
        self.request_id = request_id

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body decoded as JSON; application/json required."""
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise UnsupportedMediaType("Send the body as application/json")
        if not self.body:
            raise MalformedRequest("The request body is empty", field="body")
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            # Raised from None: the decoder's message and context can quote the body.
            raise MalformedRequest("The request body is not valid JSON", field="body") from None


class Response(Value):
    """An HTTP answer as the application gives it, whatever the host."""

    status: int
    headers: dict[str, str]
    body: bytes

    def __init__(
        self, status: int, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        self.status = status
        self.headers = {} if headers is None else headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = compact(payload).encode()
    return Response(
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
        body=body,
    )


def problem_response(error: CardlineError, request_id: str = "") -> Response:
    """RFC 9457 problem+json for an error, naming the request for support."""
    body = error.problem()
    if request_id:
        body["instance"] = f"urn:cardline:request:{request_id}"
    headers = {**error.headers, "Content-Type": "application/problem+json"}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="cardline"'
    return Response(status=error.status, headers=headers, body=compact(body).encode())
