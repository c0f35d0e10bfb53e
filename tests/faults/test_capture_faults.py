"""The fault matrix of captures, voids and reauthorizations: PayPal's Payments API
misbehaving while an authorization is captured, voided or reauthorized (through the routes,
or by the merchant rules).

For every fault: the agent is told the truth (done, or "not confirmed: retry with the same
key", or "nothing was done"), a retry with the same Idempotency-Key finishes the job, and
PayPal holds at most one capture per key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.sandbox import Fault
from tests.cards import VISA, payment
from tests.conftest import Running, local_stack
from tests.faults.conftest import CLIENT_TIMEOUT, emulator_of
from tests.seeded import unique

pytestmark = pytest.mark.slow

AUTHORIZATIONS = "/v2/payments/authorizations/"


def _fault(kind: str, times: int = 1, **fields: object) -> Fault:
    return Fault(kind, path_prefix=AUTHORIZATIONS, method="POST", times=times, **fields)  # type: ignore[arg-type]


FAULTS = {
    "answer lost once": [_fault("drop_after")],
    "dropped before processing once": [_fault("drop_before")],
    "HTTP 500 once": [_fault("status", status=500)],
    "connection reset once": [_fault("reset")],
    "answer lost on every attempt": [_fault("drop_after", times=4)],
    "HTTP 503 on every attempt": [_fault("status", times=4, status=503)],
    "malformed JSON answer": [_fault("malformed_json")],
}


def _authorized(running: Running, amount: str = "20.00") -> dict[str, Any]:
    body = payment(VISA, amount=amount)
    body["intent"] = "AUTHORIZE"
    answer = running.client.pay(body)
    assert answer.status == 201, answer.body
    return dict(answer.json())


def _moved(running: Running) -> list[str]:
    return [
        c["amount"]["value"]
        for c in emulator_of(running).all_captures()
        if c["status"] in ("COMPLETED", "PENDING")
    ]


def _truthful(status: int, body: dict[str, Any]) -> None:
    assert status in (201, 503, 504), body
    if status == 504:
        assert body["code"] == "outcome_unknown"
        assert "same Idempotency-Key" in body["detail"]
    if status == 503:
        assert body["code"] == "gateway_unavailable"
        assert "nothing was" in body["detail"]


@pytest.mark.parametrize("scenario", sorted(FAULTS))
def test_a_capture_under_faults_is_truthful_and_a_retry_captures_once(
    fast: Running, scenario: str
) -> None:
    paid = _authorized(fast)
    for fault in FAULTS[scenario]:
        emulator_of(fast).inject(fault)
    key = unique("capture-")
    path = f"/v1/payments/{paid['id']}/capture"
    first = fast.client.request("POST", path, {"amount": "5.00"}, idempotency_key=key)
    emulator_of(fast).clear_faults()
    _truthful(first.status, first.json())
    again = fast.client.request("POST", path, {"amount": "5.00"}, idempotency_key=key)
    assert again.status == 201, again.body
    assert again.json()["status"] == "COMPLETED"
    assert _moved(fast) == ["5.00"]
    shown = fast.client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert (shown["status"], shown["captured_amount"]) == ("partially_captured", "5.00")


@pytest.mark.parametrize("scenario", sorted(FAULTS))
def test_a_void_under_faults_is_truthful_and_a_retry_voids(fast: Running, scenario: str) -> None:
    paid = _authorized(fast)
    for fault in FAULTS[scenario]:
        emulator_of(fast).inject(fault)
    key = unique("void-")
    path = f"/v1/payments/{paid['id']}/void"
    first = fast.client.request("POST", path, idempotency_key=key)
    emulator_of(fast).clear_faults()
    _truthful(first.status, first.json())
    again = fast.client.request("POST", path, idempotency_key=key)
    assert again.status == 201, again.body
    assert again.json()["status"] == "VOIDED"
    shown = fast.client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert shown["status"] == "voided"
    assert _moved(fast) == []


@pytest.mark.parametrize("scenario", sorted(FAULTS))
def test_a_reauthorization_under_faults_is_truthful_and_a_retry_makes_one(
    fast: Running, scenario: str
) -> None:
    paid = _authorized(fast)
    emulator_of(fast).advance_clock(days=4)
    for fault in FAULTS[scenario]:
        emulator_of(fast).inject(fault)
    key = unique("reauthorize-")
    path = f"/v1/payments/{paid['id']}/reauthorize"
    first = fast.client.request("POST", path, idempotency_key=key)
    emulator_of(fast).clear_faults()
    _truthful(first.status, first.json())
    again = fast.client.request("POST", path, idempotency_key=key)
    assert again.status == 201, again.body
    made = again.json()["paypal_capture_id"]
    assert emulator_of(fast).stats()["authorizations"] == 2  # the original and one more
    shown = fast.client.request("GET", f"/v1/payments/{paid['id']}").json()
    assert shown["reauthorization_id"] == made


@pytest.fixture
def ruled(data_dir: Path, artifacts: Path) -> Iterator[Running]:
    environ = {
        "PAYPAL_TIMEOUT_SECONDS": CLIENT_TIMEOUT,
        "CARDLINE_RULES": json.dumps({"cvv_mismatch": "refuse"}),
    }
    with local_stack(data_dir, artifacts, environ) as stack:
        yield stack


@pytest.mark.parametrize("scenario", sorted(FAULTS))
def test_the_rules_capture_under_faults_is_truthful_and_a_retry_captures_once(
    ruled: Running, scenario: str
) -> None:
    for fault in FAULTS[scenario]:
        emulator_of(ruled).inject(fault)
    key = unique("ruled-")
    first = ruled.client.pay(payment(VISA), key=key)
    emulator_of(ruled).clear_faults()
    body = first.json()
    _truthful(first.status, body)
    if first.status == 201:
        assert body["status"] == "approved"
    again = ruled.client.pay(payment(VISA), key=key)
    assert again.status == 201, again.body
    assert again.json()["status"] == "approved"
    assert again.json()["paypal_capture_id"]
    assert _moved(ruled) == ["12.50"]
