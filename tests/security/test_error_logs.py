"""No card number or security code in any log line, whatever goes wrong.

Every log record is read as emitted — before any masking filter: the suite's raw capture
(tests/raw_capture.py) — across PayPal faults, malformed requests, refused cards and a
crash inside the charge path itself.
"""

from __future__ import annotations

import json
import re

import pytest

from cardline.cde.charge import Charger
from cardline.sandbox import Fault
from tests.cards import AMEX, AMEX_CVV, CVV, MISTYPED_VISA, TEST_PANS, VISA, payment
from tests.conftest import Running
from tests.leakscan import spellings

pytestmark = pytest.mark.slow

ORDERS = "/v2/checkout/orders"


def _assert_no_card_data(text: str) -> None:
    for pan in TEST_PANS:
        for form in spellings(pan):
            assert form not in text, f"a card number ending {pan[-4:]} was logged"
    for code in (CVV, AMEX_CVV):
        # Quoted, or a value after "=" or ": " that ends there (not the head of an id).
        pattern = rf"[\"']{code}[\"']|(?:=|: ){code}(?![0-9A-Za-z])"
        assert re.search(pattern, text) is None, "a security code was logged"


FAULTS = [
    Fault("drop_before", path_prefix=ORDERS, times=4),
    Fault("drop_after", path_prefix=ORDERS, times=4),
    Fault("reset", path_prefix=ORDERS, times=4),
    Fault("malformed_json", path_prefix=ORDERS),
    Fault("status", path_prefix=ORDERS, status=500, times=4),
    Fault("status", path_prefix=ORDERS, status=400, issue="INVALID_PARAMETER_VALUE"),
    Fault("status", path_prefix=ORDERS, status=422, issue="INSTRUMENT_DECLINED"),
    Fault("status", path_prefix=ORDERS, status=422, issue="DUPLICATE_INVOICE_ID"),
    Fault("status", path_prefix="/v1/oauth2/token", status=401, times=4),
    Fault("status", path_prefix=ORDERS, status=429, retry_after=0, times=4),
]


def test_no_card_data_is_logged_on_any_paypal_failure(running: Running, raw_log: list[str]) -> None:
    emulator = running.stack.emulator
    assert emulator is not None
    statuses = []
    for fault in FAULTS:
        emulator.inject(fault)
        statuses.append(running.client.pay(payment(VISA)).status)
        statuses.append(running.client.pay(payment(AMEX, code=AMEX_CVV)).status)
        emulator.clear_faults()
    assert len(raw_log) > 0
    assert {s for s in statuses if s >= 500} >= {503, 504}  # the faults did bite
    _assert_no_card_data("".join(raw_log))


def test_no_card_data_is_logged_for_bad_requests(running: Running, raw_log: list[str]) -> None:
    body = json.dumps(payment(VISA))
    client = running.client
    answers = [
        client.pay(payment(MISTYPED_VISA)),
        client.pay(payment(VISA, code="12")),
        client.pay(payment(VISA, expiry="13/99")),
        client.pay(payment(VISA, name=f"x {VISA}")),
        client.pay({**payment(VISA), "extra": VISA}),
        client.request(
            "POST",
            "/v1/payments",
            raw=body[:-3].encode(),
            headers={"Content-Type": "application/json"},
            idempotency_key="truncated-body",
        ),
        client.request(
            "POST",
            "/v1/payments",
            raw=body.encode("utf-16"),
            headers={"Content-Type": "application/json"},
            idempotency_key="utf-sixteen-body",
        ),
        client.request("GET", f"/v1/payments?cursor={VISA}"),
        client.request("GET", f"/v1/{VISA}/{CVV}"),
    ]
    assert all(a.status >= 400 for a in answers)
    _assert_no_card_data("".join(raw_log))


def test_a_crash_inside_the_charge_path_logs_no_card_data(
    running: Running, raw_log: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug that puts the card in an exception message: the log keeps type and frames."""

    def careless(self: Charger, request: object, **_: object) -> None:
        raise ValueError(f"cannot charge {VISA} with {CVV}: security_code={CVV}")

    monkeypatch.setattr(Charger, "charge", careless)
    answer = running.client.pay(payment(VISA))
    assert answer.status == 500
    assert answer.json()["code"] == "internal_error"
    logged = "".join(raw_log)
    assert "unhandled ValueError in POST /v1/payments" in logged
    assert "careless" in logged  # the frames are there to debug with
    _assert_no_card_data(logged)
    _assert_no_card_data(answer.body.decode())
