"""The card's billing address as the caller reads it out: what PayPal's card
``billing_address`` takes, checked like every other free text.

The postal code and address are not card data, but they are the caller's: they go to
PayPal (whose address check answers ``avs_code``) and nowhere else, no log, no audit event,
no receipt. Standard library only: this module is on the charge path.
"""

from __future__ import annotations

from cardline.cde.errors import InvalidRequest
from cardline.cde.pan import contains_pan
from cardline.cde.request_rules import reject_unknown

__all__ = ["BILLING_FIELDS", "BillingAddress", "parse_billing_address"]

# PayPal's card.billing_address supports only these (Orders v2, ``card.billing_address``),
# with address_portable's lengths.
_LIMITS = {
    "address_line_1": 300,
    "address_line_2": 300,
    "admin_area_2": 120,
    "admin_area_1": 300,
    "postal_code": 60,
    "country_code": 2,
}
BILLING_FIELDS = frozenset(_LIMITS)
_WHERE = "card.billing_address"


class BillingAddress:
    """A checked billing address; ``repr`` shows only the country (the rest is the caller's)."""

    __slots__ = ("fields",)

    def __init__(self, fields: tuple[tuple[str, str], ...]) -> None:
        self.fields = fields

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BillingAddress) and other.fields == self.fields

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BillingAddress({dict(self.fields).get('country_code')})"

    def paypal(self) -> dict[str, str]:
        """The ``billing_address`` object for PayPal's Orders API."""
        return dict(self.fields)


def parse_billing_address(raw: object) -> BillingAddress | None:
    """``card.billing_address`` of a payment request: None when absent; ``country_code``
    (two capital letters, ISO 3166-1) is required, as PayPal requires it; every other field
    is 1 to its PayPal length of printable text that holds no card number. Refusals name the
    field, never its value."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidRequest("card.billing_address must be an object", field=_WHERE)
    reject_unknown(raw, BILLING_FIELDS, _WHERE)
    country = raw.get("country_code")
    if not (
        isinstance(country, str) and len(country) == 2 and country.isascii() and country.isupper()
    ):
        raise InvalidRequest(
            "card.billing_address.country_code is required: two capital letters (ISO 3166-1)",
            field=f"{_WHERE}.country_code",
        )
    kept: list[tuple[str, str]] = []
    for name in sorted(raw):
        value = raw[name]
        field = f"{_WHERE}.{name}"
        limit = _LIMITS[name]
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= limit:
            raise InvalidRequest(
                f"{field} must be a string of 1 to {limit} characters", field=field
            )
        if not value.isprintable():
            raise InvalidRequest(f"{field} must be printable text", field=field)
        if contains_pan(value):
            raise InvalidRequest(f"{field} must not contain a card number", field=field)
        kept.append((name, value.strip()))
    return BillingAddress(tuple(kept))
