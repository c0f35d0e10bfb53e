"""What the emulator remembers about orders, authorizations, captures and refunds.

A card is remembered only as brand, last digits, expiry and name (what PayPal itself
returns); the number and security code never reach these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cardline.sandbox.amounts import Amount
from cardline.sandbox.cards import PAYPAL_BRAND, card_type


@dataclass(frozen=True)
class CardSummary:
    """The card as PayPal reports it back: ``payment_source.card``."""

    brand: str
    last_digits: str
    expiry: str
    name: str | None

    def json(self) -> dict[str, Any]:
        """The ``card_response`` object."""
        body: dict[str, Any] = {"last_digits": self.last_digits, "expiry": self.expiry}
        # card_response.name has minLength 2 although the request allows 1 character.
        if self.name is not None and len(self.name) >= 2:
            body["name"] = self.name
        paypal_brand = PAYPAL_BRAND[self.brand]
        if paypal_brand is not None:
            body["brand"] = paypal_brand
        body["type"] = card_type(self.brand)
        return body


@dataclass(frozen=True)
class Processor:
    """``processor_response`` of a capture or authorization."""

    response_code: str
    avs_code: str
    cvv_code: str

    def json(self) -> dict[str, str]:
        """The ``processor_response`` object."""
        return {
            "avs_code": self.avs_code,
            "cvv_code": self.cvv_code,
            "response_code": self.response_code,
        }


APPROVED = Processor(response_code="0000", avs_code="Y", cvv_code="M")


def declined(response_code: str) -> Processor:
    """What the sandbox reports for a CCREJECT-* decline (avs G, cvv P)."""
    return Processor(response_code=response_code, avs_code="G", cvv_code="P")


@dataclass
class Order:
    """A checkout order (one purchase unit)."""

    id: str
    intent: str
    status: str
    amount: Amount
    request_id: str | None
    create_time: str
    update_time: str
    reference_id: str = "default"
    invoice_id: str | None = None
    custom_id: str | None = None
    description: str | None = None
    soft_descriptor: str | None = None
    card: CardSummary | None = None
    authorization_ids: list[str] = field(default_factory=list)
    capture_ids: list[str] = field(default_factory=list)


@dataclass
class Authorization:
    """An authorization made by an AUTHORIZE order."""

    id: str
    status: str
    amount: Amount
    order_id: str
    request_id: str | None
    processor: Processor
    create_time: str
    update_time: str
    expiration_time: str
    invoice_id: str | None = None
    custom_id: str | None = None
    captured: int = 0  # minor units captured so far
    capture_ids: list[str] = field(default_factory=list)
    parent_id: str | None = None  # set on a reauthorization: the authorization it renewed
    reauthorization_id: str | None = None  # set on an original once it was reauthorized


@dataclass
class Capture:
    """Money moved (or a declined attempt to move it)."""

    id: str
    status: str
    amount: Amount
    order_id: str
    request_id: str | None
    create_time: str
    update_time: str
    final_capture: bool = True
    authorization_id: str | None = None
    processor: Processor | None = None
    invoice_id: str | None = None
    custom_id: str | None = None
    refunded: int = 0  # minor units refunded so far
    refund_ids: list[str] = field(default_factory=list)

    @property
    def moved_money(self) -> bool:
        """True unless the capture was declined or failed."""
        return self.status not in ("DECLINED", "FAILED")


@dataclass
class Refund:
    """A (partial) refund of a capture."""

    id: str
    status: str
    amount: Amount
    capture_id: str
    request_id: str | None
    create_time: str
    update_time: str
    total_refunded: int  # minor units refunded on the capture once this refund went through
    invoice_id: str | None = None
    custom_id: str | None = None
    note_to_payer: str | None = None
