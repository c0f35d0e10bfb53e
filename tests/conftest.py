"""Fixtures shared by the suite: where artifacts go, a running local stack, a recording client."""

from __future__ import annotations

import http.client
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cardline.local import LocalStack, build_local


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Everything the suite writes that the leak scan must read (CARDLINE_TEST_ARTIFACTS)."""
    configured = os.environ.get("CARDLINE_TEST_ARTIFACTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


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
            out.write(f"{method} {path} -> {answer.status} {dict(answer.headers)}\n".encode())
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


@pytest.fixture
def running(data_dir: Path, artifacts: Path) -> Iterator[Running]:
    """`cardline serve`'s stack under waitress on a free port, with an operator key."""
    import waitress

    from cardline.http.wsgi import wsgi_app

    stack = build_local(data_dir, environ={})
    _operator, key = stack.operators.add("agent-test")
    server = waitress.create_server(wsgi_app(stack.app), host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"
    try:
        yield Running(stack, url, key, Client(url, key, artifacts / "http-answers.log"))
    finally:
        server.close()
        stack.close()
