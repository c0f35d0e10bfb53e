"""Fixtures shared by the suite: where artifacts go, a running local stack, a recording client."""

from __future__ import annotations

import http.client
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cardline.cde.audit import mask_pans
from cardline.local import LocalStack, build_local, serve_in_background
from tests import seeded  # noqa: F401 - hypothesis draws the same examples every run
from tests.artifacts import pytest_runtest_logreport  # noqa: F401 - keeps each test's output
from tests.aws_support import aws, extension  # noqa: F401 - fixtures for tests/unit and tests/aws
from tests.raw_capture import FILE_NAME as RAW_LOG_FILE
from tests.raw_capture import RawCapture, strip_masking_filters
from tests.reference_docs import (  # noqa: F401 - with CI set, a missing document fails
    pytest_make_collect_report,
    pytest_runtest_makereport,
)
from tests.thread_guard import (  # noqa: F401 - a test leaving cardline's threads running fails
    _no_thread_left_by_a_module,
    _threads_started_by_a_test,
)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Everything the suite writes that the leak scan must read (CARDLINE_TEST_ARTIFACTS)."""
    configured = os.environ.get("CARDLINE_TEST_ARTIFACTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def raw_logs(artifacts: Path) -> Iterator[RawCapture]:
    """Every log record of the suite, written WITHOUT the PAN-masking filter to
    ``suite-logs.log`` in the artifacts: the leak scan then proves the code never logs card
    data, not merely that the filter masks it. On no logger, so no product code reaches it
    (tests/raw_capture.py)."""
    capture = RawCapture(artifacts / RAW_LOG_FILE)
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    capture.install()
    try:
        yield capture
    finally:
        capture.close()
        root.setLevel(previous)


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """No test leaves the root logger changed for the tests after it: its level back at
    DEBUG, and no masking filter left on pytest's handlers by a Lambda's first call."""
    yield
    logging.getLogger().setLevel(logging.DEBUG)
    strip_masking_filters()


@pytest.fixture
def raw_log(raw_logs: RawCapture) -> Iterator[list[str]]:
    """The raw capture's lines made during this test (every thread), unfiltered."""
    with raw_logs.tap() as lines:
        yield lines


@pytest.fixture
def planted_logs(raw_logs: RawCapture, tmp_path: Path) -> Iterator[Path]:
    """For a test that logs a card number on purpose: what its thread logs goes to this
    file (outside the artifacts) instead of the suite's raw log."""
    with raw_logs.planted(tmp_path / RAW_LOG_FILE) as path:
        yield path


@pytest.fixture
def data_dir(artifacts: Path, request: pytest.FixtureRequest) -> Path:
    """A fresh data directory under the artifacts, named for the test."""
    safe = "".join(c if c.isalnum() else "-" for c in request.node.name)[:80]
    path = artifacts / "data" / f"{safe}-{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True)
    return path


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage  # case-insensitive, as HTTP header names are
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """An HTTP client over loopback that records every answer for the leak scan."""

    def __init__(self, url: str, key: str | None, record: Path) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.key = key
        self.record = record
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        idempotency_key: str | None = None,
        auth: bool = True,
    ) -> Answer:
        sent: dict[str, str] = {}
        if auth and self.key:
            sent["Authorization"] = f"Bearer {self.key}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if idempotency_key is not None:
            sent["Idempotency-Key"] = idempotency_key
        sent.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        with self._lock, open(self.record, "ab") as out:
            # The request line is the test's own words: masked, so the scan judges the answer.
            line = f"{method} {mask_pans(path)} -> {answer.status} {dict(answer.headers)}\n"
            out.write(line.encode())
            out.write(answer.body + b"\n")
        return answer

    def pay(self, body: Any, key: str | None = None) -> Answer:
        return self.request("POST", "/v1/payments", body, idempotency_key=key or str(uuid.uuid4()))


@dataclass
class Running:
    stack: LocalStack
    url: str
    key: str
    client: Client


@contextmanager
def local_stack(
    data_dir: Path, artifacts: Path, environ: dict[str, str] | None = None
) -> Iterator[Running]:
    """`cardline serve`'s stack under waitress on a free port, with the key of a
    supervisor (who may call every route; tests/integration/test_roles.py adds agents)."""
    stack = build_local(data_dir, environ=environ or {})
    _operator, key = stack.operators.add("agent-test", role="supervisor")
    server = serve_in_background(stack.app)
    try:
        yield Running(
            stack, server.url, key, Client(server.url, key, artifacts / "http-answers.log")
        )
    finally:
        server.stop()
        stack.close()


@pytest.fixture
def running(data_dir: Path, artifacts: Path) -> Iterator[Running]:
    with local_stack(data_dir, artifacts) as stack:
        yield stack
