"""The fault matrix: PayPal misbehaving under a real local server, against the emulator.

For every fault: at most one capture per Idempotency-Key, every capture PayPal holds ends
up in the ledger (at once, after a retry with the same key, or after `cardline
reconcile`), and the agent is told the truth: approved, or "outcome unknown, retry with
the same key" — never declined or "nothing charged" for a card that was charged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cardline.cde.request_rules import payment_id_for
from cardline.sandbox import Fault
from tests.artifacts import run
from tests.cards import VISA, payment
from tests.conftest import Answer, Running
from tests.faults.conftest import (
    assert_every_capture_in_ledger,
    assert_no_double_charge,
    assert_truthful,
    captures_of,
    emulator_of,
    operator_id,
    record,
)
from tests.seeded import unique

pytestmark = pytest.mark.slow

ORDERS = "/v2/checkout/orders"


def _order_fault(kind: str, times: int = 1, **fields: object) -> Fault:
    return Fault(kind, path_prefix=ORDERS, method="POST", times=times, **fields)  # type: ignore[arg-type]


# Faults the client rides out within one call (it retries with the same PayPal-Request-Id).
RIDDEN_OUT = {
    "slow (0.2 s, under the timeout)": [_order_fault("delay", delay=0.2)],
    "timeout before the charge is recorded (dropped unprocessed)": [_order_fault("drop_before")],
    "timeout after the charge is recorded (answer lost)": [_order_fault("drop_after")],
    "slower than the client timeout (1.2 s > 0.5 s)": [_order_fault("delay", delay=1.2)],
    "HTTP 500": [_order_fault("status", status=500)],
    "HTTP 502": [_order_fault("status", status=502)],
    "HTTP 503": [_order_fault("status", status=503)],
    "HTTP 504": [_order_fault("status", status=504)],
    "HTTP 429 with Retry-After: 1": [_order_fault("status", status=429, retry_after=1)],
    "connection reset (TCP RST)": [_order_fault("reset")],
    "HTTP 409 PREVIOUS_REQUEST_IN_PROGRESS": [
        _order_fault("status", status=409, issue="PREVIOUS_REQUEST_IN_PROGRESS")
    ],
    "token endpoint 503, then answer lost": [
        Fault("status", path_prefix="/v1/oauth2/token", status=503),
        _order_fault("drop_after"),
    ],
}


@pytest.mark.parametrize("scenario", sorted(RIDDEN_OUT))
def test_faults_the_client_rides_out_charge_once_and_answer_approved(
    fast: Running, artifacts: Path, scenario: str
) -> None:
    emulator = emulator_of(fast)
    for fault in RIDDEN_OUT[scenario]:
        emulator.inject(fault)
    key = unique("ridden-")
    answer = fast.client.pay(payment(VISA), key=key)
    record(artifacts, scenario, answer, fast, key)
    assert answer.status == 201, answer.body
    assert answer.json()["status"] == "approved"
    assert len(captures_of(emulator, answer.json()["id"])) == 1
    assert_truthful(answer, charged=True)
    assert_no_double_charge(emulator)
    assert_every_capture_in_ledger(fast)
    assert emulator._faults.pending() == []  # every injected fault was actually hit


# Faults that outlast every attempt: (faults, whether PayPal charged the card).
EXHAUSTING = {
    "answer lost on every attempt": ([_order_fault("drop_after", times=4)], True),
    "slower than the client timeout on every attempt": (
        [_order_fault("delay", times=4, delay=1.0)],
        True,
    ),
    "malformed JSON answer": ([_order_fault("malformed_json")], True),
    "connection reset on every attempt": ([_order_fault("reset", times=4)], False),
    "HTTP 503 on every attempt": ([_order_fault("status", times=4, status=503)], False),
    "HTTP 429 on every attempt": ([_order_fault("status", times=4, status=429)], False),
}


def _reconcile(running: Running, artifacts: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`cardline reconcile` as an operator runs it, pointed at the emulator."""
    emulator = emulator_of(running)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYPAL_")}
    env.update(
        PAYPAL_BASE_URL=emulator.base_url,
        PAYPAL_CLIENT_ID=emulator.client_id,
        PAYPAL_CLIENT_SECRET=emulator.client_secret,
    )
    return run(
        [
            *(sys.executable, "-m", "cardline.cli", "reconcile", "--since", "1h"),
            *("--data-dir", str(running.stack.data_dir), *extra),
        ],
        artifacts,
        env=env,
        timeout=60,
        check=True,
    )


