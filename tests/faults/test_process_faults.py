"""The fault matrix, our side: the serving process killed mid-payment, the ledger projector
crashing. PayPal (the emulator) lives in the test process, so it outlives the server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.request_rules import payment_id_for
from cardline.ledger.sqlite import SqliteLedger
from cardline.local import AUDIT_FILE, LEDGER_FILE, build_local, serve_in_background
from cardline.sandbox import Emulator, Fault
from tests.artifacts import run
from tests.cards import VISA, payment
from tests.conftest import Answer, Client, Running
from tests.faults.conftest import assert_no_double_charge, assert_truthful, captures_of
from tests.seeded import unique
from tests.serve_process import CARDLINE, Served, clean_env

pytestmark = pytest.mark.slow


def _env(emulator: Emulator) -> dict[str, str]:
    return clean_env(
        {
            "PAYPAL_BASE_URL": emulator.base_url,
            "PAYPAL_CLIENT_ID": emulator.client_id,
            "PAYPAL_CLIENT_SECRET": emulator.client_secret,
            "PAYPAL_TIMEOUT_SECONDS": "5",
        }
    )


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as paypal:
        yield paypal


def _audit_events(data_dir: Path) -> list[dict[str, Any]]:
    return [e.to_dict() for e in audit.read_events(data_dir / AUDIT_FILE)]


def test_serve_killed_mid_payment_loses_no_charge_and_a_retry_charges_once(
    data_dir: Path, artifacts: Path, emulator: Emulator
) -> None:
    log = artifacts / f"serve-killed-{data_dir.name}.log"
    served = Served(data_dir, log, _env(emulator))
    key = served.key()
    client = Client(served.url, key, artifacts / "http-answers.log")
    operator = json.loads((data_dir / "operators.json").read_text())["operators"][0]["id"]
    idempotency_key = unique("killed-")
    payment_id = payment_id_for(operator, idempotency_key)
    emulator.inject(Fault("delay", path_prefix="/v2/checkout/orders", method="POST", delay=1.5))

    outcome: list[Answer | BaseException] = []

    def agent() -> None:
        try:
            outcome.append(client.pay(payment(VISA), key=idempotency_key))
        except (OSError, ConnectionError) as error:  # the server died under the request
            outcome.append(error)

    caller = threading.Thread(target=agent)
    try:
        caller.start()
        deadline = time.monotonic() + 10
        while emulator.stats()["requests"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # token + order: the order is now with PayPal, delayed
        assert emulator.stats()["requests"] >= 2
        served.process.kill()  # SIGKILL: no cleanup, no audit event, mid-request
        caller.join(timeout=15)
    finally:
        served.stop()
    assert len(outcome) == 1
    assert not isinstance(outcome[0], Answer)  # no answer came back
    deadline = time.monotonic() + 10
    while not captures_of(emulator, payment_id) and time.monotonic() < deadline:
        time.sleep(0.05)  # PayPal finishes the charge after its delay
    assert len(captures_of(emulator, payment_id)) == 1
    assert [e for e in _audit_events(data_dir) if e["resource"] == payment_id] == []

    # Recovery 1: reconcile finds the charge the dead process never recorded.
    reconciled = run(
        [*CARDLINE, "reconcile", "--since", "1h", "--data-dir", str(data_dir)],
        artifacts,
        env=_env(emulator),
        timeout=60,
        check=True,
    )
    assert f"{payment_id}\tmissing\tledger=-\tpaypal=approved\trepaired" in reconciled.stdout

    # Recovery 2: restarted on the same data, the agent's retry gets the same payment.
    restarted = Served(data_dir, log, _env(emulator))
    try:
        client = Client(restarted.url, key, artifacts / "http-answers.log")
        again = client.pay(payment(VISA), key=idempotency_key)
        assert again.status == 201, again.body
        assert again.json()["status"] == "approved"
        assert again.json()["id"] == payment_id
        assert_truthful(again, charged=True)
        shown = client.request("GET", f"/v1/payments/{payment_id}")
        assert shown.status == 200
        assert shown.json()["status"] == "approved"
        assert shown.json()["paypal_capture_id"] == captures_of(emulator, payment_id)[0]["id"]
    finally:
        restarted.stop()
    assert len(captures_of(emulator, payment_id)) == 1
    assert_no_double_charge(emulator)


class _CrashOnce:
    """A ledger whose next projection crashes, as if the process died after the audit append."""

    def __init__(self, ledger: SqliteLedger) -> None:
        self.ledger = ledger
        self.crashed = False

    def apply(self, event: audit.AuditEvent) -> bool:
        if not self.crashed and event.type == audit.PAYMENT:
            self.crashed = True
            raise RuntimeError("projector crashed")
        return self.ledger.apply(event)


def test_a_projector_crash_keeps_the_answer_true_and_replay_restores_the_ledger(
    data_dir: Path, artifacts: Path
) -> None:
    stack = build_local(data_dir, environ={})
    _operator, key = stack.operators.add("agent-crash")
    crashing = _CrashOnce(stack.ledger)
    stack.sink._ledger = crashing  # type: ignore[assignment]
    server = serve_in_background(stack.app)
    try:
        running = Running(
            stack, server.url, key, Client(server.url, key, artifacts / "http-answers.log")
        )
        answer = running.client.pay(payment(VISA))
        assert crashing.crashed
        assert answer.status == 201  # the charge happened and the agent is told so
        assert answer.json()["status"] == "approved"
        payment_id = answer.json()["id"]
        assert running.client.request("GET", f"/v1/payments/{payment_id}").status == 404
        assert stack.emulator is not None
        capture_id = captures_of(stack.emulator, payment_id)[0]["id"]
    finally:
        server.stop()
        stack.close()

    # A torn last line (a crash mid-write) must not stop the replay.
    with open(data_dir / AUDIT_FILE, "a", encoding="utf-8") as out:
        out.write('{"schema": "cardline.cde.audit/1", "event_id": "torn')
    rebuilt = run(
        [*CARDLINE, "ledger", "rebuild", "--data-dir", str(data_dir)],
        artifacts,
        timeout=60,
        check=True,
    )
    assert "events applied" in rebuilt.stdout
    ledger = SqliteLedger(data_dir / LEDGER_FILE)
    try:
        row = ledger.get_payment(payment_id)
        assert row is not None
        assert (row["status"], row["paypal_capture_id"]) == ("approved", capture_id)
    finally:
        ledger.close()


def test_a_restart_projects_audit_events_the_ledger_missed(data_dir: Path) -> None:
    stack = build_local(data_dir, environ={})
    stack.operators.add("agent-restart")
    crashing = _CrashOnce(stack.ledger)
    stack.sink._ledger = crashing  # type: ignore[assignment]
    event = audit.AuditEvent(
        type=audit.PAYMENT,
        operator="op_x",
        outcome="success",
        origin="test",
        resource="pay_restart",
        details={"status": "approved", "amount": "1.00", "currency": "USD"},
    )
    stack.sink.emit(event)
    assert crashing.crashed
    assert stack.ledger.get_payment("pay_restart") is None
    stack.close()
    again = build_local(data_dir, environ={})
    try:
        row = again.ledger.get_payment("pay_restart")
        assert row is not None
        assert row["status"] == "approved"
    finally:
        again.close()
