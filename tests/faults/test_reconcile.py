"""`cardline reconcile` and the Transaction Search it relies on, case by case."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cardline.cde import audit, ids
from cardline.cde.card import Card
from cardline.cde.money import parse_money
from cardline.cde.paypal import PayPalClient, PayPalConfig, timeout_from_env
from cardline.reconcile import Reconciler
from cardline.sandbox import Emulator
from tests.artifacts import run
from tests.cards import CVV, VISA, future_expiry, payment
from tests.conftest import Running
from tests.faults.conftest import emulator_of

pytestmark = pytest.mark.slow

SINCE = timedelta(hours=1)


@pytest.fixture
def paypal(fast: Running) -> Iterator[PayPalClient]:
    emulator = emulator_of(fast)
    client = PayPalClient(
        PayPalConfig(emulator.base_url, emulator.client_id, emulator.client_secret)
    )
    try:
        yield client
    finally:
        client.close()


def _since() -> datetime:
    return datetime.now(UTC) - SINCE


def _event(payment_id: str, **details: object) -> audit.AuditEvent:
    return audit.AuditEvent(
        type=audit.PAYMENT,
        operator="op_test",
        outcome="failure",
        origin="test",
        resource=payment_id,
        details={"amount": "12.50", "currency": "USD", **details},
    )


def test_a_ledger_in_step_with_paypal_shows_no_difference(
    fast: Running, paypal: PayPalClient
) -> None:
    assert fast.client.pay(payment(VISA)).status == 201
    assert fast.client.pay(payment(VISA, name="CCREJECT-IF")).status == 201
    assert Reconciler(paypal, fast.stack.ledger, fast.stack.sink).run(_since()) == []


def _charged_with_a_false_decline(fast: Running, paypal: PayPalClient) -> dict[str, str]:
    """A card PayPal charged whose only audit event says declined (a later, lower-ranked
    event could not overwrite an approval: the ledger never regresses one)."""
    payment_id = "pay_" + ids.random_id(24)
    card = Card.parse(number=VISA, expiry=future_expiry(), security_code=CVV, name="Ada Lovelace")
    outcome, _order = paypal.create_order(
        request_id="false-decline-" + payment_id,
        money=parse_money("12.50", "USD"),
        card=card,
        invoice_id=payment_id,
    )
    assert outcome.status == "approved"
    fast.stack.sink.emit(_event(payment_id, status="declined"))
    return {"id": payment_id}


def test_a_false_decline_in_the_ledger_is_repaired_to_approved(
    fast: Running, paypal: PayPalClient
) -> None:
    paid = _charged_with_a_false_decline(fast, paypal)
    assert fast.stack.ledger.get_payment(paid["id"])["status"] == "declined"  # type: ignore[index]
    found = Reconciler(paypal, fast.stack.ledger, fast.stack.sink).run(_since())
    seen = [(d.payment_id, d.kind, d.ledger_status, d.paypal_status, d.repaired) for d in found]
    assert seen == [(paid["id"], "status", "declined", "approved", True)]
    row = fast.stack.ledger.get_payment(paid["id"])
    assert row is not None
    assert row["status"] == "approved"
    events = list(audit.read_events(fast.stack.data_dir / "audit.jsonl"))
    assert events[-1].operator == "reconcile"
    assert events[-1].details["reconciled"] is True


def test_a_dry_run_reports_and_repairs_nothing(fast: Running, paypal: PayPalClient) -> None:
    paid = _charged_with_a_false_decline(fast, paypal)
    dry = Reconciler(paypal, fast.stack.ledger, fast.stack.sink, dry_run=True).run(_since())
    assert [(d.kind, d.repaired) for d in dry] == [("status", False)]
    assert fast.stack.ledger.get_payment(paid["id"])["status"] == "declined"  # type: ignore[index]


def test_an_order_paypal_does_not_know_is_reported_never_deleted(
    fast: Running, paypal: PayPalClient
) -> None:
    fast.stack.sink.emit(_event("pay_ghost", status="approved", paypal_order_id="NOSUCHORDER01"))
    found = Reconciler(paypal, fast.stack.ledger, fast.stack.sink).run(_since())
    assert [(d.payment_id, d.kind, d.repaired) for d in found] == [
        ("pay_ghost", "ledger_only", False)
    ]
    assert fast.stack.ledger.get_payment("pay_ghost")["status"] == "approved"  # type: ignore[index]


def test_a_refunded_payment_is_not_taken_back_to_approved(
    fast: Running, paypal: PayPalClient
) -> None:
    paid = fast.client.pay(payment(VISA)).json()
    refund = fast.client.request(
        "POST", f"/v1/payments/{paid['id']}/refunds", idempotency_key="refund-all"
    )
    assert refund.status == 201
    assert Reconciler(paypal, fast.stack.ledger, fast.stack.sink).run(_since()) == []
    assert fast.stack.ledger.get_payment(paid["id"])["status"] == "refunded"  # type: ignore[index]


def test_reconcile_without_paypal_credentials_says_what_to_set(
    data_dir: Path, artifacts: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYPAL_")}
    done = run(
        [sys.executable, "-m", "cardline.cli", "reconcile", "--data-dir", str(data_dir)],
        artifacts,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "PAYPAL_CLIENT_ID" in done.stderr


def _search(emulator: Emulator, token: str, query: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"{emulator.base_url}/v1/reporting/transactions?{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_emulators_transaction_search_checks_dates_pages_and_lags(
    fast: Running, paypal: PayPalClient
) -> None:
    emulator = emulator_of(fast)
    for _ in range(3):
        assert fast.client.pay(payment(VISA)).status == 201
    token = paypal._access_token()
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, body = _search(emulator, token, f"start_date={start}&end_date={end}&page_size=2")
    assert status == 200
    assert (body["total_items"], body["total_pages"]) == (3, 2)
    infos = body["transaction_details"]
    assert isinstance(infos, list)
    info = infos[0]["transaction_info"]
    assert info["invoice_id"].startswith("pay_")
    assert info["paypal_reference_id_type"] == "ODR"
    assert info["transaction_status"] == "S"
    assert len(paypal.search_transactions(start, end)) == 3  # the client walks the pages
    too_long = (now - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _search(emulator, token, f"start_date={too_long}&end_date={end}")[0] == 400
    assert _search(emulator, token, f"end_date={end}")[0] == 400
    assert _search(emulator, "not-a-token", f"start_date={start}&end_date={end}")[0] == 401
    emulator.search_delay = 3600.0
    assert _search(emulator, token, f"start_date={start}&end_date={end}")[1]["total_items"] == 0


@pytest.mark.parametrize(
    ("value", "expected"), [("", 20.0), ("0.5", 0.5), ("30", 30.0), (" 2 ", 2.0)]
)
def test_the_paypal_timeout_comes_from_the_environment(value: str, expected: float) -> None:
    assert timeout_from_env({"PAYPAL_TIMEOUT_SECONDS": value}) == expected


@pytest.mark.parametrize("value", ["0", "-1", "301", "soon", "nan"])
def test_a_bad_paypal_timeout_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="PAYPAL_TIMEOUT_SECONDS"):
        timeout_from_env({"PAYPAL_TIMEOUT_SECONDS": value})


def test_a_payment_recorded_in_the_millisecond_reconcile_starts_is_seen(
    fast: Running, paypal: PayPalClient
) -> None:
    fast.stack.sink.emit(_event("pay_edge", status="approved", paypal_order_id="NOSUCHORDER02"))
    recorded = fast.stack.ledger.get_payment("pay_edge")
    assert recorded is not None
    until = datetime.fromisoformat(recorded["created_at"].replace("Z", "+00:00"))
    found = Reconciler(paypal, fast.stack.ledger, fast.stack.sink).run(_since(), until)
    assert [(d.payment_id, d.kind) for d in found] == [("pay_edge", "ledger_only")]
