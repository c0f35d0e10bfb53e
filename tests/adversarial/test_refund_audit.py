"""A refused refund's audit event keeps what support needs to ask PayPal about it.

The agent reads PayPal's refusal in words (refund._in_words), so PayPal's own issue name
and debug id live only in the refund's audit event: ``paypal_issue`` and
``paypal_debug_id``, card-free tokens, written when PayPal gave them (as a payment's
failure event keeps ``paypal_debug_id``) and left out when it did not.
"""

from __future__ import annotations

from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.errors import (
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
)
from cardline.ledger.sqlite import SqliteLedger
from cardline.refund import Refunder
from tests.adversarial.refund_support import MemorySink


class _RefusingPayPal:
    """Answers every refund with ``error``."""

    def __init__(self, error: GatewayError) -> None:
        self.error = error

    def refund_capture(
        self, capture_id: str, *, request_id: str, money: Any = None, note: str | None = None
    ) -> dict[str, Any]:
        raise self.error


def _ledger() -> SqliteLedger:
    ledger = SqliteLedger(":memory:")
    details = {
        "status": "approved",
        "amount": "20.00",
        "currency": "USD",
        "paypal_capture_id": "CAPTUREONE",
    }
    ledger.apply(audit.AuditEvent(audit.PAYMENT, "op", "success", "ip", "pay_gen", details))
    return ledger


def _refused_event(error: GatewayError) -> dict[str, Any]:
    sink = MemorySink()
    refunder = Refunder(_RefusingPayPal(error), _ledger(), sink)  # type: ignore[arg-type]
    with pytest.raises(GatewayError) as raised:
        refunder.refund(
            "pay_gen", {"amount": "5.00"}, operator="op", idempotency_key="k", origin="t"
        )
    # The agent's answer names neither: they are for support, in the audit log.
    assert error.issue is None or error.issue not in raised.value.detail
    assert error.debug_id is None or error.debug_id not in raised.value.detail
    (event,) = [e for e in sink.events if e.type == audit.REFUND]
    assert event.outcome == "failure"
    assert (event.details["status"], event.details["error"]) == ("FAILED", error.code)
    return dict(event.details)


@pytest.mark.parametrize(
    "error",
    [
        GatewayRejected(
            "refused", http_status=422, issue="CAPTURE_FULLY_REFUNDED", debug_id="dbgRefusedOne"
        ),
        GatewayError("odd", http_status=400, issue="INVALID_REQUEST", debug_id="dbgOddAnswer"),
        GatewayOutcomeUnknown("lost", http_status=504, issue=None, debug_id="dbgLostAnswer"),
        GatewayUnavailable("busy", http_status=503, issue="RATE_LIMIT_REACHED", debug_id=None),
    ],
    ids=["rejected", "unusable", "unknown", "unavailable"],
)
def test_a_refused_refund_event_keeps_paypals_issue_and_debug_id(error: GatewayError) -> None:
    details = _refused_event(error)
    assert details.get("paypal_issue") == error.issue
    assert details.get("paypal_debug_id") == error.debug_id
    # Left out, not written as null, when PayPal gave none.
    if error.issue is None:
        assert "paypal_issue" not in details
    if error.debug_id is None:
        assert "paypal_debug_id" not in details


def test_a_refusal_without_paypals_words_writes_neither() -> None:
    details = _refused_event(GatewayUnavailable("PayPal could not be reached"))
    assert "paypal_issue" not in details
    assert "paypal_debug_id" not in details
