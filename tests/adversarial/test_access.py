"""Finding 10: access. Bad keys from a shared address must never lock valid keys out,
rotating addresses must not escape the throttle, an unauthenticated flood must not cost a
synced audit line and a ledger row per request, a huge body must be refused before it is
read, idle connections must not starve /health, and waitress's own error pages must
neither echo what they were sent nor lack the security headers."""

from __future__ import annotations

import json
import math
import os
import select
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.errors import AuthenticationFailed
from cardline.cde.http.app import App, Call, Caller, Route
from cardline.cde.http.messages import Request, Response, json_response
from cardline.cde.http.throttle import FailureThrottle
from cardline.cde.roles import AGENT
from cardline.local import AUDIT_FILE, LEDGER_FILE, LocalStack, build_local
from tests.cards import TEST_PANS, VISA
from tests.conftest import Running
from tests.serve_process import Served

GOOD = "Bearer cl_the-one-good-key"
SECURITY_HEADERS = {
    "strict-transport-security": "max-age=",
    "x-content-type-options": "nosniff",
    "content-security-policy": "frame-ancestors 'none'",
    "cache-control": "no-store",
}


class FakeTime:
    """A monotonic clock and a sleep that only moves it: delays are measured, not waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Keys:
    """One valid key; everything else fails as the operator store fails it."""

    def authenticate(self, request: Request) -> Caller:
        if request.header("authorization") == GOOD:
            return Caller("op_good", AGENT)
        raise AuthenticationFailed("The operator key is not valid")


class Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


def _ok(call: Call) -> Response:
    return json_response(200, {"operator": call.operator})


def _app(fake: FakeTime, events: Events) -> App:
    throttle = FailureThrottle(clock=fake.clock, sleep=fake.sleep)
    return _throttled(events, throttle)


def _throttled(events: Events, throttle: FailureThrottle) -> App:
    """An App slowing failures by ``throttle``, each failure audited at once (no flusher
    thread: the throttle, not the aggregation, is under test)."""
    from cardline.cde.http.failure_audit import EachFailure

    routes = [Route("GET", "/v1/payments", _ok, role=AGENT)]
    return App(routes, Keys(), events, throttle=throttle, failures=EachFailure(events))


def _get(app: App, source: str, key: str | None) -> Response:
    headers = {} if key is None else {"authorization": key}
    return app.handle(Request("GET", "/v1/payments", headers=headers, source_ip=source))


def test_bad_keys_behind_a_shared_nat_never_lock_out_a_valid_key() -> None:
    from cardline.cde.http.throttle import MAX_DELAY

    fake, events = FakeTime(), Events()
    app = _app(fake, events)
    nat = "203.0.113.7"  # the call centre: every agent leaves through this address
    for n in range(50):
        assert _get(app, nat, f"Bearer cl_wrong-{n}").status == 401
        before = len(fake.slept)
        good = _get(app, nat, GOOD)
        assert good.status == 200, n
        assert len(fake.slept) == before  # the valid key waited for nothing
    # The failures themselves were slowed, more and more, never beyond the bound.
    assert fake.slept
    assert fake.slept == sorted(fake.slept)
    assert max(fake.slept) == MAX_DELAY


def test_rotating_source_addresses_are_slowed_by_the_global_budget() -> None:
    from cardline.cde.http.throttle import MAX_DELAY

    fake, events = FakeTime(), Events()
    app = _app(fake, events)
    for n in range(2000):
        # Each guess from an address never seen before: no per-address budget is spent.
        assert _get(app, f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", "Bearer x").status == 401
    assert fake.slept
    assert max(fake.slept) == MAX_DELAY
    before = len(fake.slept)
    assert _get(app, "198.51.100.1", GOOD).status == 200
    assert len(fake.slept) == before


def test_failing_requests_never_hold_every_worker() -> None:
    """While failing requests wait out their delays, more failures are answered at once
    (429) instead of taking more threads, and a valid key goes straight through."""
    from cardline.cde.http.throttle import FREE_PER_SOURCE, MAX_WAITING

    release = threading.Event()
    waiting = threading.Semaphore(0)

    def sleep(seconds: float) -> None:
        waiting.release()
        release.wait(30)

    now = [1000.0]
    throttle = FailureThrottle(clock=lambda: now[0], sleep=sleep)
    app = _throttled(Events(), throttle)
    source = "192.0.2.50"
    for _ in range(FREE_PER_SOURCE):  # spend the free failures: the next ones are delayed
        assert _get(app, source, "Bearer spent").status == 401
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(_get(app, source, "Bearer y").status))
        for _ in range(MAX_WAITING)
    ]
    for thread in threads:
        thread.start()
    for _ in range(MAX_WAITING):
        assert waiting.acquire(timeout=30)
    try:
        extra = _get(app, source, "Bearer z")
        assert extra.status == 429
        assert int(extra.headers["Retry-After"]) >= 1
        assert _get(app, source, GOOD).status == 200
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert answers == [401] * MAX_WAITING


@pytest.fixture
def stack(data_dir: Path) -> Iterator[LocalStack]:
    built = build_local(data_dir, environ={})
    try:
        yield built
    finally:
        built.close()


def _failures(data_dir: Path) -> list[audit.AuditEvent]:
    events = audit.read_events(data_dir / AUDIT_FILE)
    return [e for e in events if e.type == audit.AUTH_FAILURE]


def _ledger_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / LEDGER_FILE) as db:
        return int(db.execute("SELECT COUNT(*) FROM applied_events").fetchone()[0])


def test_an_unauthenticated_flood_costs_audit_lines_per_interval_not_per_request(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs = [0]
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        syncs[0] += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    rows_before = _ledger_rows(stack.data_dir)
    started = time.monotonic()
    for n in range(10_000):
        # Half from one address, half from addresses never seen before.
        source = "192.0.2.1" if n % 2 else f"10.9.{n // 256 % 256}.{n % 256}"
        answer = stack.app.handle(Request("GET", "/v1/payments", source_ip=source))
        assert answer.status == 401
    elapsed = time.monotonic() - started
    # Before any flush: at most one line a second from the one busy address.
    written = [e for e in _failures(stack.data_dir) if e.origin == "192.0.2.1"]
    assert len(written) <= math.ceil(elapsed) + 1
    assert syncs[0] <= 2 * (math.ceil(elapsed) + 1)

    from cardline.cde.http.failure_audit import INTERVAL_SECONDS, MAX_GROUPS

    intervals = math.ceil(elapsed / INTERVAL_SECONDS) + 1
    stack.app.flush()
    bound = intervals * (MAX_GROUPS + 1)
    failures = _failures(stack.data_dir)
    assert len(failures) <= bound
    assert syncs[0] <= bound
    assert _ledger_rows(stack.data_dir) - rows_before <= bound
    # Nothing lost: every attempt is counted, with who, what and when.
    assert sum(e.details["count"] for e in failures) == 10_000
    single = [e for e in failures if e.origin == "192.0.2.1"]
    assert sum(e.details["count"] for e in single) == 5_000
    shared = [e for e in failures if e.origin == "*"]  # the addresses past MAX_GROUPS
    assert shared
    assert all(0 < len(e.details["sample"]) <= e.details["sources"] for e in shared)
    for event in failures:
        assert event.outcome == "failure"
        assert event.details["routes"] == {"GET /v1/payments": event.details["count"]}
        assert event.details["first"] <= event.details["last"]


def test_aggregated_failures_are_written_at_interval_end_and_on_flush() -> None:
    from cardline.cde.http.failure_audit import AggregatedFailures

    now = [0.0]
    events = Events()
    failures = AggregatedFailures(events, interval=60.0, clock=lambda: now[0], background=False)
    failures.record("192.0.2.1", "GET /v1/payments", "The operator key is not valid")
    now[0] = 30.0
    failures.record("192.0.2.1", "POST /v1/payments", "The operator key is not valid")
    failures.record("192.0.2.2", "GET /v1/payments", "Send an operator key")
    now[0] = 59.0
    failures.flush_due()
    assert events.events == []
    now[0] = 60.0
    failures.flush_due()
    assert [(e.origin, e.details["count"]) for e in events.events] == [("192.0.2.1", 2)]
    assert events.events[0].details["routes"] == {"GET /v1/payments": 1, "POST /v1/payments": 1}
    failures.flush()
    assert [(e.origin, e.details["count"]) for e in events.events[1:]] == [("192.0.2.2", 1)]
    failures.flush()
    assert len(events.events) == 2


def test_closing_aggregated_failures_writes_what_it_held_and_ends_its_thread() -> None:
    """Nothing held back outlives its App: close() writes every group and waits for the
    flusher, and a failure reported after it (a request still being answered) is written
    at once instead of starting another flusher."""
    from cardline.cde.http.failure_audit import AggregatedFailures

    events = Events()
    failures = AggregatedFailures(events)  # the flusher thread, the default interval
    before = set(threading.enumerate())
    failures.record("192.0.2.1", "GET /v1/payments", "The operator key is not valid")
    flusher = set(threading.enumerate()) - before
    assert flusher
    failures.close()
    assert not any(thread.is_alive() for thread in flusher)
    assert [(e.origin, e.details["count"]) for e in events.events] == [("192.0.2.1", 1)]
    failures.record("192.0.2.2", "GET /v1/payments", "Send an operator key")
    assert set(threading.enumerate()) - before == set()
    assert [(e.origin, e.details["count"]) for e in events.events[1:]] == [("192.0.2.2", 1)]


def test_the_lambda_hosts_write_each_failure_at_once_in_the_same_shape() -> None:
    from cardline.cde.http.failure_audit import EachFailure

    events = Events()
    EachFailure(events).record("192.0.2.3", "GET /v1/payments", "No identity", delay=0.0)
    assert len(events.events) == 1
    assert events.events[0].origin == "192.0.2.3"
    assert events.events[0].details["count"] == 1
    assert events.events[0].details["routes"] == {"GET /v1/payments": 1}


def test_no_aggregated_failure_is_lost_when_serve_is_stopped(
    data_dir: Path, tmp_path: Path
) -> None:
    served = Served(data_dir, tmp_path / "serve.log")
    try:
        host, _, port = served.url.removeprefix("http://").partition(":")
        for n in range(25):
            auth = b"Authorization: Bearer nope\r\n" if n < 3 else b""
            answer = _exchange(
                (host, int(port)),
                b"GET /v1/payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + b"\r\n",
            )
            assert answer.startswith(b"HTTP/1.1 401"), answer[:40]
    finally:
        served.stop(signal.SIGTERM)
    assert served.process.returncode == 0
    assert sum(e.details.get("count", 1) for e in _failures(data_dir)) == 25


# ------------------------------------------------------------------ over the wire


def _exchange(address: tuple[str, int], head: bytes) -> bytes:
    """One request without a body; the whole answer."""
    answer, _sent = _exchange_counting(address, head, iter(()))
    return answer


def _exchange_counting(
    address: tuple[str, int], head: bytes, body: Iterator[bytes]
) -> tuple[bytes, int]:
    """Send ``head`` then ``body`` pieces while the server reads them, stop sending as soon
    as an answer is readable; the whole answer (what arrived before any reset) and how many
    body bytes were sent before it."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.setblocking(False)
        pending, sent = head, 0
        while True:
            if not pending:
                pending = next(body, b"")
                if not pending:
                    break
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                break
            if not writable:
                raise AssertionError("the server neither reads nor answers")
            try:
                n = sock.send(pending)
            except (BlockingIOError, InterruptedError):
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += n
            pending = pending[n:]
        sock.setblocking(True)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks), sent - len(head)


