"""Card rules of the PayPal sandbox: brands, Luhn, security codes, test cards, decline triggers.

Deliberately independent of ``cardline.cde.card``: the emulator is a second opinion on what
PayPal accepts, so it must not share the code it is testing.
"""

from __future__ import annotations

from collections.abc import Mapping

# PayPal's sandbox test cards (any future expiry; CVV 3 digits, 4 for Amex). Any other
# Luhn-valid number of a supported brand is approved too.
TEST_CARDS: Mapping[str, str] = {
    "VISA": "4012888888881881",
    "VISA_2": "4005519200000004",
    "MASTERCARD": "2223000048400011",
    "AMEX": "371449635398431",
}

# Cardholder names that make the sandbox decline: name -> processor response code.
DECLINE_TRIGGERS: Mapping[str, str] = {
    "CCREJECT-REFUSED": "0500",  # DO_NOT_HONOR
    "CCREJECT-SF": "9500",  # SUSPECTED_FRAUD
    "CCREJECT-EC": "5400",  # EXPIRED_CARD
    "CCREJECT-IRC": "5180",  # INVALID_OR_RESTRICTED_CARD
    "CCREJECT-IF": "5120",  # INSUFFICIENT_FUNDS
    "CCREJECT-LS": "9520",  # LOST_OR_STOLEN
    "CCREJECT-IA": "1330",  # INVALID_ACCOUNT
    "CCREJECT-BANK_ERROR": "5100",  # GENERIC_DECLINE
    "CCREJECT-CVV_F": "00N7",  # CVV2 failure
}

# What an approval answers for the address and security-code checks (PayPal's avs_code and
# cvv_code), chosen by the billing postal code and by test card: by default the address and
# five-digit ZIP match (Y) and the security code matches (M).
AVS_BY_POSTAL_CODE: Mapping[str, str] = {
    "00000": "N",  # neither address nor postal code matches
    "11111": "A",  # the address matches, the postal code does not
    "22222": "Z",  # the postal code matches, the address does not
    "33333": "U",  # the issuer gave no address check
}
# Approved, but the security code did not match: the issuer left the decision to the merchant.
CVV_MISMATCH_CARDS = frozenset({"4111111111111111"})


def approval_codes(number: str, postal_code: str | None) -> tuple[str, str]:
    """(avs_code, cvv_code) of an approval of card ``number`` billed at ``postal_code``."""
    avs = AVS_BY_POSTAL_CODE.get(postal_code or "", "Y")
    return avs, "N" if number in CVV_MISMATCH_CARDS else "M"


# brand -> (IIN prefixes, allowed lengths). Checked in this order: the more specific first.
_BRANDS: tuple[tuple[str, tuple[str, ...], tuple[int, ...]], ...] = (
    ("AMEX", ("34", "37"), (15,)),
    ("DINERS", ("300", "301", "302", "303", "304", "305", "36", "38", "39"), tuple(range(14, 20))),
    ("JCB", tuple(str(p) for p in range(3528, 3590)), (16, 17, 18, 19)),
    ("DISCOVER", ("6011", "644", "645", "646", "647", "648", "649", "65"), (16, 17, 18, 19)),
    ("UNIONPAY", ("62",), (16, 17, 18, 19)),
    (
        "MAESTRO",
        ("50", "56", "57", "58", "6304", "6759", "6761", "6762", "6763", "67"),
        tuple(range(13, 20)),
    ),
    ("MASTERCARD", ("51", "52", "53", "54", "55", *(str(p) for p in range(2221, 2721))), (16,)),
    ("VISA", ("4",), (13, 16, 19)),
)

# Our brand names -> PayPal's ``card_brand`` enum. Orders v2.13 has no Diners Club value,
# so the emulator leaves ``brand`` out for Diners rather than answer outside the schema.
PAYPAL_BRAND: Mapping[str, str | None] = {
    "VISA": "VISA",
    "MASTERCARD": "MASTERCARD",
    "AMEX": "AMEX",
    "DISCOVER": "DISCOVER",
    "JCB": "JCB",
    "DINERS": None,
    "UNIONPAY": "CHINA_UNION_PAY",
    "MAESTRO": "MAESTRO",
}


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` (ASCII digits only) passes the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def detect_brand(digits: str) -> str | None:
    """The brand whose IIN prefix and length fit ``digits``, or None."""
    for brand, prefixes, lengths in _BRANDS:
        if len(digits) in lengths and digits.startswith(prefixes):
            return brand
    return None


def security_code_length(brand: str) -> int:
    """How many digits the card security code has for ``brand``."""
    return 4 if brand == "AMEX" else 3


def card_type(brand: str) -> str:
    """PayPal's ``card_response.type`` the sandbox reports for ``brand``."""
    return "DEBIT" if brand == "MAESTRO" else "CREDIT"


def decline_code(name: str | None) -> str | None:
    """The processor response code a CCREJECT-* cardholder name triggers, if any."""
    if name is None:
        return None
    return DECLINE_TRIGGERS.get(name.strip().upper())
