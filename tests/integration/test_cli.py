"""The commands as a user runs them: a real `cardline serve` process, operators, ledger rebuild."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifacts import run
from tests.cards import MISTYPED_VISA, VISA, payment
from tests.conftest import Client
from tests.serve_process import CARDLINE, Served, clean_env

pytestmark = pytest.mark.slow


def _env(data_dir: Path) -> dict[str, str]:
    return clean_env({"CARDLINE_DATA_DIR": str(data_dir)})


@pytest.fixture
def serving(data_dir: Path, artifacts: Path) -> Iterator[Served]:
    """`cardline serve --port 0` on the test's data directory."""
    server = Served(data_dir, artifacts / f"serve-{data_dir.name}.log", _env(data_dir))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def served(serving: Served, data_dir: Path, artifacts: Path) -> tuple[str, str, Path]:
    """`cardline serve --port 0`: its URL, the key it printed, and its output file."""
    return serving.url, serving.key(), artifacts / f"serve-{data_dir.name}.log"


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
    added = run(
        [*CARDLINE, "operators", "add", "grace", "--data-dir", str(data_dir)],
        artifacts,
        env=_env(data_dir),
        check=True,
    )
    key = added.stdout
    assert key.startswith("cl_")
    assert key.count("\n") == 1
    stored = json.loads((data_dir / "operators.json").read_text())
    assert key.strip() not in json.dumps(stored)
    listed = run(
        [*CARDLINE, "operators", "list", "--data-dir", str(data_dir)],
        artifacts,
        env=_env(data_dir),
        check=True,
    )
    assert "grace" in listed.stdout
    assert "cl_" not in listed.stdout
    duplicate = run(
        [*CARDLINE, "operators", "add", "grace", "--data-dir", str(data_dir)],
        artifacts,
        env=_env(data_dir),
    )
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr


def _webhooks_settled(serving: Served, count: int) -> None:
    """Wait until the embedded emulator has delivered ``count`` webhook events (a 2xx each)
    to the `cardline serve` running."""
    deliveries = f"{serving.emulator_url()}/_emulator/webhooks/deliveries"
    deadline = time.monotonic() + 30  # a hang guard, not a bound on how fast
    while time.monotonic() < deadline:
        with urllib.request.urlopen(deliveries, timeout=10) as answer:
            attempts = json.load(answer)["deliveries"]
        if sum(1 for a in attempts if a["delivered"]) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the emulator delivered fewer than {count} events: {attempts}")


def test_ledger_rebuild_restores_a_deleted_ledger(
    serving: Served, served: tuple[str, str, Path], data_dir: Path, artifacts: Path
) -> None:
    url, key, _output = served
    client = Client(url, key, artifacts / "http-answers.log")
    for name in ("Ada Lovelace", "CCREJECT-IF"):
        assert client.pay(payment(VISA, name=name)).status == 201
    _webhooks_settled(serving, 2)  # each payment's webhook event updates its row
    served_items = client.request("GET", "/v1/payments").json()["items"]
    # The agent's name is the API's, told from operators.json; the ledger keeps the id.
    before = [{k: v for k, v in item.items() if k != "operator_name"} for item in served_items]
    rebuilt = run(
        [*CARDLINE, "ledger", "rebuild", "--data-dir", str(data_dir)],
        artifacts,
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
