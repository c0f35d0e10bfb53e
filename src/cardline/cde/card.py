"""Card data: parsing, validation and masking of a card read out over the phone.

The full card number (PAN) and security code (CVV) live only inside a :class:`Card`, which
never shows them: its ``repr``, ``str`` and format give the brand and last four digits, and
it refuses to be pickled or copied. Every :class:`~cardline.cde.errors.InvalidCard` raised here
names the field at fault and says what is expected, never what was received.

Standard library only: this module is on the charge path.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import date
from enum import StrEnum

from cardline.cde import pan
from cardline.cde.errors import InvalidCard
from cardline.cde.request_rules import MAX_NAME_LENGTH
from cardline.cde.values import FrozenValue

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PAN_LENGTH",
    "MAX_YEARS_AHEAD",
    "MIN_PAN_LENGTH",
    "Brand",
    "Card",
    "Expiry",
    "detect_brand",
    "luhn_valid",
    "normalize_pan",
    "parse_expiry",
    "parse_number",
    "parse_security_code",
]

MIN_PAN_LENGTH = 13  # PayPal accepts 13 to 19 digits
MAX_PAN_LENGTH = 19
MAX_YEARS_AHEAD = 20

_NUMBER = "card.number"
_EXPIRY = "card.expiry"
_SECURITY_CODE = "card.security_code"
_NAME = "card.name"


class Brand(StrEnum):
    """A card brand; values are PayPal's ``card_brand`` enum spellings."""

    VISA = "VISA"
    MASTERCARD = "MASTERCARD"
    AMEX = "AMEX"
    DISCOVER = "DISCOVER"
    JCB = "JCB"
    DINERS = "DINERS"
    UNIONPAY = "CHINA_UNION_PAY"
    MAESTRO = "MAESTRO"

    @classmethod
    def _missing_(cls, value: object) -> Brand | None:
        # Accept the member name as an alias: Brand("UNIONPAY") is Brand.UNIONPAY.
        if isinstance(value, str):
            return cls.__members__.get(value)
        return None

    @property
    def display(self) -> str:
        """The brand's name as shown to people, e.g. "American Express"."""
        return _DISPLAY[self]

    @property
    def security_code_length(self) -> int:
        """How many digits this brand's security code has (4 for American Express)."""
        return 4 if self is Brand.AMEX else 3


_DISPLAY: dict[Brand, str] = {
    Brand.VISA: "Visa",
    Brand.MASTERCARD: "Mastercard",
    Brand.AMEX: "American Express",
    Brand.DISCOVER: "Discover",
    Brand.JCB: "JCB",
    Brand.DINERS: "Diners Club",
    Brand.UNIONPAY: "UnionPay",
    Brand.MAESTRO: "Maestro",
}


# One IIN range: (prefix length, lowest prefix, highest prefix, card lengths, brand).
_Range = tuple[int, str, str, frozenset[int], Brand]


def _ranges(brand: Brand, lengths: range | tuple[int, ...], *spans: str) -> list[_Range]:
    out = []
    for span in spans:
        low, _, high = span.partition("-")
        out.append((len(low), low, high or low, frozenset(lengths), brand))
    return out


# Longest prefix first, so a more specific range wins over a broader one that contains it
# (Discover's 622126-622925 over UnionPay's 62).
_IIN_RANGES: tuple[_Range, ...] = tuple(
    sorted(
        [
            *_ranges(Brand.VISA, (13, 16, 19), "4"),
            *_ranges(Brand.MASTERCARD, (16,), "51-55", "2221-2720"),
            *_ranges(Brand.AMEX, (15,), "34", "37"),
            *_ranges(Brand.DISCOVER, range(16, 20), "6011", "644-649", "65", "622126-622925"),
            *_ranges(Brand.JCB, range(16, 20), "3528-3589"),
            *_ranges(Brand.DINERS, range(14, 20), "300-305", "3095", "36", "38", "39"),
            *_ranges(Brand.UNIONPAY, range(16, 20), "62"),
            *_ranges(
                Brand.MAESTRO,
                range(13, 20),
                "50",
                "56-58",
                "6304",
                "6390",
                "6759",
                "676770",
                "676774",
            ),
        ],
        key=lambda r: -r[0],
    )
)

