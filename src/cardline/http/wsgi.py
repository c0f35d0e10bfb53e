"""The application as a WSGI callable, for a real server (waitress locally, on EC2 too)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from cardline.cde.errors import MalformedRequest, PayloadTooLarge
from cardline.cde.http.app import App
from cardline.cde.http.messages import MAX_BODY_BYTES, Request

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def _body(environ: dict[str, Any], limit: int) -> bytes:
    """The body, refused by its declared length before a byte of it is read.

    waitress refuses an oversize body itself, before the application runs (see
    waitress_server); this check holds under any WSGI server. A body of unknown length
    (``wsgi.input_terminated``, chunked under some servers) is read to one byte past the
    limit, never further."""
    stream = environ["wsgi.input"]
    length_text = environ.get("CONTENT_LENGTH")
    if not length_text:
        if not environ.get("wsgi.input_terminated"):
            return b""
        body = bytes(stream.read(limit + 1))
        if len(body) > limit:
            raise PayloadTooLarge.over(limit)
        return body
    try:
        length = int(length_text)
    except ValueError:
        raise MalformedRequest("Content-Length is not a number") from None
    if length > limit:
        raise PayloadTooLarge.over(limit)
    return bytes(stream.read(length)) if length > 0 else b""


def wsgi_app(app: App, *, max_body: int = MAX_BODY_BYTES) -> Callable[..., Iterable[bytes]]:
    """Wrap an App as a WSGI application."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = Request(
                method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
                path=str(environ.get("PATH_INFO") or "/"),
                headers=_headers(environ),
                # Blank values are kept: "?status=" is a bad status, not no status.
                query=dict(
                    parse_qsl(
                        str(environ.get("QUERY_STRING", "")),
                        keep_blank_values=True,
                        max_num_fields=50,
                    )
                ),
                body=_body(environ, max_body),
                source_ip=str(environ.get("REMOTE_ADDR") or "unknown"),
            )
            response = app.handle(request)
        except (MalformedRequest, PayloadTooLarge) as error:
            response = app.refuse(error)
        except ValueError:
            response = app.refuse(MalformedRequest("The query string could not be read"))
        reason = HTTPStatus(response.status).phrase
        headers = [*response.headers.items(), ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {reason}", headers)
        return [response.body]

    return application
