"""The emulator's state file: after a crash at any step, a new emulator on the same file
answers every earlier resource as before, replays every earlier request id without moving
money again, and the file holds no card number or security code."""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.sandbox import Emulator
from tests.cards import AMEX, AMEX_CVV, CVV, TEST_PANS, VISA
from tests.paypal_http import PayPalHttp, card, order_body

ORDERS = "/v2/checkout/orders"
STATE = "paypal-emulator.sqlite3"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / STATE


@pytest.fixture
def first(state: Path) -> Iterator[Emulator]:
    with Emulator(state_path=state) as running:
        yield running


def _shown(emulator: Emulator, paypal: PayPalHttp, path: str) -> Any:
    answer = paypal.call("GET", path)
    text = answer.body.decode().replace(emulator.base_url, "BASE")
    return answer.status, text


Step = tuple[str, str, "dict[str, Any] | None", str]


def _day() -> Generator[Step, Any, None]:
    """A day's work as (method, path, body, request id); each step is sent the answer of
    the one before."""
    five = {"amount": {"currency_code": "USD", "value": "5.00"}}
    order = yield "POST", ORDERS, order_body(value="30.00", invoice_id="INV-1"), "o-1"
    capture_id = order["purchase_units"][0]["payments"]["captures"][0]["id"]
    yield "POST", f"/v2/payments/captures/{capture_id}/refund", five, "r-1"
    yield "POST", f"/v2/payments/captures/{capture_id}/refund", five, "r-2"
    amex = card(AMEX, security_code=AMEX_CVV)
    authorize = order_body(intent="AUTHORIZE", value="20.00", invoice_id="INV-2", payment_card=amex)
    order = yield "POST", ORDERS, authorize, "o-2"
    auth_id = order["purchase_units"][0]["payments"]["authorizations"][0]["id"]
    part = {"amount": {"currency_code": "USD", "value": "8.00"}, "final_capture": False}
    yield "POST", f"/v2/payments/authorizations/{auth_id}/capture", part, "c-1"
    order = yield "POST", ORDERS, order_body(intent="AUTHORIZE", invoice_id="INV-3"), "o-3"
    auth_id = order["purchase_units"][0]["payments"]["authorizations"][0]["id"]
    yield "POST", f"/v2/payments/authorizations/{auth_id}/void", None, "v-1"


def _work(paypal: PayPalHttp, base_url: str) -> Iterator[tuple[Step, int, str]]:
    """Runs the day's steps, yielding each with its answer (status, body with BASE links)."""
    steps = _day()
    step = next(steps)
    while True:
        method, path, body, request_id = step
        answer = paypal.call(method, path, body, request_id=request_id)
        assert answer.status in (200, 201), answer.body
        yield step, answer.status, answer.body.decode().replace(base_url, "BASE")
        try:
            step = steps.send(answer.json())
        except StopIteration:
            return


def test_a_new_emulator_on_the_state_file_knows_everything_after_any_step(
    state: Path, first: Emulator
) -> None:
    paypal = PayPalHttp(first.base_url)
    answered: list[tuple[Step, str]] = []
    try:
        for step, _status, text in _work(paypal, first.base_url):
            answered.append((step, text))
            # A crash right after this answer: the first emulator is never stopped.
            with Emulator(state_path=state) as second:
                again = PayPalHttp(second.base_url)
                try:
                    for (method, path, body, request_id), was in answered:
                        replay = again.call(method, path, body, request_id=request_id)
                        assert replay.status in (200, 201)
                        shown = replay.body.decode().replace(second.base_url, "BASE")
                        assert json.loads(shown)["id"] == json.loads(was)["id"]
                        # The same request to the emulator that never stopped: the same answer.
                        same = paypal.call(method, path, body, request_id=request_id)
                        assert shown == same.body.decode().replace(first.base_url, "BASE")
                    assert second.stats()["captures"] == first.stats()["captures"]
                    assert second.stats()["refunds"] == first.stats()["refunds"]
                    assert second.stats()["orders"] == first.stats()["orders"]
                finally:
                    again.close()
    finally:
        paypal.close()
    assert len(answered) == 7


def test_resources_read_back_the_same_after_a_restart(state: Path, first: Emulator) -> None:
    paypal = PayPalHttp(first.base_url)
    paths = []
    try:
        for (_method, path, _body, _request_id), _status, _text in _work(paypal, first.base_url):
            paths.append(path)
        captures = [c["id"] for c in first.all_captures()]
        looked_up = [f"/v2/payments/captures/{c}" for c in captures]
        looked_up += [f"{ORDERS}/{o['id']}" for o in _orders(first)]
        before = {p: _shown(first, paypal, p) for p in looked_up}
        duplicate = paypal.call(
            "POST", ORDERS, order_body(invoice_id="INV-1"), request_id="o-new"
        ).status
    finally:
        paypal.close()
    first.stop()
    with Emulator(state_path=state) as second:
        again = PayPalHttp(second.base_url)
        try:
            assert {p: _shown(second, again, p) for p in looked_up} == before
            # PayPal still refuses a second payment of a paid invoice.
            refused = again.call("POST", ORDERS, order_body(invoice_id="INV-1"), request_id="x")
            assert (duplicate, refused.status) == (422, 422)
            assert [c["id"] for c in second.all_captures()] == captures
        finally:
            again.close()


def _orders(emulator: Emulator) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for capture in emulator.all_captures():
        order_id = capture["supplementary_data"]["related_ids"]["order_id"]
        seen.setdefault(order_id, {"id": order_id})
    return list(seen.values())


def test_the_state_file_keeps_no_card_number_or_security_code(state: Path, first: Emulator) -> None:
    paypal = PayPalHttp(first.base_url)
    try:
        for _step in _work(paypal, first.base_url):
            pass
    finally:
        paypal.close()
    first.stop()
    kept = b"".join(p.read_bytes() for p in state.parent.iterdir() if p.is_file())
    for number in (*TEST_PANS, VISA, AMEX):
        assert number.encode() not in kept
    assert b"security_code" not in kept
    assert f'"{CVV}"'.encode() not in kept
    assert f'"{AMEX_CVV}"'.encode() not in kept
    assert b'"last_digits": "8431"' in kept  # what PayPal shows is kept


def test_a_damaged_state_file_is_moved_aside_and_the_emulator_starts_empty(
    state: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state.write_bytes(b"\x00" * 100 + b"not sqlite")
    with caplog.at_level(logging.WARNING), Emulator(state_path=state) as emulator:
        assert emulator.stats()["orders"] == 0
        paypal = PayPalHttp(emulator.base_url)
        try:
            assert paypal.call("POST", ORDERS, order_body(), request_id="o-1").status == 201
        finally:
            paypal.close()
    aside = [p for p in state.parent.iterdir() if p.name.startswith(STATE + ".damaged")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"\x00" * 100 + b"not sqlite"
    assert any(aside[0].name in r.getMessage() for r in caplog.records)