# The ranges by their first digit (a range's lowest and highest prefix share it, so every
# number in the range does), longest prefix still first: a look-up walks only its own.
assert all(low[0] == high[0] for _, low, high, _, _ in _IIN_RANGES)
_IIN_BY_FIRST_DIGIT: dict[str, tuple[_Range, ...]] = {
    digit: tuple(r for r in _IIN_RANGES if r[1][0] == digit) for digit in "0123456789"
}

# Longer than any card number could be even with a separator between every digit.
_MAX_RAW_PAN_LENGTH = 64


def _invalid(detail: str, field: str) -> NoReturn:
    raise InvalidCard(detail, field=field)


def parse_number(number: str) -> tuple[str, Brand]:
    """The card number's digits and its brand; InvalidCard (naming the field, never the
    number) when the check digit is wrong or no supported brand has the number."""
    digits = normalize_pan(number)
    if not luhn_valid(digits):
        _invalid("The card number is not valid (check digit)", _NUMBER)
    brand = detect_brand(digits)
    if brand is None:
        _invalid("The card number is not a supported card brand", _NUMBER)
    return digits, brand


def _is_digits(text: str) -> bool:
    # str.isdigit() alone also accepts non-ASCII digits ("٤", "²"); card data is ASCII only.
    return text.isascii() and text.isdigit()


def normalize_pan(raw: str) -> str:
    """Return the card number's digits, dropping spaces and dashes.

    Raises InvalidCard (field ``card.number``) for any other character or for a length
    outside 12-19 digits.
    """
    if not isinstance(raw, str):
        _invalid("The card number must be a string of digits", _NUMBER)
    if len(raw) > _MAX_RAW_PAN_LENGTH:
        _invalid(f"The card number must be {MIN_PAN_LENGTH} to {MAX_PAN_LENGTH} digits", _NUMBER)
    digits = raw.replace(" ", "").replace("-", "")
    if not digits:
        _invalid("The card number is required", _NUMBER)
    if not _is_digits(digits):
        _invalid("The card number may contain only digits, spaces and dashes", _NUMBER)
    if not MIN_PAN_LENGTH <= len(digits) <= MAX_PAN_LENGTH:
        _invalid(f"The card number must be {MIN_PAN_LENGTH} to {MAX_PAN_LENGTH} digits", _NUMBER)
    return digits


def luhn_valid(digits: str) -> bool:
    """True if ``digits`` (ASCII digits only) passes the Luhn (mod 10) check."""
    if not _is_digits(digits):
        return False
    # Every second digit from the right counts double, less 9 when that is more than 9.
    total = sum(map(int, digits[-1::-2])) + sum(map(_LUHN_DOUBLED.__getitem__, digits[-2::-2]))
    return total % 10 == 0


_LUHN_DOUBLED = {str(d): 2 * d - 9 if d > 4 else 2 * d for d in range(10)}


def detect_brand(digits: str) -> Brand | None:
    """The brand whose IIN range matches ``digits`` and whose valid lengths include its length.

    The most specific (longest) matching range wins. Returns None for an unknown brand.
    """
    if not _is_digits(digits):
        return None
    length = len(digits)
    for size, low, high, lengths, brand in _IIN_BY_FIRST_DIGIT[digits[0]]:
        # Every valid length is longer than any prefix: the slice is a whole prefix.
        if length in lengths and low <= digits[:size] <= high:
            return brand
    return None


