"""Finding 9 (third part): a damaged SQLite file never stops `cardline serve`.

The ledger is a view of the audit log: a damaged one is moved aside (kept, never deleted)
and rebuilt from the log, with a message saying so. The IVR sessions database, which
holds nothing the audit log lacks for payments, is moved aside and started afresh.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from cardline.ivr.sessions import SESSIONS_FILE
from cardline.local import LEDGER_FILE
from tests.cards import VISA, payment
from tests.conftest import Client
from tests.serve_process import Served

pytestmark = pytest.mark.slow

PAGE = 4096  # SQLite's default page size


def _garbage_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = random.Random(9).randbytes(100)
    path.write_bytes(bytes(data))


def _damaged_page(path: Path) -> None:
    """The header intact, a b-tree page of the payments table overwritten."""
    data = bytearray(path.read_bytes())
    assert len(data) >= 3 * PAGE
    data[PAGE : len(data)] = random.Random(11).randbytes(len(data) - PAGE)
    path.write_bytes(bytes(data))


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: PAGE + PAGE // 2])


def _zero_length(path: Path) -> None:
    path.write_bytes(b"")


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "something").write_text("a file an operator left here")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage-header": _garbage_header,
    "damaged-page": _damaged_page,
    "truncated": _truncated,
    "zero-length": _zero_length,
    "directory": _directory,
}


def _served(data_dir: Path, artifacts: Path, label: str) -> Served:
    return Served(data_dir, artifacts / f"serve-{label}-{data_dir.name}.log")


def _aside(data_dir: Path, name: str) -> list[Path]:
    """What the server moved aside instead of deleting."""
    return sorted(p for p in data_dir.iterdir() if p.name.startswith(name + ".damaged"))


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_serve_rebuilds_a_damaged_ledger_from_the_audit_log(
    data_dir: Path, artifacts: Path, damage: str
) -> None:
    first = _served(data_dir, artifacts, "first")
    key = first.key()
    try:
        client = Client(first.url, key, artifacts / "http-answers.log")
        paid = [client.pay(payment(VISA, amount=f"{n}.00")).json()["id"] for n in (3, 4, 5)]
    finally:
        first.stop()
    ledger = data_dir / LEDGER_FILE
    for suffix in ("-wal", "-shm"):
        Path(str(ledger) + suffix).unlink(missing_ok=True)
    before = ledger.read_bytes()
    DAMAGE[damage](ledger)
    damaged = ledger.read_bytes() if ledger.is_file() else None

    log = artifacts / f"serve-damaged-{data_dir.name}.log"
    second = Served(data_dir, log)
    try:
        client = Client(second.url, key, artifacts / "http-answers.log")
        for payment_id in paid:
            found = client.request("GET", f"/v1/payments/{payment_id}")
            assert found.status == 200, found.body
            assert found.json()["status"] == "approved"
        assert client.pay(payment(VISA)).status == 201
    finally:
        second.stop()
    said = log.read_text()
    assert "Traceback" not in said
    if damage == "zero-length":
        return  # an empty file is an empty database: the usual replay fills it
    assert "rebuilt from the audit log" in said
    aside = _aside(data_dir, LEDGER_FILE)
    assert aside, "the damaged ledger was deleted instead of moved aside"
    assert str(aside[0].name) in said
    if damaged is not None:
        assert aside[0].read_bytes() == damaged
    else:
        assert (aside[0] / "something").is_file()
    assert before != damaged


def test_serve_moves_a_damaged_ivr_sessions_database_aside(data_dir: Path, artifacts: Path) -> None:
    (data_dir / SESSIONS_FILE).write_bytes(b"SQLite format 3\x00" + random.Random(3).randbytes(900))
    log = artifacts / f"serve-sessions-{data_dir.name}.log"
    served = Served(data_dir, log)
    try:
        client = Client(served.url, served.key(), artifacts / "http-answers.log")
        created = client.request(
            "POST",
            "/v1/ivr/sessions",
            {
                "contact_id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
                "amount": "10.00",
                "currency": "USD",
                "cardholder_name": "Ada Lovelace",
            },
        )
        assert created.status == 201, created.body
        session_id = created.json()["id"]
        assert client.request("GET", f"/v1/ivr/sessions/{session_id}").status == 200
    finally:
        served.stop()
    said = log.read_text()
    assert "Traceback" not in said
    aside = _aside(data_dir, SESSIONS_FILE)
    assert aside
    assert aside[0].name in said


def test_a_damaged_ledger_is_kept_even_when_one_was_moved_aside_before(
    data_dir: Path, artifacts: Path
) -> None:
    first = _served(data_dir, artifacts, "first")
    try:
        Client(first.url, first.key(), artifacts / "http-answers.log").pay(payment(VISA))
    finally:
        first.stop()
    ledger = data_dir / LEDGER_FILE
    copies = []
    for round_ in range(2):
        ledger.write_bytes(b"not a database, round %d" % round_ + b"\x00" * 200)
        copies.append(ledger.read_bytes())
        served = _served(data_dir, artifacts, f"round-{round_}")
        served.stop()
    kept = sorted(p.read_bytes() for p in _aside(data_dir, LEDGER_FILE))
    assert kept == sorted(copies)
