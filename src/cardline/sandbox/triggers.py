"""Cardholder names that start a simulated lifecycle: what PayPal would tell a webhook
listener after the first answer.

The emulator already declines a payment whose cardholder name is one of PayPal's own
``CCREJECT-*`` triggers (:data:`cardline.sandbox.cards.DECLINE_TRIGGERS`). These names are
the emulator's own, for the events that come later. Any test card works with them; the
name is matched as the decline triggers are (case and surrounding spaces ignored). Each
step happens :data:`STEP` emulator seconds after the one before (``advance_clock`` moves
through them in a test) and sends its webhook event; ``cardline sandbox fire`` sends any
of them on demand instead. A capture's trigger acts on each capture of a payment with that
name (a single-step order's, or an authorization's), except that only a single-step order's
capture starts PENDING; WEBHOOK-VOIDED acts on the authorization. ``fire`` works on any.

:data:`TRIGGERS` is the one table of them (docs/emulator.md shows it, and a test keeps the
two the same).

Without a trigger the events still come, as PayPal sends them for what the API did:
PAYMENT.CAPTURE.COMPLETED or .DECLINED for a capture, PAYMENT.CAPTURE.REFUNDED for a
refund, PAYMENT.AUTHORIZATION.CREATED and .VOIDED for an authorization.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STEP = 30.0  # emulator seconds between the steps of a lifecycle

CAPTURE_COMPLETED = "PAYMENT.CAPTURE.COMPLETED"
CAPTURE_PENDING = "PAYMENT.CAPTURE.PENDING"
CAPTURE_DECLINED = "PAYMENT.CAPTURE.DECLINED"
CAPTURE_DENIED = "PAYMENT.CAPTURE.DENIED"
CAPTURE_REFUNDED = "PAYMENT.CAPTURE.REFUNDED"
CAPTURE_REVERSED = "PAYMENT.CAPTURE.REVERSED"
AUTHORIZATION_CREATED = "PAYMENT.AUTHORIZATION.CREATED"
AUTHORIZATION_VOIDED = "PAYMENT.AUTHORIZATION.VOIDED"
DISPUTE_CREATED = "CUSTOMER.DISPUTE.CREATED"
DISPUTE_UPDATED = "CUSTOMER.DISPUTE.UPDATED"
DISPUTE_RESOLVED = "CUSTOMER.DISPUTE.RESOLVED"

SELLER_FAVOUR = "RESOLVED_SELLER_FAVOUR"
BUYER_FAVOUR = "RESOLVED_BUYER_FAVOUR"


@dataclass(frozen=True)
class Trigger:
    """What one cardholder name starts: the capture's first status, then the events sent
    one :data:`STEP` apart (a dispute's resolution carries ``outcome``); ``says`` in words."""

    pending: bool
    then: tuple[str, ...]
    says: str
    outcome: str = SELLER_FAVOUR


_DISPUTE = (DISPUTE_CREATED, DISPUTE_UPDATED, DISPUTE_RESOLVED)
TRIGGERS: Mapping[str, Trigger] = {
    "WEBHOOK-PENDING": Trigger(
        pending=True,
        then=(CAPTURE_COMPLETED,),
        says="The capture comes back PENDING (reason PENDING_REVIEW), then completes.",
    ),
    "WEBHOOK-PENDING-DENIED": Trigger(
        pending=True,
        then=(CAPTURE_DENIED,),
        says="The capture comes back PENDING, then is denied (its status DECLINED).",
    ),
    "WEBHOOK-REVERSED": Trigger(
        pending=False,
        then=(CAPTURE_REVERSED,),
        says="The capture completes, then PayPal reverses all of it.",
    ),
    "WEBHOOK-REFUNDED": Trigger(
        pending=False,
        then=(CAPTURE_REFUNDED,),
        says="The capture completes, then all of it is refunded at PayPal, not by cardline.",
    ),
    "WEBHOOK-DISPUTE": Trigger(
        pending=False,
        then=_DISPUTE,
        says="The capture completes; the cardholder disputes it (UNAUTHORISED), the dispute "
        "goes under review, and is resolved in the seller's favour.",
    ),
    "WEBHOOK-DISPUTE-LOST": Trigger(
        pending=False,
        then=_DISPUTE,
        outcome=BUYER_FAVOUR,
        says="As WEBHOOK-DISPUTE, but resolved in the buyer's favour: PayPal reverses the "
        "capture too (PAYMENT.CAPTURE.REVERSED).",
    ),
    "WEBHOOK-VOIDED": Trigger(
        pending=False,
        then=(AUTHORIZATION_VOIDED,),
        says="With intent AUTHORIZE: the authorization is made, then voided at PayPal.",
    ),
}


def trigger_for(name: str | None) -> Trigger | None:
    """The lifecycle a cardholder name starts, if any."""
    if name is None:
        return None
    return TRIGGERS.get(name.strip().upper())


def first_capture_status(name: str | None) -> str:
    """The status an approved capture starts in for this cardholder name."""
    trigger = trigger_for(name)
    return "PENDING" if trigger is not None and trigger.pending else "COMPLETED"
