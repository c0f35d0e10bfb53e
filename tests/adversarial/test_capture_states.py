"""An authorization's captures and voids under hostile delivery: the audit events of two
authorizations (partial captures retried after failures, replays, a void) delivered in any
order, any number of times, give the rows in-order delivery gives, and a capture delivered
as completed counts once."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cardline.cde import audit
from cardline.ledger.sqlite import SqliteLedger

_T = "2026-11-28T10:00:{:02d}.000Z"
HELD, VOIDED = "pay_held", "pay_voided"


def _event(type_: str, resource: str, n: int, **details: Any) -> audit.AuditEvent:
    return audit.AuditEvent(
        type_, "op", "x", "ip", resource, details, event_id=f"ev{n:03d}", time=_T.format(n)
    )


def _world() -> list[audit.AuditEvent]:
    card = {"currency": "USD", "brand": "VISA", "last4": "1881", "intent": "AUTHORIZE"}
    held = {**card, "amount": "20.00", "status": "approved", "paypal_authorization_id": "A1"}

    def capture(cid: str, status: str, amount: str, **more: Any) -> dict[str, Any]:
        return {
            "id": cid,
            "kind": "capture",
            "status": status,
            "amount": amount,
            "currency": "USD",
            **more,
        }

    return [
        _event(audit.PAYMENT, HELD, 1, **held),
        _event(audit.CAPTURE, HELD, 2, **capture("cap_a", "FAILED", "5.00", error="x")),
        _event(
            audit.CAPTURE,
            HELD,
            3,
            **capture("cap_a", "COMPLETED", "5.00", paypal_capture_id="C1", final_capture=False),
        ),
        _event(
            audit.CAPTURE,
            HELD,
            4,
            **capture("cap_a", "COMPLETED", "5.00", paypal_capture_id="C1", final_capture=False),
        ),
        _event(
            audit.CAPTURE,
            HELD,
            5,
            **capture("cap_b", "COMPLETED", "15.00", paypal_capture_id="C2", final_capture=True),
        ),
        _event(audit.CAPTURE, HELD, 6, **capture("cap_b", "FAILED", "15.00", error="x")),
        _event(
            audit.PAYMENT, VOIDED, 7, **{**held, "amount": "8.00", "paypal_authorization_id": "A2"}
        ),
        _event(
            audit.VOID,
            VOIDED,
            8,
            id="void_a",
            kind="void",
            status="FAILED",
            error="x",
            currency="USD",
        ),
        _event(audit.VOID, VOIDED, 9, id="void_a", kind="void", status="VOIDED", currency="USD"),
    ]


def _rows(events: list[audit.AuditEvent]) -> dict[str, Any]:
    ledger = SqliteLedger(":memory:")
    for event in events:
        ledger.apply(event)
    rows = {
        payment_id: (ledger.get_payment(payment_id), ledger.captures_for(payment_id))
        for payment_id in (HELD, VOIDED)
    }
    ledger.close()
    return rows


IN_ORDER = _rows(_world())


def test_in_order_the_authorizations_end_captured_and_voided() -> None:
    held, captures = IN_ORDER[HELD]
    assert held is not None
    assert (held["status"], held["captured_amount"]) == ("captured", "20.00")
    assert held["paypal_capture_id"] == "C1"  # the first capture: what a refund needs
    assert [(c["id"], c["status"]) for c in captures] == [
        ("cap_a", "COMPLETED"),
        ("cap_b", "COMPLETED"),
    ]
    voided, void_rows = IN_ORDER[VOIDED]
    assert voided is not None
    assert (voided["status"], voided["captured_amount"]) == ("voided", "0")
    assert [(c["kind"], c["status"]) for c in void_rows] == [("void", "VOIDED")]


def test_a_capture_id_names_one_payment() -> None:
    """A capture id is made from the operator and the key: once it names a payment, an
    event naming it for another changes nothing."""
    stray = _event(
        audit.CAPTURE,
        VOIDED,
        10,
        id="cap_a",
        kind="capture",
        status="COMPLETED",
        amount="1.00",
        currency="USD",
    )
    assert _rows([*_world(), stray]) == IN_ORDER


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.permutations(range(9)),
    st.lists(st.integers(min_value=0, max_value=8), max_size=10),
)
def test_any_order_and_any_replay_give_the_same_rows(order: list[int], replays: list[int]) -> None:
    world = _world()
    delivered = [world[i] for i in order] + [world[i] for i in replays]
    assert _rows(delivered) == IN_ORDER
