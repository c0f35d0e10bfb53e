"""Issue 10, finding 5, on the telephone: a retry that fails after an earlier approval.

Connect invokes the function again for the same contact (its 8 s limit, a flow loop), so
the charge is retried with the same idempotency key. When PayPal is then unreachable
(503) or refuses the request itself (422), only *this attempt* charged nothing: an earlier
attempt may have been approved, and that payment stands. The caller must not hear that
nothing was charged, and the agent's session must keep the approved outcome.
"""

from __future__ import annotations

import pytest

from cardline.sandbox import Fault
from tests.ivr.conftest import Rig, connect_event
from tests.ivr.test_handler import keyed
from tests.seeded import contact_id

ORDERS = "/v2/checkout/orders"

# (status, issue) PayPal answers the retry with, before processing it.
REFUSALS = [(503, None), (422, "UNPROCESSABLE_ENTITY")]


def _session(rig: Rig, contact: str) -> str:
    session = rig.sessions.create(
        {
            "contact_id": contact,
            "amount": "12.50",
            "currency": "USD",
            "reference": "order-5",
            "cardholder_name": "Ada Lovelace",
        },
        operator="agent-1",
        origin="127.0.0.1",
    )
    return session.id


def _truthful(spoken: str) -> None:
    """Said of this attempt only, never of the payment, with what the caller should do."""
    assert "nothing was charged" not in spoken
    assert "this attempt" in spoken
    assert "do not pay again" in spoken
    assert "agent" in spoken


@pytest.mark.parametrize(("status", "issue"), REFUSALS)
def test_a_failed_retry_after_an_approval_never_says_nothing_was_charged(
    rig: Rig, status: int, issue: str | None
) -> None:
    event = connect_event(contact_id(), keyed(rig))
    first = rig.handler.handle(event)
    assert first["status"] == "approved"

    rig.emulator.inject(
        Fault("status", path_prefix=ORDERS, status=status, issue=issue, times=20, retry_after=0)
    )
    try:
        again = rig.handler.handle(event)
    finally:
        rig.emulator.clear_faults()
    assert (again["action"], again["status"]) == ("result", "failed")
    _truthful(again["reason_spoken"])


def test_a_repeated_invocation_after_an_approved_session_keeps_it_approved(
    session_rig: Rig,
) -> None:
    rig = session_rig
    contact = contact_id()
    session_id = _session(rig, contact)
    event = connect_event(contact, {**keyed(rig), "amount": "", "session_id": session_id})
    first = rig.handler.handle(event)
    assert first["status"] == "approved"

    again = rig.handler.handle(event)  # the session is decided: not charged again
    assert again["action"] == "result"
    _truthful(again["reason_spoken"])
    # The agent's session keeps the approved payment the first invocation made.
    session = rig.sessions.get(session_id)
    assert session is not None
    assert (session.status, session.payment_id, session.last4) == (
        "approved",
        first["payment_id"],
        "1881",
    )


def test_a_first_attempt_paypal_cannot_take_is_said_truthfully_too(rig: Rig) -> None:
    """Without an earlier attempt the same words hold: this attempt charged nothing."""
    contact = contact_id()
    rig.emulator.inject(Fault("status", path_prefix=ORDERS, status=503, times=20, retry_after=0))
    try:
        answer = rig.handler.handle(connect_event(contact, keyed(rig)))
    finally:
        rig.emulator.clear_faults()
    assert (answer["action"], answer["status"]) == ("result", "failed")
    assert "this attempt" in answer["reason_spoken"]


@pytest.mark.parametrize(
    ("first", "later", "kept"),
    [
        ("approved", "failed", "approved"),
        ("approved", "unknown", "approved"),
        ("declined", "failed", "declined"),
        # The first attempt may have charged: a later failed attempt cannot say it did not.
        ("unknown", "failed", "unknown"),
        ("unknown", "abandoned", "unknown"),
        ("unknown", "approved", "approved"),
        ("failed", "approved", "approved"),
        ("waiting", "failed", "failed"),
    ],
)
def test_a_sessions_outcome_never_loses_what_an_earlier_attempt_may_have_charged(
    session_rig: Rig, first: str, later: str, kept: str
) -> None:
    rig = session_rig
    session_id = _session(rig, contact_id())
    if first != "waiting":
        rig.sessions.record_outcome(session_id, status=first, payment_id="pay_first")
    rig.sessions.record_outcome(session_id, status=later)
    session = rig.sessions.get(session_id)
    assert session is not None
    assert session.status == kept
