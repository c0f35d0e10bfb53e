"""The PayPal client's own HTTP/1.1 writing and reading (cardline.paypal.client).

http.client still opens the connection (TLS, timeouts); the request is written in one
send and the answer read by ``_read_answer``. These pin the rules it keeps: lengths,
chunks, interim answers, connection reuse, limits, and no way to inject a line.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
from collections.abc import Iterator

import pytest

from cardline.errors import GatewayOutcomeUnknown
from cardline.paypal import PayPalClient, PayPalConfig
from cardline.paypal.client import _MAX_BODY, _Payload, _read_answer


def _answer(raw: bytes, method: str = "POST") -> tuple[int, dict[str, str], bytes | None, bool]:
    return _read_answer(io.BufferedReader(io.BytesIO(raw)), method)  # type: ignore[arg-type]


def test_content_length_body_and_keep_alive() -> None:
    status, fields, data, reuse = _answer(
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        b"Paypal-Debug-Id: abc123\r\nContent-Length: 2\r\n\r\n{}trailing"
    )
    assert (status, data, reuse) == (201, b"{}", True)
    assert fields["paypal-debug-id"] == "abc123"


def test_chunked_body_with_extensions_and_trailers() -> None:
    status, _, data, reuse = _answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'3;ext=1\r\n{"a\r\n4\r\n": 1\r\n1\r\n}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    )
    assert (status, data, reuse) == (200, b'{"a": 1}', True)


def test_interim_answers_are_skipped() -> None:
    status, _, data, _ = _answer(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    )
    assert (status, data) == (200, b"")


def test_connection_close_and_http_1_0_are_not_reused() -> None:
    assert not _answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")[3]
    assert not _answer(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")[3]
    assert _answer(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")[3]


def test_no_length_reads_to_the_end_and_closes() -> None:
    assert _answer(b"HTTP/1.1 200 OK\r\n\r\n{}")[2:] == (b"{}", False)


def test_no_content_answers_have_no_body() -> None:
    assert _answer(b"HTTP/1.1 204 No Content\r\n\r\n")[2:] == (b"", True)


def test_repeated_and_folded_fields() -> None:
    fields = _answer(
        b"HTTP/1.1 200 OK\r\nA: 1\r\nA: 2\r\nB: x\r\n  y\r\nContent-Length: 0\r\n\r\n"
    )[1]
    assert fields["a"] == "1, 2"
    assert fields["b"] == "x y"


def test_oversize_bodies_are_not_buffered() -> None:
    big = str(_MAX_BODY + 1).encode()
    assert _answer(b"HTTP/1.1 200 OK\r\nContent-Length: " + big + b"\r\n\r\n")[2:] == (None, False)
    chunk = f"{_MAX_BODY + 1:x}".encode()
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + b"\r\n"
    assert _answer(raw)[2:] == (None, False)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", http.client.RemoteDisconnected),
        (b"garbage\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 2000 OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n", http.client.HTTPException),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70000 + b"\r\n\r\n", http.client.LineTooLong),
    ],
)
def test_malformed_answers_raise_http_errors(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        _answer(raw)


def _client(url: str = "http://127.0.0.1:8888") -> PayPalClient:
    return PayPalClient(PayPalConfig(url, "id", "secret", max_attempts=1))


def test_the_request_is_written_as_http_client_would() -> None:
    client = _client()
    head = client._request_bytes(
        "POST", "/v2/checkout/orders", _Payload(b"{}"), {"Authorization": "Bearer t"}
    )
    assert head == (
        b"POST /v2/checkout/orders HTTP/1.1\r\nHost: 127.0.0.1:8888\r\n"
        b"Accept-Encoding: identity\r\nContent-Length: 2\r\nAuthorization: Bearer t\r\n\r\n{}"
    )
    assert b"Content-Length: 0\r\n" in client._request_bytes("POST", "/x", None, {})
    assert b"Content-Length" not in client._request_bytes("GET", "/x", None, {})


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api-m.paypal.com", "api-m.paypal.com"),
        ("https://api-m.paypal.com:8443", "api-m.paypal.com:8443"),
        ("http://[::1]:8080", "[::1]:8080"),
        ("http://localhost", "localhost"),
    ],
)
def test_the_host_field(url: str, host: str) -> None:
    assert f"\r\nHost: {host}\r\n".encode() in _client(url)._request_bytes("GET", "/", None, {})


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer t\r\nX-Injected: 1"},
        {"Authorization": "Bearer t\n"},
        {"Authorization": "Bearer \x00"},
        {"Bad Name": "x"},
        {"Bad:Name": "x"},
        {"Authorization": "Bearer é"},
    ],
)
def test_no_line_can_be_injected(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="header") as caught:
        _client()._request_bytes("GET", "/", None, headers)
    assert "Injected" not in str(caught.value)


@pytest.mark.parametrize("path", ["/a b", "/a\r\nX: 1", "/é"])
def test_no_odd_path_is_sent(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        _client()._request_bytes("GET", path, None, {})


@pytest.fixture
def chunked_server() -> Iterator[str]:
    """Answers every request on a connection with a chunked JSON body, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            for _ in range(2):
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b'7\r\n{"id": \r\n5\r\n"X1"}\r\n0\r\n\r\n'
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    listener.close()
    thread.join(5)


def test_chunked_answers_on_a_kept_connection(chunked_server: str) -> None:
    client = _client(chunked_server)
    client._token = "t"
    client._token_refresh_at = float("inf")
    assert client.get_order("X1") == {"id": "X1"}
    assert client.get_order("X1") == {"id": "X1"}
    assert client.stats["connections"] == 1


def test_a_dropped_answer_is_an_unknown_outcome() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def drop() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)  # the request arrives; no answer comes back

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    client = _client(f"http://127.0.0.1:{port}")
    client._token = "t"
    client._token_refresh_at = float("inf")
    with pytest.raises(GatewayOutcomeUnknown):
        client.void_authorization("A1", request_id="r-1")
    listener.close()
    thread.join(5)
