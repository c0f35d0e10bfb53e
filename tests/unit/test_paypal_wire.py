"""The PayPal client on the wire (cardline.cde.paypal.client and .transport).

http.client writes every request and parses every answer; the client adds the deadline,
the byte budget, the pool and the checks that no field can inject a line. These pin what
goes out and how answers are taken, against raw servers on loopback.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from cardline.cde.errors import GatewayError, GatewayOutcomeUnknown
from cardline.cde.paypal import PayPalClient, PayPalConfig
from cardline.cde.paypal.transport import MAX_BODY
from tests.adversarial.hostile_paypal import Exchange, answer_with, hostile_paypal, json_answer


def _client(url: str = "http://127.0.0.1:8888") -> PayPalClient:
    return PayPalClient(PayPalConfig(url, "id", "secret", max_attempts=1))


def _sent(answer: bytes, call: str = "get") -> Exchange:
    """The request the client wrote for one call, answered with ``answer``."""
    with hostile_paypal(answer_with(answer)) as server:
        client = _client(server.base_url)
        try:
            if call == "get":
                client.get_order("ORD1")
            else:
                client.void_authorization("A1", request_id="r-1")
        except GatewayError:
            pass
        client.close()
    (exchange,) = server.api_requests()
    return exchange


def test_the_request_is_written_by_http_client() -> None:
    exchange = _sent(json_answer(200, {"id": "ORD1"}))
    assert (exchange.method, exchange.path) == ("GET", "/v2/checkout/orders/ORD1")
    assert exchange.headers["host"].startswith("127.0.0.1:")
    assert exchange.headers["accept-encoding"] == "identity"
    assert exchange.headers["authorization"] == "Bearer A21AAhostile"
    assert "content-length" not in exchange.headers
    posted = _sent(b"HTTP/1.1 204 No Content\r\n\r\n", call="post")
    assert posted.headers["content-length"] == "0"
    assert posted.headers["paypal-request-id"] == "r-1"


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
        _client()._target("/", headers)
    assert "Injected" not in str(caught.value)


@pytest.mark.parametrize("path", ["/a b", "/a\r\nX: 1", "/é"])
def test_no_odd_path_is_sent(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        _client()._target(path, {})


def test_an_oversize_body_is_not_read() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1)
    with hostile_paypal(answer_with(big + b"{}")) as server:
        client = _client(server.base_url)
        with pytest.raises(GatewayError, match="could not be read"):
            client.get_order("ORD1")
        with pytest.raises(GatewayOutcomeUnknown):
            client.void_authorization("A1", request_id="r-1")
        client.close()


def test_interim_continue_answers_are_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\n" + json_answer(200, {"id": "ORD1"})
    with hostile_paypal(answer_with(answer)) as server:
        client = _client(server.base_url)
        assert client.get_order("ORD1") == {"id": "ORD1"}
        client.close()


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


class _FakeConnection:
    """Stands in for a pooled connection: open (a socket) until closed."""

    def __init__(self) -> None:
        self.sock: socket.socket | None
        self.sock, self._peer = socket.socketpair()  # connected, and idle
        self.closed = False

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self._peer.close()
        self.sock = None
        self.closed = True


def test_the_pool_gives_each_concurrent_caller_its_own_connection_and_keeps_them() -> None:
    from cardline.cde.paypal.transport import Pool

    made: list[_FakeConnection] = []

    def make() -> _FakeConnection:
        made.append(_FakeConnection())
        return made[-1]

    pool = Pool(make, size=2)  # type: ignore[arg-type]
    first, second, third = pool.take(), pool.take(), pool.take()  # three callers at once
    assert len({id(first), id(second), id(third)}) == 3
    for connection in (first, second, third):
        pool.give_back(connection)  # type: ignore[arg-type]
    assert [c.closed for c in made] == [False, False, True]  # two kept idle, the third closed
    again = {id(pool.take()), id(pool.take())}
    assert again == {id(first), id(second)}  # reused: nothing new opened
    assert len(made) == 3
    for connection in made:
        connection.close()


def test_the_pool_drops_closed_and_peer_closed_connections() -> None:
    from cardline.cde.paypal.transport import Pool

    made: list[_FakeConnection] = []

    def make() -> _FakeConnection:
        made.append(_FakeConnection())
        return made[-1]

    pool = Pool(make, size=4)  # type: ignore[arg-type]
    closed = pool.take()
    closed.close()
    pool.give_back(closed)
    readable = _FakeConnection()
    readable._peer.sendall(b"junk")  # bytes waiting on an idle connection: the server gave up
    pool.give_back(readable)  # type: ignore[arg-type]
    fresh = pool.take()
    assert fresh is not readable
    assert fresh is not closed
    assert readable.closed
    for connection in made:
        connection.close()
