"""cardline.cde.card: parsing, brand detection, expiry, security codes and never leaking the PAN."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import pickle
from datetime import date

import pytest

from cardline.cde.card import (
    Brand,
    Card,
    Expiry,
    detect_brand,
    luhn_valid,
    normalize_pan,
    parse_expiry,
    parse_security_code,
)
from cardline.cde.errors import InvalidCard

TODAY = date(2025, 6, 15)
GOOD_EXPIRY = "12/29"

# Public test numbers (each checked against Luhn in test_public_test_numbers_pass_luhn).
TEST_NUMBERS: list[tuple[str, Brand]] = [
    ("4012888888881881", Brand.VISA),
    ("4005519200000004", Brand.VISA),
    ("4111111111111111", Brand.VISA),
    ("2223000048400011", Brand.MASTERCARD),
    ("5555555555554444", Brand.MASTERCARD),
    ("371449635398431", Brand.AMEX),
    ("378282246310005", Brand.AMEX),
    ("6011111111111117", Brand.DISCOVER),
    ("3530111333300000", Brand.JCB),
    ("36227206271667", Brand.DINERS),
    ("30569309025904", Brand.DINERS),
    ("6200000000000005", Brand.UNIONPAY),
    ("6759649826438453", Brand.MAESTRO),
]

VISA = "4012888888881881"
AMEX = "371449635398431"
CVV = "739"
AMEX_CVV = "7391"


def with_check_digit(payload: str) -> str:
    """``payload`` plus the Luhn check digit that makes it valid (independent of cardline)."""
    total = 0
    for position, c in enumerate(reversed(payload)):
        d = int(c)
        if position % 2 == 0:  # the digit left of the check digit is doubled
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return payload + str((10 - total % 10) % 10)


def make_number(prefix: str, length: int) -> str:
    return with_check_digit(prefix + "0" * (length - len(prefix) - 1))


def parse(
    number: str = VISA,
    expiry: str = GOOD_EXPIRY,
    security_code: str = CVV,
    name: str = "Ada Lovelace",
    today: date = TODAY,
) -> Card:
    return Card.parse(
        number=number, expiry=expiry, security_code=security_code, name=name, today=today
    )


def assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


def assert_error_hides(error: InvalidCard, *secrets: str) -> None:
    for rendering in (str(error), repr(error), error.detail, json.dumps(error.problem())):
        assert_hidden(rendering, *secrets)


# --- brand detection -----------------------------------------------------------------------


@pytest.mark.parametrize(("number", "brand"), TEST_NUMBERS)
def test_public_test_numbers_pass_luhn(number: str, brand: Brand) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(("number", "brand"), TEST_NUMBERS)
def test_detects_brand_of_public_test_number(number: str, brand: Brand) -> None:
    assert detect_brand(number) is brand


@pytest.mark.parametrize(("number", "brand"), TEST_NUMBERS)
def test_parse_accepts_public_test_number(number: str, brand: Brand) -> None:
    code = AMEX_CVV if brand is Brand.AMEX else CVV
    card = parse(number=number, security_code=code)
    assert card.brand is brand
    assert card.last4 == number[-4:]


@pytest.mark.parametrize(
    ("prefix", "length", "brand"),
    [
        ("622126", 16, Brand.DISCOVER),  # Discover's co-branded range wins over UnionPay's 62
        ("622925", 16, Brand.DISCOVER),
        ("622125", 16, Brand.UNIONPAY),
        ("622926", 16, Brand.UNIONPAY),
        ("62", 19, Brand.UNIONPAY),
        ("644", 16, Brand.DISCOVER),
        ("649", 19, Brand.DISCOVER),
        ("65", 16, Brand.DISCOVER),
        ("2221", 16, Brand.MASTERCARD),
        ("2720", 16, Brand.MASTERCARD),
        ("51", 16, Brand.MASTERCARD),
        ("55", 16, Brand.MASTERCARD),
        ("34", 15, Brand.AMEX),
        ("3528", 16, Brand.JCB),
        ("3589", 19, Brand.JCB),
        ("300", 14, Brand.DINERS),
        ("305", 14, Brand.DINERS),
        ("3095", 16, Brand.DINERS),
        ("38", 14, Brand.DINERS),
        ("39", 19, Brand.DINERS),
        ("4", 13, Brand.VISA),
        ("4", 19, Brand.VISA),
        ("50", 13, Brand.MAESTRO),
        ("56", 16, Brand.MAESTRO),
        ("58", 19, Brand.MAESTRO),
        ("6304", 16, Brand.MAESTRO),
        ("6390", 16, Brand.MAESTRO),
        ("676770", 16, Brand.MAESTRO),
        ("676774", 18, Brand.MAESTRO),
    ],
)
def test_detects_brand_by_iin_range_and_length(prefix: str, length: int, brand: Brand) -> None:
    assert detect_brand(make_number(prefix, length)) is brand


@pytest.mark.parametrize(
    ("prefix", "length"),
    [
        ("2220", 16),  # just below Mastercard's 2-series
        ("2721", 16),  # just above it
        ("3527", 16),  # just below JCB
        ("3590", 16),  # just above JCB
        ("306", 14),  # between Diners 300-305 and 3095
        ("3096", 14),
        ("1", 16),
        ("9", 16),
        ("4", 15),  # Visa is 13, 16 or 19 digits
        ("34", 16),  # Amex is 15 digits
        ("51", 15),  # Mastercard is 16 digits
        ("6011", 15),  # Discover is 16-19 digits
        ("36", 13),  # Diners is 14-19 digits
    ],
)
def test_unknown_range_or_length_has_no_brand(prefix: str, length: int) -> None:
    assert detect_brand(make_number(prefix, length)) is None


def test_detect_brand_of_non_digits_is_none() -> None:
    assert detect_brand("") is None
    assert detect_brand("4012 8888 8888 1881") is None


def test_unsupported_brand_is_refused_with_a_clear_message() -> None:
    number = make_number("9", 16)
    with pytest.raises(InvalidCard) as info:
        parse(number=number)
    assert info.value.field == "card.number"
    assert info.value.detail == "The card number is not a supported card brand"
    assert_error_hides(info.value, number)


def test_brand_values_are_paypal_spellings() -> None:
    assert [b.value for b in Brand] == [
        "VISA",
        "MASTERCARD",
        "AMEX",
        "DISCOVER",
        "JCB",
        "DINERS",
        "CHINA_UNION_PAY",
        "MAESTRO",
    ]


def test_brand_accepts_member_name_as_alias() -> None:
    assert Brand("UNIONPAY") is Brand.UNIONPAY
    assert Brand("CHINA_UNION_PAY") is Brand.UNIONPAY
    with pytest.raises(ValueError, match="is not a valid Brand"):
        Brand("PAYPAL")


@pytest.mark.parametrize(
    ("brand", "display"),
    [
        (Brand.VISA, "Visa"),
        (Brand.MASTERCARD, "Mastercard"),
        (Brand.AMEX, "American Express"),
        (Brand.DISCOVER, "Discover"),
        (Brand.JCB, "JCB"),
        (Brand.DINERS, "Diners Club"),
        (Brand.UNIONPAY, "UnionPay"),
        (Brand.MAESTRO, "Maestro"),
    ],
)
def test_brand_display_names(brand: Brand, display: str) -> None:
    assert brand.display == display


# --- number normalization and Luhn ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "4012888888881881",
        "4012 8888 8888 1881",
        "4012-8888-8888-1881",
        " 4012 - 8888 - 8888 - 1881 ",
        "4012888888881881 ",
    ],
)
def test_normalize_pan_drops_spaces_and_dashes(raw: str) -> None:
    assert normalize_pan(raw) == VISA


@pytest.mark.parametrize(
    "raw",
    [
        "4012888888881881a",
        "4O12888888881881",  # letter O for zero
        "4012.8888.8888.1881",
        "4012/8888/8888/1881",
        "+4012888888881881",
        "4012\t8888\t8888\t1881",
        "4012\n8888888881881",
        "４０１２８８８８８８８８１８８１",  # full-width digits
        "٤٠١٢888888881881",  # Arabic-Indic digits
    ],
)
def test_normalize_pan_rejects_other_characters(raw: str) -> None:
    with pytest.raises(InvalidCard) as info:
        normalize_pan(raw)
    assert info.value.field == "card.number"
    assert info.value.detail == "The card number may contain only digits, spaces and dashes"
    assert_error_hides(info.value, raw, VISA, "8888888")


@pytest.mark.parametrize("raw", ["40128888888", "4" * 20, "4012 8888 8888 1881 0000", "1" * 100])
def test_normalize_pan_rejects_wrong_length(raw: str) -> None:
    with pytest.raises(InvalidCard) as info:
        normalize_pan(raw)
    assert info.value.field == "card.number"
    assert info.value.detail == "The card number must be 13 to 19 digits"
    assert_error_hides(info.value, raw)


def test_normalize_pan_accepts_length_bounds() -> None:
    assert normalize_pan("5" * 13) == "5" * 13
    assert normalize_pan("5" * 19) == "5" * 19


@pytest.mark.parametrize("raw", ["", "   ", " - - "])
def test_normalize_pan_requires_a_number(raw: str) -> None:
    with pytest.raises(InvalidCard, match="The card number is required"):
        normalize_pan(raw)


@pytest.mark.parametrize("raw", [None, 4012888888881881, b"4012888888881881"])
def test_normalize_pan_rejects_non_strings(raw: object) -> None:
    with pytest.raises(InvalidCard) as info:
        normalize_pan(raw)  # type: ignore[arg-type]
    assert info.value.field == "card.number"
    assert_error_hides(info.value, VISA)


@pytest.mark.parametrize(("number", "brand"), TEST_NUMBERS)
def test_luhn_fails_when_check_digit_changes(number: str, brand: Brand) -> None:
    last = int(number[-1])
    for wrong in range(10):
        if wrong != last:
            assert not luhn_valid(number[:-1] + str(wrong))


@pytest.mark.parametrize("text", ["", "4012 8888 8888 1881", "abc", "٤٠"])
def test_luhn_is_false_for_non_digit_text(text: str) -> None:
    assert not luhn_valid(text)


def test_luhn_failure_is_refused_with_a_clear_message() -> None:
    bad = VISA[:-1] + "2"
    with pytest.raises(InvalidCard) as info:
        parse(number=bad)
    assert info.value.field == "card.number"
    assert info.value.detail == "The card number is not valid (check digit)"
    assert_error_hides(info.value, bad, CVV)


def test_parse_accepts_spaces_and_dashes_in_number() -> None:
    card = parse(number="4012-8888 8888-1881")
    assert card.paypal_card()["number"] == VISA


def test_parse_rejects_letters_in_number() -> None:
    with pytest.raises(InvalidCard) as info:
        parse(number="4012 8888 8888 188I")
    assert info.value.field == "card.number"


# --- expiry --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["12/27", "12/2027", "2027-12", " 12/27 ", "12 / 27", "12 / 2027", "\t12/27\n"],
)
def test_parse_expiry_formats(raw: str) -> None:
    assert parse_expiry(raw, today=TODAY) == Expiry(year=2027, month=12)


def test_parse_expiry_accepts_single_digit_month() -> None:
    assert parse_expiry("3/27", today=TODAY) == Expiry(year=2027, month=3)


@pytest.mark.parametrize(
    "raw",
    ["", "1227", "122027", "12-27", "2027/12", "12/027", "12/20277", "27-12", "2027-1", "ab/cd",
     "12/27/01", "١٢/٢٧", "12\\27"],
)  # fmt: skip
def test_parse_expiry_rejects_other_formats(raw: str) -> None:
    with pytest.raises(InvalidCard) as info:
        parse_expiry(raw, today=TODAY)
    assert info.value.field == "card.expiry"
    assert info.value.detail == 'The expiry date must look like "MM/YY", "MM/YYYY" or "YYYY-MM"'


@pytest.mark.parametrize("raw", ["00/27", "13/27", "2027-00", "2027-13", "99/2030"])
def test_parse_expiry_rejects_month_out_of_range(raw: str) -> None:
    with pytest.raises(InvalidCard) as info:
        parse_expiry(raw, today=TODAY)
    assert info.value.field == "card.expiry"
    assert info.value.detail == "The expiry month must be between 01 and 12"


def test_card_is_valid_through_its_expiry_month() -> None:
    assert parse_expiry("06/25", today=date(2025, 6, 1)) == Expiry(2025, 6)
    assert parse_expiry("06/25", today=date(2025, 6, 30)) == Expiry(2025, 6)


@pytest.mark.parametrize(
    ("raw", "today"),
    [
        ("05/25", date(2025, 6, 1)),  # last month
        ("06/25", date(2025, 7, 1)),  # the day after the month ends
        ("12/24", date(2025, 1, 1)),  # across a year boundary
        ("2000-01", TODAY),
    ],
)
def test_parse_expiry_rejects_expired_card(raw: str, today: date) -> None:
    with pytest.raises(InvalidCard) as info:
        parse_expiry(raw, today=today)
    assert info.value.field == "card.expiry"
    assert info.value.detail == "The card has expired"


def test_parse_expiry_accepts_twenty_years_ahead_and_no_more() -> None:
    assert parse_expiry("06/2045", today=TODAY) == Expiry(2045, 6)
    with pytest.raises(InvalidCard) as info:
        parse_expiry("07/2045", today=TODAY)
    assert info.value.field == "card.expiry"
    assert info.value.detail == "The expiry date must be within 20 years from now"


def test_parse_expiry_defaults_to_today() -> None:
    today = date.today()
    assert parse_expiry(f"{today.month:02d}/{today.year}") == Expiry(today.year, today.month)


def test_expiry_paypal_and_display_forms() -> None:
    expiry = Expiry(year=2027, month=3)
    assert expiry.paypal == "2027-03"
    assert expiry.display == "03/27"


def test_expiry_rejects_impossible_month_when_built_directly() -> None:
    with pytest.raises(InvalidCard, match="between 01 and 12"):
        Expiry(year=2027, month=13)


# --- security code -------------------------------------------------------------------------


@pytest.mark.parametrize("brand", [b for b in Brand if b is not Brand.AMEX])
def test_security_code_is_three_digits_for_most_brands(brand: Brand) -> None:
    assert parse_security_code("012", brand) == "012"
    for wrong in ("01", "0123"):
        with pytest.raises(InvalidCard) as info:
            parse_security_code(wrong, brand)
        assert info.value.field == "card.security_code"
        assert info.value.detail == f"The security code must be 3 digits for {brand.display} cards"


def test_security_code_is_four_digits_for_amex() -> None:
    assert parse_security_code("0123", Brand.AMEX) == "0123"
    for wrong in ("012", "01234"):
        with pytest.raises(InvalidCard) as info:
            parse_security_code(wrong, Brand.AMEX)
        assert info.value.field == "card.security_code"
        assert info.value.detail == "The security code must be 4 digits for American Express cards"


@pytest.mark.parametrize("raw", ["", "12a", "1 2 3", "١٢٣", "-12", "1.2"])
def test_security_code_must_be_ascii_digits(raw: str) -> None:
    with pytest.raises(InvalidCard) as info:
        parse_security_code(raw, Brand.VISA)
    assert info.value.field == "card.security_code"


def test_security_code_ignores_surrounding_spaces() -> None:
    assert parse_security_code(" 739 ", Brand.VISA) == "739"


def test_parse_checks_security_code_length_against_detected_brand() -> None:
    with pytest.raises(InvalidCard) as info:
        parse(number=AMEX, security_code=CVV)
    assert info.value.field == "card.security_code"
    assert "4 digits" in info.value.detail
    assert_error_hides(info.value, AMEX, CVV)

    with pytest.raises(InvalidCard) as info:
        parse(number=VISA, security_code=AMEX_CVV)
    assert "3 digits" in info.value.detail
    assert_error_hides(info.value, VISA, AMEX_CVV)


# --- name ----------------------------------------------------------------------------------


def test_name_is_stripped() -> None:
    assert parse(name="  Ada Lovelace \t").name == "Ada Lovelace"


@pytest.mark.parametrize("name", ["José Núñez-García", "李小龍", "O'Brien", "A", "X" * 300])
def test_name_accepts_printable_text_up_to_300_characters(name: str) -> None:
    assert parse(name=name).name == name


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("", "The cardholder name is required"),
        ("   ", "The cardholder name is required"),
        ("X" * 301, "The cardholder name must be at most 300 characters"),
        ("Ada\nLovelace", "The cardholder name may contain only printable characters"),
        ("Ada\x00", "The cardholder name may contain only printable characters"),
        ("Ada\x1b[31m", "The cardholder name may contain only printable characters"),
        ("Ada\u200bLovelace", "The cardholder name may contain only printable characters"),
        ("Ada\u2028Lovelace", "The cardholder name may contain only printable characters"),
    ],
)
def test_name_rejections(name: str, detail: str) -> None:
    with pytest.raises(InvalidCard) as info:
        parse(name=name)
    assert info.value.field == "card.name"
    assert info.value.detail == detail


@pytest.mark.parametrize(
    "name", [VISA, f"Ada {VISA}", "4012 8888 8888 1881", "4012-8888-8888-1881 Ada", "1" * 12]
)
def test_name_holding_a_card_number_is_refused(name: str) -> None:
    with pytest.raises(InvalidCard) as info:
        parse(name=name)
    assert info.value.field == "card.name"
    assert info.value.detail == "The cardholder name must not contain a card number"
    assert_error_hides(info.value, name.strip(), VISA)


@pytest.mark.parametrize("name", ["Ada Lovelace 3rd", "Flat 12, 221B", "1" * 11])
def test_name_with_a_few_digits_is_accepted(name: str) -> None:
    assert parse(name=name).name == name


def test_name_error_does_not_echo_the_name() -> None:
    name = "Ada\nLovelace"
    with pytest.raises(InvalidCard) as info:
        parse(name=name)
    assert_error_hides(info.value, "Ada", "Lovelace", VISA, CVV)


# --- the Card object -----------------------------------------------------------------------


def test_card_exposes_only_safe_fields() -> None:
    card = parse()
    assert card.brand is Brand.VISA
    assert card.last4 == "1881"
    assert card.expiry == Expiry(2029, 12)
    assert card.name == "Ada Lovelace"
    assert card.masked == "Visa •••• 1881"


def test_masked_uses_brand_display_name() -> None:
    assert parse(number=AMEX, security_code=AMEX_CVV).masked == "American Express •••• 8431"


def test_paypal_card_has_the_orders_api_fields() -> None:
    assert parse(expiry="03/2027").paypal_card() == {
        "number": VISA,
        "expiry": "2027-03",
        "security_code": CVV,
        "name": "Ada Lovelace",
    }


@pytest.mark.parametrize(
    "render",
    [
        repr,
        str,
        format,
        lambda c: f"{c}",
        lambda c: f"{c!r}",
        lambda c: f"{c:>40}",
        lambda c: "%s %r" % (c, c),  # noqa: UP031
        lambda c: "{}".format(c),  # noqa: UP032
        lambda c: str([c, {"card": c}]),
        lambda c: str(dir(c)),
    ],
)
def test_renderings_show_only_brand_and_last4(render: object) -> None:
    card = parse()
    text = render(card)  # type: ignore[operator]
    assert_hidden(text, VISA, CVV, "401288")
    if render in (repr, str, format):
        assert text == "Card(Visa •••• 1881)"


def test_format_spec_applies_to_the_masked_text() -> None:
    assert f"{parse():*^24}" == "**Card(Visa •••• 1881)**"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_card_cannot_be_pickled(protocol: int) -> None:
    with pytest.raises(TypeError) as info:
        pickle.dumps(parse(), protocol=protocol)
    assert str(info.value) == "Card objects cannot be serialized"


@pytest.mark.parametrize(
    "operation",
    [
        copy.copy,
        copy.deepcopy,
        lambda c: c.__reduce__(),
        lambda c: c.__reduce_ex__(2),
        lambda c: c.__getstate__(),
        lambda c: copy.deepcopy({"nested": [c]}),
    ],
)
def test_card_cannot_be_copied_or_serialized(operation: object) -> None:
    with pytest.raises(TypeError) as info:
        operation(parse())  # type: ignore[operator]
    assert_hidden(str(info.value), VISA, CVV)


def test_json_dumps_fails_without_revealing_the_number() -> None:
    with pytest.raises(TypeError) as info:
        json.dumps({"card": parse()})
    assert_hidden(str(info.value), VISA, CVV, "1881")


def test_card_has_no_instance_dict() -> None:
    card = parse()
    assert not hasattr(card, "__dict__")
    with pytest.raises(TypeError):
        vars(card)


def test_card_public_fields_are_read_only() -> None:
    card = parse()
    with pytest.raises(AttributeError):
        card.brand = Brand.AMEX  # type: ignore[misc]
    with pytest.raises(AttributeError):
        card.last4 = "0000"  # type: ignore[misc]


def test_cards_compare_by_identity() -> None:
    first, second = parse(), parse()
    assert first == first
    assert first != second


def test_keyed_digest_is_hmac_sha256_of_the_pan() -> None:
    card = parse(number="4012 8888 8888 1881")
    expected = hmac.new(b"k1", VISA.encode(), hashlib.sha256).hexdigest()
    assert card.keyed_digest(b"k1") == expected
    assert card.keyed_digest(b"k2") != expected
    assert card.keyed_digest(b"k1") != hashlib.sha256(VISA.encode()).hexdigest()


@pytest.mark.parametrize("key", [b"", "text-key"])
def test_keyed_digest_requires_a_bytes_key(key: object) -> None:
    with pytest.raises(ValueError, match="non-empty bytes key"):
        parse().keyed_digest(key)  # type: ignore[arg-type]


def test_wipe_drops_pan_and_cvv_but_keeps_masked_fields() -> None:
    card = parse()
    card.wipe()
    assert repr(card) == "Card(Visa •••• 1881)"
    assert card.last4 == "1881"
    with pytest.raises(RuntimeError, match="wiped"):
        card.paypal_card()
    with pytest.raises(RuntimeError, match="wiped"):
        card.keyed_digest(b"key")
    # The slots themselves no longer hold the data.
    assert_hidden(repr([getattr(card, s) for s in Card.__slots__]), VISA, CVV)


def test_card_built_directly_is_validated_too() -> None:
    with pytest.raises(InvalidCard):
        Card(number="4012888888881882", expiry=GOOD_EXPIRY, security_code=CVV, name="A")


def test_number_is_checked_before_other_fields() -> None:
    with pytest.raises(InvalidCard) as info:
        parse(number="4012", expiry="nope", security_code="x", name="")
    assert info.value.field == "card.number"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"number": "4012888888881882"}, "card.number"),
        ({"number": "4012 8888 8888 188x"}, "card.number"),
        ({"number": "40128888888818811"}, "card.number"),
        ({"number": "9012888888881881"}, "card.number"),
        ({"expiry": "05/25"}, "card.expiry"),
        ({"expiry": "4012888888881881"}, "card.expiry"),
        ({"security_code": "73"}, "card.security_code"),
        ({"security_code": "7391"}, "card.security_code"),
        ({"security_code": "4012888888881881"}, "card.security_code"),
        ({"name": "4012888888881881"}, "card.name"),
        ({"name": "Ada\n4012888888881881"}, "card.name"),
        ({"name": "739\x00"}, "card.name"),
    ],
)
def test_error_messages_never_contain_the_input(fields: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidCard) as info:
        parse(**fields)  # type: ignore[arg-type]
    assert info.value.field == field
    secrets = [VISA, CVV, "401288", *(v.strip() for v in fields.values())]
    assert_error_hides(info.value, *secrets)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
