"""A local stack whose PayPal client gives up quickly, and the invariants every fault keeps."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde.request_rules import payment_id_for
from cardline.sandbox import Emulator
from tests.conftest import Answer, Running, local_stack

# Per attempt; the client makes up to 4 attempts with jittered backoff.
CLIENT_TIMEOUT = "0.5"


@pytest.fixture
def fast(data_dir: Path, artifacts: Path) -> Iterator[Running]:
    """`cardline serve`'s stack with a 0.5 s PayPal timeout per attempt."""
    with local_stack(data_dir, artifacts, {"PAYPAL_TIMEOUT_SECONDS": CLIENT_TIMEOUT}) as stack:
        yield stack


def emulator_of(running: Running) -> Emulator:
    assert running.stack.emulator is not None
    return running.stack.emulator


def operator_id(running: Running) -> str:
    return running.stack.operators.list()[0].id


def captures_of(emulator: Emulator, payment_id: str) -> list[dict[str, Any]]:
    """Captures that moved money for one payment (its id is the order's invoice id)."""
    return [
        c
        for c in emulator.all_captures()
        if c.get("invoice_id") == payment_id and c["status"] not in ("DECLINED", "FAILED")
    ]


def assert_no_double_charge(emulator: Emulator) -> None:
    """At most one capture moving money per payment, i.e. per operator + Idempotency-Key."""
    per_payment = Counter(
        c.get("invoice_id")
        for c in emulator.all_captures()
        if c["status"] not in ("DECLINED", "FAILED")
    )
    assert [p for p, n in per_payment.items() if n > 1] == []


def assert_every_capture_in_ledger(running: Running) -> None:
    """Every capture PayPal holds is in the ledger, with its status."""
    ledger = running.stack.ledger
    for capture in emulator_of(running).all_captures():
        row = ledger.get_payment(capture["invoice_id"])
        assert row is not None, f"capture {capture['id']} is missing from the ledger"
        assert row["paypal_capture_id"] == capture["id"]
        expected = "declined" if capture["status"] == "DECLINED" else "approved"
        assert row["status"] == expected


def assert_truthful(answer: Answer, charged: bool) -> None:
    """What the agent hears matches what happened to the card."""
    if answer.status == 201:
        status = answer.json()["status"]
        assert status in (("approved", "pending") if charged else ("declined", "failed")), status
        return
    problem = answer.json()
    if charged:
        # Only "we don't know yet" is true of a charged card that got no receipt.
        assert (answer.status, problem["code"]) == (504, "outcome_unknown")
        assert "same Idempotency-Key" in problem["detail"]
    else:
        assert (answer.status, problem["code"]) in {
            (503, "gateway_unavailable"),
            (504, "outcome_unknown"),
        }


def record(artifacts: Path, scenario: str, answer: Answer, running: Running, key: str) -> None:
    """One line of the fault matrix's results (docs/reliability.md is written from them)."""
    payment_id = payment_id_for(operator_id(running), key)
    row = running.stack.ledger.get_payment(payment_id)
    body = answer.json()
    line = {
        "scenario": scenario,
        "answer": f"{answer.status} {body['code'] if answer.status >= 400 else body['status']}",
        "captures": len(captures_of(emulator_of(running), payment_id)),
        "ledger": row["status"] if row else None,
    }
    with open(artifacts / "fault-matrix.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
