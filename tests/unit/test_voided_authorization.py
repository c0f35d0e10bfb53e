"""An authorization voided after it was approved reads back as approved, not failed: what
came after (the void) is the ledger's, and reconcile must not turn a voided payment into a
failed one."""

from __future__ import annotations

from typing import Any

import pytest

from cardline.cde.paypal import interpret_order


def _order(status: str) -> dict[str, Any]:
    return {
        "id": "ORDER1",
        "intent": "AUTHORIZE",
        "status": "COMPLETED",
        "create_time": "2026-12-01T10:00:00Z",
        "payment_source": {"card": {"last_digits": "1881", "brand": "VISA"}},
        "purchase_units": [
            {
                "payments": {
                    "authorizations": [
                        {
                            "id": "AUTH1",
                            "status": status,
                            "amount": {"currency_code": "USD", "value": "7.00"},
                            "processor_response": {"response_code": "0000"},
                        }
                    ]
                }
            }
        ],
    }


@pytest.mark.parametrize("status", ["CREATED", "CAPTURED", "PARTIALLY_CAPTURED", "VOIDED"])
def test_an_authorization_paypal_approved_reads_approved_whatever_followed(status: str) -> None:
    outcome = interpret_order(_order(status))
    assert (outcome.status, outcome.authorization_id) == ("approved", "AUTH1")
