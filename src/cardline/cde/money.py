"""Money as PayPal takes it: a Decimal amount in one of PayPal's currencies.

Amounts arrive as decimal strings (``"12.50"``), never as JSON numbers: a float cannot hold
most cent values exactly. Nothing is rounded: an amount with more decimal places than its
currency allows is refused, not quietly changed.

Standard library only: this module is on the charge path.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from types import MappingProxyType

from cardline.cde.errors import InvalidAmount
from cardline.cde.values import FrozenValue

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import NoReturn

__all__ = ["CURRENCIES", "MAX_VALUE", "Money", "parse_money"]

CURRENCIES: Mapping[str, int] = MappingProxyType(
    {
        "AUD": 2,
        "BRL": 2,
        "CAD": 2,
        "CNY": 2,
        "CZK": 2,
        "DKK": 2,
        "EUR": 2,
        "HKD": 2,
        "HUF": 0,
        "ILS": 2,
        "JPY": 0,
        "MYR": 2,
        "MXN": 2,
        "TWD": 0,
        "NZD": 2,
        "NOK": 2,
        "PHP": 2,
        "PLN": 2,
        "GBP": 2,
        "SGD": 2,
        "SEK": 2,
        "CHF": 2,
        "THB": 2,
        "USD": 2,
    }
)
"""PayPal-supported ISO 4217 currency codes and their number of decimal places."""

MAX_VALUE = Decimal("1000000")
"""Exclusive upper bound on an amount accepted by :func:`parse_money`, in any currency."""

# PayPal's ``money.value`` has at most 32 characters.
_MAX_AMOUNT_TEXT = 32
# Money built directly (e.g. by adding) must stay far below what the Decimal context can
# hold exactly, so quantizing never rounds.
_HARD_LIMIT = Decimal(10) ** 18
_PRECISION = 40

_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
_AMOUNT_WITH_EXPONENT = re.compile(r"[+-]?[0-9]*\.?[0-9]*[eE][+-]?[0-9]+", re.ASCII)
_AMOUNT_EXPECTED = 'Amount must be a decimal string such as "12.50"'


def _invalid(detail: str, field: str = "amount") -> NoReturn:
    raise InvalidAmount(detail, field=field)


def _places_message(currency: str, places: int) -> str:
    if places == 0:
        return f"{currency} amounts take no decimal places"
    return f"{currency} amounts take at most {places} decimal places"


class Money(FrozenValue):
    """An exact amount in a PayPal currency. Immutable.

    Built directly, the amount may be zero or negative (a difference), but it must be
    finite and have no more decimal places than the currency allows; it is stored
    quantized to the currency's places. Use :func:`parse_money` for input.
    """

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal, currency: str) -> None:
        if not isinstance(amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")
        if not isinstance(currency, str):
            raise TypeError("Money.currency must be a str")
        places = CURRENCIES.get(currency)
        if places is None:
            _invalid("The currency is not supported by PayPal", "currency")
        if not amount.is_finite() or abs(amount) >= _HARD_LIMIT:
            _invalid("Amount is out of range")
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            quantized = amount.quantize(Decimal(1).scaleb(-places))
        if quantized != amount:
            _invalid(_places_message(currency, places))
        if quantized.is_zero():
            quantized = quantized.copy_abs()  # no "-0.00"
        object.__setattr__(self, "amount", quantized)
        object.__setattr__(self, "currency", currency)

    @property
    def places(self) -> int:
        """The currency's number of decimal places."""
        return CURRENCIES[self.currency]

    @property
    def value(self) -> str:
        """PayPal's ``value`` string, with exactly the currency's places: "12.50", "1000"."""
        return format(self.amount, "f")

    @property
    def minor_units(self) -> int:
        """The amount in the currency's smallest unit: 1250 for USD 12.50, 1000 for JPY 1000."""
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return int(self.amount.scaleb(self.places))

    def __str__(self) -> str:
        return f"{self.value} {self.currency}"

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            _invalid(
                f"Amounts in different currencies cannot be combined ({self.currency} and "
                f"{other.currency})",
                "currency",
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount >= other.amount


def _parse_currency(currency: object) -> str:
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
    ):
        _invalid('Currency must be a three-letter code such as "USD"', "currency")
    if not currency.isupper():
        _invalid('Currency codes are upper case, such as "USD"', "currency")
    if currency not in CURRENCIES:
        _invalid(
            "Currency is not supported by PayPal; use one of " + ", ".join(sorted(CURRENCIES)),
            "currency",
        )
    return currency


def _parse_amount_text(text: str) -> tuple[Decimal, int]:
    """The amount and its number of written decimal places."""
    text = text.strip()
    if len(text) > _MAX_AMOUNT_TEXT:
        _invalid(f"Amount must be at most {_MAX_AMOUNT_TEXT} characters")
    m = _AMOUNT.fullmatch(text)
    if m is None:
        if _AMOUNT_WITH_EXPONENT.fullmatch(text):
            _invalid('Amount must be written without an exponent, such as "1000.00"')
        _invalid(_AMOUNT_EXPECTED)
    sign, whole, fraction = m.groups()
    return Decimal(f"{sign}{whole}.{fraction or '0'}"), len(fraction or "")


def parse_money(amount: object, currency: object) -> Money:
    """Validate an amount and currency as received from a client.

    ``amount`` is a decimal string ("12.50", "12.5", "1000") or a Decimal; floats, ints,
    bools and None are refused, as are exponents, NaN and Infinity. It must be greater than
    zero, below :data:`MAX_VALUE`, and have at most the currency's decimal places (nothing
    is rounded: "12.505" USD is refused). ``currency`` is an upper-case code in
    :data:`CURRENCIES`. Raises InvalidAmount with ``field`` "amount" or "currency".
    """
    code = _parse_currency(currency)
    places = CURRENCIES[code]
    if isinstance(amount, bool):
        _invalid(f"{_AMOUNT_EXPECTED}, not true or false")
    if isinstance(amount, int | float):
        _invalid(f"{_AMOUNT_EXPECTED}, not a number: numbers cannot hold cents exactly")
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            _invalid(_AMOUNT_EXPECTED)
        value = amount
        exponent = amount.as_tuple().exponent
        written_places = max(0, -exponent) if isinstance(exponent, int) else 0
    elif isinstance(amount, str):
        value, written_places = _parse_amount_text(amount)
    else:
        _invalid(_AMOUNT_EXPECTED)
    if value <= 0:
        _invalid("Amount must be greater than zero")
    if written_places > places:
        _invalid(_places_message(code, places))
    if value >= MAX_VALUE:
        _invalid(f"Amount must be less than {MAX_VALUE} {code}")
    return Money(value, code)