@pytest.mark.parametrize("resolution", ["retry with the same key", "reconcile"])
@pytest.mark.parametrize("scenario", sorted(EXHAUSTING))
def test_faults_outlasting_the_retries_end_truthful_and_recoverable(
    fast: Running, artifacts: Path, scenario: str, resolution: str
) -> None:
    emulator = emulator_of(fast)
    faults, charged = EXHAUSTING[scenario]
    for fault in faults:
        emulator.inject(fault)
    key = unique("exhausted-")
    payment_id = payment_id_for(operator_id(fast), key)
    first = fast.client.pay(payment(VISA), key=key)
    emulator.clear_faults()
    assert first.status in (503, 504), first.body
    assert_truthful(first, charged=charged)
    if charged:
        # Slow answers may still be on their way: wait for PayPal to finish its one capture.
        assert _eventually(lambda: len(captures_of(emulator, payment_id)) == 1)
    assert len(captures_of(emulator, payment_id)) == (1 if charged else 0)
    row = fast.stack.ledger.get_payment(payment_id)
    assert row is not None
    assert row["status"] == ("unknown" if first.status == 504 else "failed")
    record(artifacts, f"{scenario}: first answer", first, fast, key)

    if resolution == "reconcile":
        output = _reconcile(fast, artifacts).stdout
        row = fast.stack.ledger.get_payment(payment_id)
        assert row is not None
        if charged:
            assert f"{payment_id}\tstatus\tledger=unknown\tpaypal=approved\trepaired" in output
            assert row["status"] == "approved"
        else:
            # PayPal lists payments up to 3 hours late: nothing is concluded yet.
            assert row["status"] == ("unknown" if first.status == 504 else "failed")
        record(artifacts, f"{scenario}: after reconcile", first, fast, key)
    else:
        again = fast.client.pay(payment(VISA), key=key)
        assert again.status == 201, again.body
        assert again.json()["status"] == "approved"
        assert again.json()["id"] == payment_id
        record(artifacts, f"{scenario}: retry with the same key", again, fast, key)
    assert len(captures_of(emulator, payment_id)) <= 1
    assert_no_double_charge(emulator)
    assert_every_capture_in_ledger(fast)


def _eventually(check: object, seconds: float = 5.0) -> bool:
    import time

    assert callable(check)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return bool(check())


def test_a_decline_under_faults_stays_a_decline_and_charges_nothing(
    fast: Running, artifacts: Path
) -> None:
    emulator = emulator_of(fast)
    emulator.inject(_order_fault("drop_after"))
    key = unique("decline-")
    answer = fast.client.pay(payment(VISA, name="CCREJECT-IF"), key=key)
    record(artifacts, "decline, answer lost once", answer, fast, key)
    assert answer.status == 201
    assert answer.json()["status"] == "declined"
    assert captures_of(emulator, answer.json()["id"]) == []
    assert_every_capture_in_ledger(fast)


def test_token_expiring_mid_run_is_refreshed_once(fast: Running, artifacts: Path) -> None:
    emulator = emulator_of(fast)
    assert fast.client.pay(payment(VISA)).status == 201
    tokens = emulator.stats()["token_requests"]
    emulator.expire_tokens()
    key = unique("token-")
    answer = fast.client.pay(payment(VISA), key=key)
    record(artifacts, "token expired mid-run", answer, fast, key)
    assert answer.status == 201
    assert answer.json()["status"] == "approved"
    assert emulator.stats()["token_requests"] == tokens + 1
    assert_no_double_charge(emulator)
    assert_every_capture_in_ledger(fast)


