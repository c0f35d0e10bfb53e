"""Request bodies checked the way PayPal checks them.

Schema problems (missing, wrongly typed, malformed fields) come first, as 400
INVALID_REQUEST; business rules (expired card, wrong security-code length for the brand,
unsupported currency) follow as 422 UNPROCESSABLE_ENTITY. Each error names the field by
JSON pointer and never echoes its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from cardline.sandbox.amounts import Amount, parse_amount
from cardline.sandbox.cards import (
    approval_codes,
    decline_code,
    detect_brand,
    luhn_valid,
    security_code_length,
)
from cardline.sandbox.errors import ApiError, Issue
from cardline.sandbox.records import CardSummary, Processor

CARD = "/payment_source/card"
_EXPIRY = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
_DIGITS = re.compile(r"^[0-9]+$")
MAX_EXPIRY_YEARS = 20


class CardInput:
    """A card as received, held only while one request is processed; never stored."""

    __slots__ = (
        "_number",
        "_postal_code",
        "_security_code",
        "expiry",
        "merchant_initiated",
        "name",
    )

    def __init__(
        self,
        number: str,
        expiry: str,
        security_code: str | None,
        name: str | None,
        merchant_initiated: bool,
        postal_code: str | None = None,
    ) -> None:
        self._number = number
        self._postal_code = postal_code
        self._security_code = security_code
        self.expiry = expiry
        self.name = name
        self.merchant_initiated = merchant_initiated

    def __repr__(self) -> str:
        return f"CardInput(…{self._number[-4:]})"

    def assess(self, today: date) -> tuple[CardSummary, str | None]:
        """Apply PayPal's card rules; the summary to keep plus any decline trigger code."""
        brand = detect_brand(self._number)
        if brand is None:
            raise ApiError(422, Issue("CARD_BRAND_NOT_SUPPORTED", f"{CARD}/number"))
        year, month = int(self.expiry[:4]), int(self.expiry[5:])
        if (year, month) < (today.year, today.month):
            raise ApiError(422, Issue("CARD_EXPIRED", f"{CARD}/expiry"))
        if year > today.year + MAX_EXPIRY_YEARS:
            raise ApiError(422, Issue("INVALID_EXPIRY_DATE", f"{CARD}/expiry"))
        if self.merchant_initiated and self._security_code is not None:
            raise ApiError(
                422, Issue("MERCHANT_INITIATED_WITH_SECURITY_CODE", f"{CARD}/security_code")
            )
        if self._security_code is not None and len(self._security_code) != security_code_length(
            brand
        ):
            raise ApiError(422, Issue("INVALID_SECURITY_CODE_LENGTH", f"{CARD}/security_code"))
        summary = CardSummary(
            brand=brand, last_digits=self._number[-4:], expiry=self.expiry, name=self.name
        )
        return summary, decline_code(self.name)

    def approval(self) -> Processor:
        """The ``processor_response`` of an approval of this card (cards.approval_codes)."""
        avs, cvv = approval_codes(self._number, self._postal_code)
        return Processor(response_code="0000", avs_code=avs, cvv_code=cvv)


@dataclass(frozen=True)
class OrderRequest:
    """A create-order body after validation."""

    intent: str
    amount: Amount
    card: CardInput | None
    reference_id: str = "default"
    invoice_id: str | None = None
    custom_id: str | None = None
    description: str | None = None
    soft_descriptor: str | None = None