def _address(running: Running) -> tuple[str, int]:
    host, _, port = running.url.removeprefix("http://").partition(":")
    return host, int(port)


def _record(running: Running, answer: bytes) -> None:
    with open(running.client.record, "ab") as out:  # the leak scan reads every answer
        out.write(answer + b"\n")


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


BIG = 200 * 1024 * 1024
PIECE = b" " * (1024 * 1024)


def _pieces(total: int, piece: bytes) -> Iterator[bytes]:
    for _ in range(total // len(piece)):
        yield piece


def _chunks(total: int) -> Iterator[bytes]:
    for piece in _pieces(total, PIECE):
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


@pytest.mark.slow
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_huge_body_is_refused_before_it_is_read(running: Running, framing: str) -> None:
    base = (
        b"POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + running.key.encode() + b"\r\nIdempotency-Key: big\r\n"
        b"Connection: close\r\n"
    )
    if framing == "chunked":
        head = base + b"Transfer-Encoding: chunked\r\n\r\n"
        body = _chunks(BIG)
    else:
        head = base + b"Content-Length: %d\r\n\r\n" % BIG
        body = _pieces(BIG, PIECE)
    answer, sent = _exchange_counting(_address(running), head, body)
    _record(running, answer)
    status, _headers, content = _parse(answer)
    assert status == 413
    assert json.loads(content)["code"] == "payload_too_large"
    # A tiny body is sent whole before its answer (ratio 1); this one must be answered
    # before the server could have read it.
    tiny = b'{"amount": "1.00"}'
    tiny_answer, tiny_sent = _exchange_counting(
        _address(running), base + b"Content-Length: %d\r\n\r\n" % len(tiny), iter([tiny])
    )
    _record(running, tiny_answer)
    assert tiny_sent / len(tiny) == 1
    assert sent / BIG < tiny_sent / len(tiny)
    assert running.stack.emulator is not None
    assert running.stack.emulator.stats()["orders"] == 0


@pytest.mark.slow
def test_idle_connections_do_not_starve_health(running: Running) -> None:
    idle: list[socket.socket] = []
    try:
        for n in range(120):
            sock = socket.create_connection(_address(running), timeout=10)
            if n % 2:
                sock.sendall(b"GET /health HTTP/1.1\r\nHo")  # a request never finished
            idle.append(sock)
        answer = running.client.request("GET", "/health", auth=False)
        assert answer.status == 200
    finally:
        for sock in idle:
            sock.close()


def _windows(number: str, size: int = 6) -> set[str]:
    return {number[i : i + size] for i in range(len(number) - size + 1)}


HOSTILE = {
    "header line without a colon": b"GET / HTTP/1.1\r\nHost: x\r\n%(pan)s\r\n\r\n",
    "method": b"%(pan)s / HTTP/1.1\r\nHost: x\r\n\r\n",
    "start line": b"GET /%(pan)s HTTP/1.1 %(pan)s\r\nHost: x\r\n\r\n",
    "content-length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %(pan)sx\r\n\r\n",
    "huge content-length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %(pan)s\r\n\r\n",
    "transfer-encoding": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x%(pan)s\r\n\r\n",
    "chunk size": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"%(pan)sZ\r\nab\r\n0\r\n\r\n",
    "bare cr": b"GET / HTTP/1.1\r\nHost: x\r\nX-Card: %(pan)s\rX: y\r\n\r\n",
    "headers too large": b"GET / HTTP/1.1\r\nHost: x\r\n"
    + b"X-Card: %(pan)s\r\n" * 20_000
    + b"\r\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("request_text", HOSTILE.values(), ids=HOSTILE.keys())
def test_waitress_error_pages_echo_nothing_and_carry_the_security_headers(
    running: Running, request_text: bytes
) -> None:
    text = request_text % {b"pan": VISA.encode()}
    first, _, rest = text.partition(b"\r\n")
    answer = _exchange(_address(running), first + b"\r\nConnection: close\r\n" + rest)
    _record(running, answer)
    status, headers, body = _parse(answer)
    assert 400 <= status < 600
    for name, part in SECURITY_HEADERS.items():
        assert part in headers.get(name, ""), name
    assert headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    assert problem["code"]
    shown = answer.decode("latin-1")
    assert not audit.contains_pan(shown)
    for number in TEST_PANS:
        assert not any(window in shown for window in _windows(number)), number
