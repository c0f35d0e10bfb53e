"""Reading a verified webhook event into the one fact cardline applies."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardline.cde.errors import InvalidRequest
from cardline.webhooks.events import (
    AuthorizationChanged,
    CaptureChanged,
    CaptureRefunded,
    DisputeChanged,
    Ignored,
    read_event,
)
from tests.cards import VISA
from tests.webhooks.samples import (
    AUTHORIZATION_ID,
    CAPTURE_ID,
    DISPUTE_ID,
    ORDER_ID,
    REFUND_ID,
    event,
)


def test_a_completed_capture_names_its_capture_order_and_amount() -> None:
    fact = read_event(event("PAYMENT.CAPTURE.COMPLETED"))
    assert isinstance(fact, CaptureChanged)
    assert (fact.capture_id, fact.order_id, fact.status) == (CAPTURE_ID, ORDER_ID, "COMPLETED")
    assert (fact.amount.amount, fact.amount.currency) == (Decimal("25.00"), "USD")
    assert fact.reason is None
    assert fact.event_id == "WH-0001WEBHOOKEVENT"


def test_a_pending_capture_gives_paypals_reason() -> None:
    fact = read_event(
        event(
            "PAYMENT.CAPTURE.PENDING",
            status="PENDING",
            status_details={"reason": "PENDING_REVIEW"},
        )
    )
    assert isinstance(fact, CaptureChanged)
    assert (fact.status, fact.reason) == ("PENDING", "PENDING_REVIEW")


@pytest.mark.parametrize("event_type", ["PAYMENT.CAPTURE.DECLINED", "PAYMENT.CAPTURE.DENIED"])
def test_both_names_paypal_uses_for_a_refused_capture_are_read(event_type: str) -> None:
    fact = read_event(event(event_type, status="DECLINED"))
    assert isinstance(fact, CaptureChanged)
    assert fact.status == "DECLINED"


@pytest.mark.parametrize(
    ("event_type", "reversed_"),
    [("PAYMENT.CAPTURE.REFUNDED", False), ("PAYMENT.CAPTURE.REVERSED", True)],
)
def test_a_refund_or_reversal_finds_its_capture_through_the_up_link(
    event_type: str, reversed_: bool
) -> None:
    fact = read_event(event(event_type))
    assert isinstance(fact, CaptureRefunded)
    assert (fact.refund_id, fact.capture_id, fact.reversed) == (REFUND_ID, CAPTURE_ID, reversed_)
    assert fact.amount.amount == Decimal("10.00")


def test_a_refund_without_a_capture_to_belong_to_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        read_event(event("PAYMENT.CAPTURE.REFUNDED", links=[]))


def test_an_authorization_gives_its_expiry() -> None:
    fact = read_event(event("PAYMENT.AUTHORIZATION.VOIDED", status="VOIDED"))
    assert isinstance(fact, AuthorizationChanged)
    assert (fact.authorization_id, fact.status) == (AUTHORIZATION_ID, "VOIDED")
    assert fact.expiration_time == "2026-12-30T10:00:00Z"


def test_a_dispute_gives_reason_due_date_and_the_disputed_capture() -> None:
    fact = read_event(event("CUSTOMER.DISPUTE.CREATED"))
    assert isinstance(fact, DisputeChanged)
    assert (fact.dispute_id, fact.reason, fact.capture_ids) == (
        DISPUTE_ID,
        "UNAUTHORISED",
        (CAPTURE_ID,),
    )
    assert fact.seller_response_due_date == "2026-12-13T08:00:00.000Z"
    assert fact.outcome is None


def test_a_resolved_dispute_gives_its_outcome() -> None:
    fact = read_event(
        event(
            "CUSTOMER.DISPUTE.RESOLVED",
            status="RESOLVED",
            dispute_outcome={"outcome_code": "RESOLVED_SELLER_FAVOUR"},
        )
    )
    assert isinstance(fact, DisputeChanged)
    assert (fact.status, fact.outcome) == ("RESOLVED", "RESOLVED_SELLER_FAVOUR")


def test_an_event_type_cardline_does_not_act_on_is_ignored_whatever_its_resource() -> None:
    fact = read_event({"id": "WH-1", "event_type": "BILLING.PLAN.CREATED", "resource": 7})
    assert fact == Ignored(event_id="WH-1", event_type="BILLING.PLAN.CREATED")


@pytest.mark.parametrize(
    "changes",
    [
        {"id": "not an id"},
        {"id": None},
        {"status": "APPROVED"},
        {"amount": {"currency_code": "USD", "value": "-1.00"}},
        {"amount": {"currency_code": "XXX", "value": "1.00"}},
        {"amount": "25.00"},
        {"update_time": "yesterday"},
        {"status_details": {"reason": "pending; drop table"}},
        {"supplementary_data": {"related_ids": {"order_id": "lower-case"}}},
    ],
)
def test_a_field_outside_paypals_shapes_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        read_event(event("PAYMENT.CAPTURE.COMPLETED", **changes))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.sampled_from(
        ["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED", "CUSTOMER.DISPUTE.UPDATED"]
    ),
    st.dictionaries(
        st.sampled_from(
            ["id", "status", "amount", "links", "dispute_id", "disputed_transactions", "reason"]
        ),
        _JSON,
    ),
)
def test_any_resource_is_read_or_refused_never_anything_else(
    event_type: str, resource: dict[str, Any]
) -> None:
    outcome: object
    try:
        outcome = read_event({"id": "WH-1", "event_type": event_type, "resource": resource})
    except InvalidRequest as refused:  # anything else (KeyError, TypeError) fails the test
        outcome = refused
    assert isinstance(outcome, CaptureChanged | CaptureRefunded | DisputeChanged | InvalidRequest)


@pytest.mark.parametrize("field", ["id", "status", "update_time"])
def test_a_card_number_anywhere_is_refused_and_never_repeated(field: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_event(event("PAYMENT.CAPTURE.COMPLETED", **{field: VISA}))
    assert VISA not in json.dumps(refused.value.problem(), default=str)
    assert VISA not in str(refused.value)