def require_object(body: object, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object; ``{}`` for an absent optional body."""
    if body is None and not required:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, Issue("MALFORMED_REQUEST_JSON"))
    return body


def optional_string(
    raw: dict[str, Any], name: str, pointer: str, *, max_length: int, pattern: str | None = None
) -> str | None:
    """An optional string field of 1..``max_length`` characters."""
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or (pattern is not None and not re.match(pattern, value)):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{pointer}/{name}"))
    if not 1 <= len(value) <= max_length:
        raise ApiError(400, Issue("INVALID_STRING_LENGTH", f"{pointer}/{name}"))
    return value


def check_payment_instruction(body: dict[str, Any]) -> None:
    """Schema checks of a capture's or refund's optional ``payment_instruction``: each
    platform fee needs an amount (the emulator keeps none of it: there are no partners)."""
    instruction = body.get("payment_instruction")
    if instruction is None:
        return
    pointer = "/payment_instruction"
    if not isinstance(instruction, dict):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", pointer))
    fees = instruction.get("platform_fees")
    if fees is None:
        return
    if not isinstance(fees, list):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{pointer}/platform_fees"))
    for index, fee in enumerate(fees):
        at = f"{pointer}/platform_fees/{index}"
        if not isinstance(fee, dict):
            raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", at))
        if fee.get("amount") is None:
            raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", f"{at}/amount"))
        parse_amount(fee["amount"], f"{at}/amount", payments_api=True)


def card_in(body: dict[str, Any]) -> object | None:
    """``payment_source.card`` of a body, if it has one (unchecked)."""
    source = body.get("payment_source")
    return source.get("card") if isinstance(source, dict) else None


def parse_payment_source(body: dict[str, Any]) -> CardInput | None:
    """Check ``payment_source``; only cards are emulated."""
    source = body.get("payment_source")
    if source is None:
        return None
    if not isinstance(source, dict):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", "/payment_source"))
    for key in source:
        if key != "card":
            raise ApiError(400, Issue("NOT_SUPPORTED", f"/payment_source/{key}"))
    if "card" not in source:
        raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", CARD))
    return parse_card(source["card"])


def parse_card(raw: object) -> CardInput:
    """Schema checks of ``payment_source.card`` (Luhn included, as PayPal does)."""
    if not isinstance(raw, dict):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", CARD))
    number = _required_string(raw, "number")
    if not _DIGITS.match(number):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{CARD}/number"))
    if not 13 <= len(number) <= 19:
        raise ApiError(400, Issue("INVALID_STRING_LENGTH", f"{CARD}/number"))
    if not luhn_valid(number):
        raise ApiError(400, Issue("INVALID_PARAMETER_VALUE", f"{CARD}/number"))
    expiry = _required_string(raw, "expiry")
    if not _EXPIRY.match(expiry):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{CARD}/expiry"))
    merchant_initiated = _merchant_initiated(raw.get("stored_credential"))
    security_code = raw.get("security_code")
    if security_code is None:
        if not merchant_initiated:
            raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", f"{CARD}/security_code"))
    elif not isinstance(security_code, str) or not re.match(r"^[0-9]{3,4}$", security_code):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{CARD}/security_code"))
    name = optional_string(raw, "name", CARD, max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")
    return CardInput(number, expiry, security_code, name, merchant_initiated, _postal_code(raw))


def _postal_code(raw: dict[str, Any]) -> str | None:
    """The card's ``billing_address.postal_code`` after address_portable's schema checks
    (``country_code`` required, lengths), or None without a billing address."""
    billing = raw.get("billing_address")
    pointer = f"{CARD}/billing_address"
    if billing is None:
        return None
    if not isinstance(billing, dict):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", pointer))
    if billing.get("country_code") is None:
        raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", f"{pointer}/country_code"))
    optional_string(billing, "country_code", pointer, max_length=2, pattern=r"^([A-Z]{2}|C2)$")
    for name, limit in (
        ("address_line_1", 300),
        ("address_line_2", 300),
        ("admin_area_1", 300),
        ("admin_area_2", 120),
    ):
        optional_string(billing, name, pointer, max_length=limit)
    return optional_string(billing, "postal_code", pointer, max_length=60)


def _merchant_initiated(raw: object) -> bool:
    if raw is None:
        return False
    pointer = f"{CARD}/stored_credential"
    if not isinstance(raw, dict):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", pointer))
    initiator = raw.get("payment_initiator")
    if initiator not in ("CUSTOMER", "MERCHANT"):
        raise ApiError(400, Issue("INVALID_PARAMETER_VALUE", f"{pointer}/payment_initiator"))
    return bool(initiator == "MERCHANT")


def _required_string(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    if value is None:
        raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", f"{CARD}/{name}"))
    if not isinstance(value, str):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{CARD}/{name}"))
    return value


def parse_order_request(body: dict[str, Any]) -> OrderRequest:
    """Validate a create-order body: intent, one purchase unit, optional card."""
    intent = body.get("intent")
    if intent is None:
        raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", "/intent"))
    if intent not in ("CAPTURE", "AUTHORIZE"):
        raise ApiError(400, Issue("INVALID_PARAMETER_VALUE", "/intent"))
    units = body.get("purchase_units")
    if units is None:
        raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", "/purchase_units"))
    if not isinstance(units, list):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", "/purchase_units"))
    if not units:
        raise ApiError(400, Issue("INVALID_ARRAY_MIN_ITEMS", "/purchase_units"))
    # PayPal takes up to ten purchase units; a card payment here has exactly one.
    if len(units) > 1:
        raise ApiError(400, Issue("INVALID_ARRAY_MAX_ITEMS", "/purchase_units"))
    unit = units[0]
    pointer = "/purchase_units/0"
    if not isinstance(unit, dict):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", pointer))
    if "amount" not in unit:
        raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", f"{pointer}/amount"))
    strings = {
        "reference_id": optional_string(unit, "reference_id", pointer, max_length=256),
        "invoice_id": optional_string(unit, "invoice_id", pointer, max_length=127),
        "custom_id": optional_string(unit, "custom_id", pointer, max_length=127),
        "description": optional_string(unit, "description", pointer, max_length=127),
        "soft_descriptor": optional_string(unit, "soft_descriptor", pointer, max_length=22),
    }
    card = parse_payment_source(body)
    amount = parse_amount(unit["amount"], f"{pointer}/amount", payments_api=False)
    return OrderRequest(
        intent=intent,
        amount=amount,
        card=card,
        reference_id=strings["reference_id"] or "default",
        invoice_id=strings["invoice_id"],
        custom_id=strings["custom_id"],
        description=strings["description"],
        soft_descriptor=strings["soft_descriptor"],
    )