def test_a_double_click_sends_two_requests_and_charges_once(fast: Running, artifacts: Path) -> None:
    emulator = emulator_of(fast)
    emulator.inject(_order_fault("delay", times=2, delay=0.3))
    key = unique("double-")
    answers: list[Answer] = []
    clicks = [
        threading.Thread(target=lambda: answers.append(fast.client.pay(payment(VISA), key=key)))
        for _ in range(2)
    ]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join(timeout=30)
    assert [a.status for a in answers] == [201, 201]
    assert {a.json()["id"] for a in answers} == {payment_id_for(operator_id(fast), key)}
    assert {a.json()["paypal_capture_id"] for a in answers} != {None}
    assert len({a.json()["paypal_capture_id"] for a in answers}) == 1
    record(artifacts, "double click (two concurrent requests, one key)", answers[0], fast, key)
    assert_no_double_charge(emulator)
    assert_every_capture_in_ledger(fast)


def test_a_retry_after_paypal_forgot_the_request_id_finds_the_first_payment(
    fast: Running, artifacts: Path
) -> None:
    """Past PayPal's 6-hour request-id window the invoice id (our payment id) still guards:
    PayPal refuses a duplicate invoice, and the charge looks the first payment up."""
    emulator = emulator_of(fast)
    key = unique("window-")
    first = fast.client.pay(payment(VISA), key=key)
    assert first.status == 201
    emulator.expire_request_ids()
    again = fast.client.pay(payment(VISA), key=key)
    record(artifacts, "retry after the request-id window", again, fast, key)
    assert again.status == 201, again.body
    assert again.json() == first.json()
    assert len(captures_of(emulator, first.json()["id"])) == 1
    assert_no_double_charge(emulator)


def test_a_lost_answer_retried_after_the_window_finds_the_payment(
    fast: Running, artifacts: Path
) -> None:
    emulator = emulator_of(fast)
    emulator.inject(_order_fault("drop_after", times=4))
    key = unique("lost-window-")
    first = fast.client.pay(payment(VISA), key=key)
    assert (first.status, first.json()["code"]) == (504, "outcome_unknown")
    emulator.expire_request_ids()
    emulator.search_delay = 3 * 3600.0  # PayPal's search has not listed it yet
    not_yet = fast.client.pay(payment(VISA), key=key)
    assert_truthful(not_yet, charged=True)
    assert (not_yet.status, not_yet.json()["code"]) == (504, "outcome_unknown")
    emulator.search_delay = 0.0
    found = fast.client.pay(payment(VISA), key=key)
    record(artifacts, "answer lost, retried after the window", found, fast, key)
    assert found.status == 201, found.body
    assert found.json()["status"] == "approved"
    assert len(captures_of(emulator, found.json()["id"])) == 1
    assert_every_capture_in_ledger(fast)


def test_reconcile_marks_an_attempt_paypal_never_saw_as_failed_once_listing_has_caught_up(
    fast: Running,
) -> None:
    from datetime import UTC, datetime, timedelta

    from cardline.cde.paypal import PayPalClient, PayPalConfig
    from cardline.reconcile import Reconciler

    emulator = emulator_of(fast)
    emulator.inject(_order_fault("reset", times=4))
    key = unique("never-")
    first = fast.client.pay(payment(VISA), key=key)
    assert first.status == 504
    paypal = PayPalClient(
        PayPalConfig(emulator.base_url, emulator.client_id, emulator.client_secret)
    )
    since = datetime.now(UTC) - timedelta(hours=1)
    early = Reconciler(paypal, fast.stack.ledger, fast.stack.sink).run(since)
    assert [(d.kind, d.repaired) for d in early] == [("not_listed_yet", False)]
    late = Reconciler(paypal, fast.stack.ledger, fast.stack.sink, search_delay=timedelta(0))
    assert [(d.kind, d.repaired) for d in late.run(since)] == [("not_at_paypal", True)]
    row = fast.stack.ledger.get_payment(first_id(fast, key))
    assert row is not None
    assert row["status"] == "failed"
    assert emulator.capture_count() == 0


def first_id(running: Running, key: str) -> str:
    return payment_id_for(operator_id(running), key)