class Expiry(FrozenValue):
    """A card's expiry month; the card is valid through the last day of that month."""

    year: int
    month: int

    def __init__(self, year: int, month: int) -> None:
        if not 1 <= month <= 12:
            _invalid("The expiry month must be between 01 and 12", _EXPIRY)
        if not 1 <= year <= 9999:
            _invalid("The expiry year is not valid", _EXPIRY)
        object.__setattr__(self, "year", year)
        object.__setattr__(self, "month", month)

    @property
    def paypal(self) -> str:
        """PayPal's ``YYYY-MM`` form."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def display(self) -> str:
        """The ``MM/YY`` form printed on cards."""
        return f"{self.month:02d}/{self.year % 100:02d}"


_EXPIRY_MONTH_FIRST = re.compile(r"([0-9]{1,2})\s*/\s*([0-9]{2}|[0-9]{4})", re.ASCII)
_EXPIRY_YEAR_FIRST = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_EXPIRY_FORMAT_MESSAGE = 'The expiry date must look like "MM/YY", "MM/YYYY" or "YYYY-MM"'


def parse_expiry(raw: str, *, today: date | None = None) -> Expiry:
    """Parse ``MM/YY``, ``MM/YYYY`` or ``YYYY-MM`` (spaces allowed around the parts).

    Raises InvalidCard (field ``card.expiry``) for another format, a month outside 1-12, an
    expired card (the card is valid through the end of its month) or a date more than
    20 years ahead. ``today`` defaults to the current local date.
    """
    if not isinstance(raw, str):
        _invalid(_EXPIRY_FORMAT_MESSAGE, _EXPIRY)
    text = raw.strip()
    if m := _EXPIRY_MONTH_FIRST.fullmatch(text):
        month, year_text = int(m[1]), m[2]
        year = 2000 + int(year_text) if len(year_text) == 2 else int(year_text)
    elif m := _EXPIRY_YEAR_FIRST.fullmatch(text):
        year, month = int(m[1]), int(m[2])
    else:
        _invalid(_EXPIRY_FORMAT_MESSAGE, _EXPIRY)
    expiry = Expiry(year=year, month=month)  # checks the month's range
    today = today or date.today()
    months_ahead = (expiry.year - today.year) * 12 + (expiry.month - today.month)
    if months_ahead < 0:
        _invalid("The card has expired", _EXPIRY)
    if months_ahead > MAX_YEARS_AHEAD * 12:
        _invalid(
            f"The expiry date must be within {MAX_YEARS_AHEAD} years from now",
            _EXPIRY,
        )
    return expiry


def parse_security_code(raw: str, brand: Brand) -> str:
    """Return the security code if it has the brand's number of digits (4 for Amex, else 3).

    Surrounding spaces are dropped. Raises InvalidCard (field ``card.security_code``).
    """
    expected = brand.security_code_length
    message = f"The security code must be {expected} digits for {brand.display} cards"
    if not isinstance(raw, str):
        _invalid(message, _SECURITY_CODE)
    code = raw.strip(" ")
    if len(code) != expected or not _is_digits(code):
        _invalid(message, _SECURITY_CODE)
    return code


# Control, format, surrogate, private-use and unassigned characters, and line/paragraph
# separators: nothing a printed card carries, and a way to smuggle line breaks into logs.
_NAME_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _parse_name(raw: str) -> str:
    if not isinstance(raw, str):
        _invalid("The cardholder name must be text", _NAME)
    name = raw.strip()
    if not name:
        _invalid("The cardholder name is required", _NAME)
    if len(name) > MAX_NAME_LENGTH:
        _invalid(f"The cardholder name must be at most {MAX_NAME_LENGTH} characters", _NAME)
    # isprintable() is False for every forbidden category (and for spaces other than " "):
    # the per-character look-up runs only for names that need it.
    if not name.isprintable() and any(
        unicodedata.category(c) in _NAME_FORBIDDEN_CATEGORIES for c in name
    ):
        _invalid("The cardholder name may contain only printable characters", _NAME)
    # A number keyed into the name field would travel on as if it were not card data; a name
    # has no use for a dozen digits, even ones that fail the Luhn check (a mistyped number).
    if pan.contains_pan(name) or sum(map(str.isdecimal, unicodedata.normalize("NFKC", name))) >= 12:
        _invalid("The cardholder name must not contain a card number", _NAME)
    return name


_NOT_SERIALIZABLE = "Card objects cannot be serialized"


class Card:
    """A validated card. Holds the PAN and CVV for one request and never reveals them.

    Build one with :meth:`Card.parse`. ``repr``, ``str`` and ``format`` give only
    ``Card(Visa •••• 1881)``; pickling and copying raise TypeError, and ``json.dumps``
    fails with the default TypeError, which names only the type.
    """

    __slots__ = ("_brand", "_expiry", "_last4", "_name", "_pan", "_security_code")

    _pan: str
    _security_code: str
    _brand: Brand
    _last4: str
    _expiry: Expiry
    _name: str

    def __init__(
        self,
        *,
        number: str,
        expiry: str,
        security_code: str,
        name: str,
        today: date | None = None,
    ) -> None:
        """Validate every field; see :meth:`parse`."""
        pan, brand = parse_number(number)
        self._expiry = parse_expiry(expiry, today=today)
        self._security_code = parse_security_code(security_code, brand)
        self._name = _parse_name(name)
        self._pan = pan
        self._brand = brand
        self._last4 = pan[-4:]

    @classmethod
    def parse(
        cls,
        *,
        number: str,
        expiry: str,
        security_code: str,
        name: str,
        today: date | None = None,
    ) -> Card:
        """Validate the card fields as keyed by an agent or caller.

        Checks, in order: number (digits, spaces and dashes; 12-19 digits; Luhn; a supported
        brand), expiry, security code (length by brand), cardholder name. Raises
        InvalidCard whose ``field`` is ``card.number``, ``card.expiry``,
        ``card.security_code`` or ``card.name``; its message never contains the input.
        """
        return cls(
            number=number, expiry=expiry, security_code=security_code, name=name, today=today
        )

    @property
    def brand(self) -> Brand:
        """The card brand detected from the number."""
        return self._brand

    @property
    def last4(self) -> str:
        """The last four digits of the number."""
        return self._last4

    @property
    def expiry(self) -> Expiry:
        """The expiry month."""
        return self._expiry

    @property
    def name(self) -> str:
        """The cardholder name, stripped."""
        return self._name

    @property
    def masked(self) -> str:
        """Brand and last four digits only, e.g. ``Visa •••• 1881``."""
        return f"{self._brand.display} •••• {self._last4}"

    def paypal_card(self) -> dict[str, str]:
        """The ``payment_source.card`` fields for PayPal's Orders API (holds the PAN and CVV)."""
        self._check_not_wiped()
        return {
            "number": self._pan,
            "expiry": self._expiry.paypal,
            "security_code": self._security_code,
            "name": self._name,
        }

    def keyed_digest(self, key: bytes) -> str:
        """HMAC-SHA256 of the PAN under ``key``, as hex: a fingerprint, never a plain hash."""
        if not isinstance(key, bytes) or not key:
            raise ValueError("keyed_digest needs a non-empty bytes key")
        self._check_not_wiped()
        return hmac.digest(key, self._pan.encode("ascii"), "sha256").hex()

    def wipe(self) -> None:
        """Drop this object's references to the PAN and CVV (best effort in Python).

        The brand, last four digits, expiry and name stay readable; :meth:`paypal_card`
        and :meth:`keyed_digest` raise RuntimeError afterwards.
        """
        self._pan = ""
        self._security_code = ""

    def _check_not_wiped(self) -> None:
        if not self._pan:
            raise RuntimeError("The card data has been wiped")

    def __repr__(self) -> str:
        return f"Card({self.masked})"

    def __str__(self) -> str:
        return self.__repr__()

    def __format__(self, format_spec: str) -> str:
        return format(self.__repr__(), format_spec)

    # Every route to a copy or a serialized form of the object ends here.
    def __reduce__(self) -> NoReturn:
        raise TypeError(_NOT_SERIALIZABLE)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(_NOT_SERIALIZABLE)

    def __getstate__(self) -> NoReturn:
        raise TypeError(_NOT_SERIALIZABLE)

    def __copy__(self) -> NoReturn:
        raise TypeError(_NOT_SERIALIZABLE)

    def __deepcopy__(self, memo: Any) -> NoReturn:
        raise TypeError(_NOT_SERIALIZABLE)
