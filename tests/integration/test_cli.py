"""The commands as a user runs them: a real `cardline serve` process, operators, ledger rebuild."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cards import MISTYPED_VISA, VISA, payment
from tests.conftest import Client

pytestmark = pytest.mark.slow

CARDLINE = [sys.executable, "-m", "cardline.cli"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYPAL_")}
    env["CARDLINE_DATA_DIR"] = str(data_dir)
    return env


@pytest.fixture
def served(data_dir: Path, artifacts: Path) -> Iterator[tuple[str, str, Path]]:
    """`cardline serve --port 0`: yields its URL, the key it printed, and its output file."""
    output = artifacts / f"serve-{data_dir.name}.log"
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [*CARDLINE, "serve", "--port", "0", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=sink,
            env=_env(data_dir),
        )
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(t.strip().startswith("cl_") for t in lines):
            line = process.stdout.readline().decode()
            if not line:
                break
            lines.append(line)
        try:
            url = next(t.split()[-1] for t in lines if "listening on" in t)
            key = next(t.strip() for t in lines if t.strip().startswith("cl_"))
            yield url, key, output
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            sink.write("".join(lines).encode() + process.stdout.read())


def test_serve_prints_url_and_first_operator_key_then_takes_payments(
    served: tuple[str, str, Path], artifacts: Path
) -> None:
    url, key, _output = served
    client = Client(url, key, artifacts / "http-answers.log")
    assert client.request("GET", "/health", auth=False).json()["paypal"] == "emulator"
    approved = client.pay(payment(VISA))
    assert approved.status == 201
    assert approved.json()["status"] == "approved"
    assert client.pay(payment(MISTYPED_VISA)).status == 422
    assert client.request("GET", "/v1/payments").json()["items"][0]["last4"] == "1881"


def test_operators_add_prints_the_key_alone_and_it_works(data_dir: Path, artifacts: Path) -> None:
    added = subprocess.run(
        [*CARDLINE, "operators", "add", "grace", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=_env(data_dir),
        check=True,
    )
    key = added.stdout
    assert key.startswith("cl_")
    assert key.count("\n") == 1
    stored = json.loads((data_dir / "operators.json").read_text())
    assert key.strip() not in json.dumps(stored)
    listed = subprocess.run(
        [*CARDLINE, "operators", "list", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=_env(data_dir),
        check=True,
    )
    assert "grace" in listed.stdout
    assert "cl_" not in listed.stdout
    duplicate = subprocess.run(
        [*CARDLINE, "operators", "add", "grace", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=_env(data_dir),
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr


def test_ledger_rebuild_restores_a_deleted_ledger(
    served: tuple[str, str, Path], data_dir: Path, artifacts: Path
) -> None:
    url, key, _output = served
    client = Client(url, key, artifacts / "http-answers.log")
    for name in ("Ada Lovelace", "CCREJECT-IF"):
        assert client.pay(payment(VISA, name=name)).status == 201
    before = client.request("GET", "/v1/payments").json()["items"]
    rebuilt = subprocess.run(
        [*CARDLINE, "ledger", "rebuild", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=_env(data_dir),
        check=True,
    )
    assert "events applied" in rebuilt.stdout
    from cardline.ledger.sqlite import SqliteLedger

    ledger = SqliteLedger(data_dir / "ledger.sqlite3")
    try:
        assert ledger.list_payments().items == before
    finally:
        ledger.close()
