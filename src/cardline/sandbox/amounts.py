"""Money as PayPal takes it: ``{currency_code, value}`` with the currency's minor-unit rules.

Amounts are kept as integers of minor units (cents; yen for JPY) so sums never round.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cardline.sandbox.errors import ApiError, Issue

# PayPal's REST currencies -> decimal places (HUF, JPY, TWD take none).
CURRENCY_PLACES: Mapping[str, int] = {
    "AUD": 2, "BRL": 2, "CAD": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "HKD": 2,
    "HUF": 0, "ILS": 2, "JPY": 0, "MYR": 2, "MXN": 2, "TWD": 0, "NZD": 2, "NOK": 2,
    "PHP": 2, "PLN": 2, "GBP": 2, "SGD": 2, "SEK": 2, "CHF": 2, "THB": 2, "USD": 2,
}  # fmt: skip

_VALUE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")  # the spec's money.value pattern
_CODE = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Amount:
    """A positive amount in minor units of ``currency``."""

    currency: str
    minor: int

    @property
    def value(self) -> str:
        """PayPal's decimal string: "12.50", "1000" for JPY."""
        places = CURRENCY_PLACES[self.currency]
        if places == 0:
            return str(self.minor)
        whole, frac = divmod(self.minor, 10**places)
        return f"{whole}.{frac:0{places}d}"

    def json(self) -> dict[str, str]:
        """The ``money`` object."""
        return {"currency_code": self.currency, "value": self.value}

    def with_minor(self, minor: int) -> Amount:
        """Same currency, another amount (may be zero, for fees and remainders)."""
        return Amount(self.currency, minor)


def parse_amount(raw: object, pointer: str, *, payments_api: bool) -> Amount:
    """Validate a ``money`` object at JSON pointer ``pointer``; raise PayPal's error if bad.

    Syntax problems are 400 INVALID_REQUEST; business rules (unknown currency, zero,
    too many decimals) are 422, as PayPal splits them. ``payments_api`` picks the
    Payments v2 issue for decimals on a zero-decimal currency (Orders has only
    DECIMAL_PRECISION).
    """
    if not isinstance(raw, dict):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", pointer))
    currency = _field(raw, "currency_code", pointer)
    value = _field(raw, "value", pointer)
    if not _CODE.match(currency):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{pointer}/currency_code"))
    if len(value) > 32 or not _VALUE.match(value):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{pointer}/value"))
    places = CURRENCY_PLACES.get(currency)
    if places is None:
        raise ApiError(422, Issue("INVALID_CURRENCY_CODE", f"{pointer}/currency_code"))
    negative = value.startswith("-")
    whole, _, frac = value.lstrip("-").partition(".")
    if negative or (int(whole or "0") == 0 and int(frac or "0") == 0):
        raise ApiError(422, Issue("CANNOT_BE_ZERO_OR_NEGATIVE", f"{pointer}/value"))
    if len(frac) > places:
        issue = "DECIMALS_NOT_SUPPORTED" if places == 0 and payments_api else "DECIMAL_PRECISION"
        raise ApiError(422, Issue(issue, f"{pointer}/value"))
    minor = int(whole or "0") * 10**places + int(frac.ljust(places, "0") or "0")
    return Amount(currency, minor)


def requested_amount(body: Mapping[str, Any]) -> Amount | None:
    """The optional ``amount`` of a Payments v2 body (capture, refund, reauthorize)."""
    raw = body.get("amount")
    return None if raw is None else parse_amount(raw, "/amount", payments_api=True)


def within(
    requested: Amount | None,
    limit: Amount,
    *,
    default: Amount | None = None,
    mismatch: str,
    exceeded: str,
) -> Amount:
    """PayPal's partial-amount rule, shared by capture, refund and reauthorize.

    No ``requested`` amount takes ``default`` (all of ``limit`` when there is none); a
    requested one must be in ``limit``'s currency (else 422 ``mismatch``) and at most
    ``limit`` (else 422 ``exceeded``).
    """
    if requested is None:
        return default or limit
    if requested.currency != limit.currency:
        raise ApiError(422, Issue(mismatch, "/amount/currency_code"))
    if requested.minor > limit.minor:
        raise ApiError(422, Issue(exceeded, "/amount/value"))
    return requested


def _field(raw: dict[str, Any], name: str, pointer: str) -> str:
    value = raw.get(name)
    if value is None:
        raise ApiError(400, Issue("MISSING_REQUIRED_PARAMETER", f"{pointer}/{name}"))
    if not isinstance(value, str):
        raise ApiError(400, Issue("INVALID_PARAMETER_SYNTAX", f"{pointer}/{name}"))
    return value


def fee(amount: Amount) -> Amount:
    """A plausible PayPal fee (2.9 %, rounded half up) so breakdowns add up."""
    return amount.with_minor((amount.minor * 29 + 500) // 1000)
