"""The one request/response shape every host adapter translates to and from.

Standard library only: the charge Lambda imports this.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cardline.errors import CardlineError, MalformedRequest, UnsupportedMediaType

MAX_BODY_BYTES = 16 * 1024

SECURITY_HEADERS: Mapping[str, str] = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


@dataclass
class Request:
    """An HTTP request as the application sees it, whatever the host."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    query: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    source_ip: str = "unknown"
    # Identity an upstream authorizer (API Gateway + Cognito/IAM) already established.
    gateway_identity: str | None = None
    request_id: str = ""

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


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
        body=body,
    )


def problem_response(error: CardlineError, request: Request | None = None) -> Response:
    """RFC 9457 problem+json for an error, naming the request for support."""
    body = error.problem()
    if request is not None and request.request_id:
        body["instance"] = f"urn:cardline:request:{request.request_id}"
    headers = {**error.headers, "Content-Type": "application/problem+json"}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="cardline"'
    return Response(status=error.status, headers=headers, body=json.dumps(body).encode())
