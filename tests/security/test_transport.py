"""Hostile transport: oversize bodies, wrong content types, header injection, path
traversal, and the security headers on every kind of answer."""

from __future__ import annotations

import json
import socket

import pytest

from tests.cards import VISA, payment
from tests.conftest import Answer, Running
from tests.seeded import unique

pytestmark = pytest.mark.slow

BASELINE_HEADERS = {
    "Strict-Transport-Security": "max-age=",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def _raw(running: Running, request: bytes) -> bytes:
    """Send bytes as they are (no client library tidying them) and read the whole answer."""
    host, _, port = running.url.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    with open(running.client.record, "ab") as out:
        out.write(answer + b"\n")
    return answer


def _head(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def test_oversize_bodies_are_refused_before_they_are_read(running: Running) -> None:
    body = json.dumps({**payment(VISA), "reference": "x" * 40_000}).encode()
    answer = running.client.request(
        "POST",
        "/v1/payments",
        raw=body,
        headers={"Content-Type": "application/json"},
        idempotency_key=unique("key-"),
    )
    assert answer.status == 413
    assert answer.json()["code"] == "payload_too_large"
    chunked = _raw(
        running,
        b"POST /v1/payments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Authorization: Bearer "
        + running.key.encode()
        + b"\r\nIdempotency-Key: c1\r\n\r\n"
        + b"".join(b"4000\r\n" + b" " * 0x4000 + b"\r\n" for _ in range(3))
        + b"0\r\n\r\n",
    )
    assert _head(chunked)[0] == 413
    assert running.stack.emulator is not None
    assert running.stack.emulator.stats()["orders"] == 0


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x",
     "application/jsonp", "text/json", "application/xml"],
)  # fmt: skip
def test_a_payment_must_be_sent_as_json(running: Running, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = running.client.request(
        "POST",
        "/v1/payments",
        raw=json.dumps(payment(VISA)).encode(),
        headers=headers,
        idempotency_key=unique("key-"),
    )
    assert answer.status == 415
    assert answer.json()["code"] == "unsupported_media_type"


def test_json_with_a_charset_parameter_is_accepted(running: Running) -> None:
    answer = running.client.request(
        "POST",
        "/v1/payments",
        raw=json.dumps(payment(VISA)).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        idempotency_key=unique("key-"),
    )
    assert answer.status == 201


@pytest.mark.parametrize(
    "header_line",
    [
        b"Idempotency-Key: k1\rX-Injected: yes",
        b"Idempotency-Key: k1\nX-Injected: yes",
        b"Idempotency-Key: k1\r\n X-Injected: yes",  # obsolete line folding
        b"Idempotency-Key: k1\x00X-Injected: yes",
    ],
)
def test_header_injection_is_refused_and_never_reflected(
    running: Running, header_line: bytes
) -> None:
    body = json.dumps(payment(VISA)).encode()
    answer = _raw(
        running,
        b"POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + running.key.encode() + b"\r\n" + header_line + b"\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
    )
    status, headers, _ = _head(answer)
    assert status in (400, 422)
    assert "x-injected" not in headers
    assert running.stack.emulator is not None
    assert running.stack.emulator.stats()["orders"] == 0


def test_crlf_in_the_path_is_not_reflected_into_headers(running: Running) -> None:
    answer = _raw(
        running,
        b"GET /v1/payments/%0d%0aSet-Cookie:%20a=b HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + running.key.encode() + b"\r\nConnection: close\r\n\r\n",
    )
    status, headers, _ = _head(answer)
    assert status == 404
    assert "set-cookie" not in headers


@pytest.mark.parametrize(
    "path",
    [
        "/console/../v1/payments",
        "/console/%2e%2e/v1/payments",
        "/console/..%2fv1%2fpayments",
        "/console/../../../../etc/passwd",
        "/console/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/console/..%5c..%5cetc%5cpasswd",
        "/../../etc/passwd",
        "/v1/payments/..",
        "/v1/payments/../../openapi.json",
        "//etc/passwd",
    ],
)
def test_path_traversal_reaches_neither_files_nor_guarded_routes(
    running: Running, path: str
) -> None:
    answer = _raw(
        running,
        f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
    )
    status, _headers, body = _head(answer)
    assert status in (400, 401, 404), path
    assert b"root:" not in body
    assert b'"items"' not in body


def _assert_baseline(answer: Answer, what: str) -> None:
    for name, part in BASELINE_HEADERS.items():
        assert part in (answer.headers[name] or ""), (what, name)
    assert answer.headers["X-Frame-Options"] == "DENY" or "frame-ancestors 'none'" in (
        answer.headers["Content-Security-Policy"] or ""
    )


def test_every_answer_carries_the_security_headers_and_payment_answers_are_not_stored(
    running: Running,
) -> None:
    client = running.client
    paid = client.pay(payment(VISA))
    payment_answers = {
        "take a payment": paid,
        "a declined payment": client.pay(payment(VISA, name="CCREJECT-IF")),
        "list payments": client.request("GET", "/v1/payments"),
        "read a payment": client.request("GET", f"/v1/payments/{paid.json()['id']}"),
        "refund": client.request(
            "POST", f"/v1/payments/{paid.json()['id']}/refunds", idempotency_key="r1"
        ),
        "invalid card": client.pay(payment("4111")),
        "no such payment": client.request("GET", "/v1/payments/pay_nothing"),
        "unauthenticated": client.request("GET", "/v1/payments", auth=False),
    }
    others = {
        "health": client.request("GET", "/health"),
        "openapi": client.request("GET", "/openapi.json"),
        "not found": client.request("GET", "/nowhere"),
        "method not allowed": client.request("DELETE", "/v1/payments"),
        "console page": client.request("GET", "/"),
    }
    for what, answer in {**payment_answers, **others}.items():
        _assert_baseline(answer, what)
    for what, answer in payment_answers.items():
        assert answer.headers["Cache-Control"] == "no-store", what
    assert others["method not allowed"].headers["Allow"] == "GET, POST"
