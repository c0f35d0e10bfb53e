"""Concurrent agents against the local server and the emulator: no errors, one capture per
payment, every payment in the ledger. Latency and throughput are reported, never judged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.load import run_load

from tests.conftest import Running

pytestmark = pytest.mark.slow

CLIENTS = 8
PAYMENTS_EACH = 25
DEADLINE_S = 600.0


def test_concurrent_agents_take_every_payment_once(running: Running, artifacts: Path) -> None:
    emulator = running.stack.emulator
    assert emulator is not None
    # The deadline only bounds a run that hangs: every payment must be taken, however slow
    # the machine (latency and throughput are reported, never judged).
    result = run_load(
        running.url,
        running.key,
        clients=CLIENTS,
        payments_per_client=PAYMENTS_EACH,
        deadline_s=DEADLINE_S,
    )
    report = json.dumps(result.summary(), indent=2)
    (artifacts / "load-results.json").write_text(report + "\n")
    print(f"\nload: {report}")
    assert result.payments == CLIENTS * PAYMENTS_EACH
    assert result.errors == 0, result.statuses
    assert result.approved == CLIENTS * PAYMENTS_EACH
    assert len(set(result.payment_ids)) == result.approved
    assert emulator.capture_count() == result.approved
    for payment_id in result.payment_ids:
        row = running.stack.ledger.get_payment(payment_id)
        assert row is not None
        assert row["status"] == "approved"
