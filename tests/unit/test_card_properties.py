"""Property tests: card parsing and money parsing fail only with their own errors, never echo
their input, and the Luhn check behaves as the algorithm promises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from hypothesis import given
from hypothesis import strategies as st

from cardline.cde.card import Brand, Card, detect_brand, luhn_valid, normalize_pan
from cardline.cde.errors import InvalidAmount, InvalidCard
from cardline.cde.money import CURRENCIES, parse_money

T = TypeVar("T")
TODAY = date(2025, 6, 15)
DIGITS = "0123456789"

# At least four digits: no error message holds a run of more than two digits, so a shorter
# input could appear in one by coincidence ("12 to 19 digits").
digit_strings = st.text(alphabet=DIGITS, min_size=4, max_size=30)
keyed_numbers = st.text(alphabet=DIGITS + " -", min_size=4, max_size=40)
brand_prefixes = st.sampled_from(
    ["4", "51", "55", "2221", "2720", "34", "37", "6011", "644", "65", "622126", "3528",
     "36", "3095", "62", "50", "6759", "676770"]
)  # fmt: skip


def check_digit(payload: str) -> str:
    """The Luhn check digit for ``payload``, computed independently of cardline."""
    total = 0
    for position, c in enumerate(reversed(payload)):
        d = int(c) * (2 if position % 2 == 0 else 1)
        total += d // 10 + d % 10
    return str((10 - total % 10) % 10)


def reference_luhn(digits: str) -> bool:
    return check_digit(digits[:-1]) == digits[-1]


def parse_card(number: str) -> Card:
    brand = detect_brand(number)
    return Card.parse(
        number=number,
        expiry="12/29",
        security_code="1234" if brand is Brand.AMEX else "123",
        name="Ada Lovelace",
        today=TODAY,
    )


def card_attempt(call: Callable[[], T]) -> T | InvalidCard:
    """The call's result, or the InvalidCard it raised (any other exception propagates)."""
    try:
        return call()
    except InvalidCard as error:
        return error


def money_attempt(call: Callable[[], T]) -> T | InvalidAmount:
    """The call's result, or the InvalidAmount it raised (any other exception propagates)."""
    try:
        return call()
    except InvalidAmount as error:
        return error


def assert_not_echoed(error: InvalidCard, digits: str) -> None:
    assert digits not in str(error)
    assert digits not in repr(error)
    assert digits not in str(error.problem())


# --- card ----------------------------------------------------------------------------------


@given(digit_strings)
def test_normalize_pan_accepts_or_raises_invalid_card_without_echo(digits: str) -> None:
    result = card_attempt(lambda: normalize_pan(digits))
    if isinstance(result, InvalidCard):
        assert result.field == "card.number"
        assert not 13 <= len(digits) <= 19
        assert_not_echoed(result, digits)
    else:
        assert result == digits


@given(keyed_numbers)
def test_normalize_pan_drops_only_separators(raw: str) -> None:
    digits = raw.replace(" ", "").replace("-", "")
    result = card_attempt(lambda: normalize_pan(raw))
    if isinstance(result, InvalidCard):
        assert result.field == "card.number"
        if len(digits) >= 4:
            assert_not_echoed(result, digits)
    else:
        assert result == digits


@given(st.text(max_size=40))
def test_normalize_pan_raises_only_invalid_card_for_any_text(raw: str) -> None:
    result = card_attempt(lambda: normalize_pan(raw))
    if isinstance(result, InvalidCard):
        assert result.field == "card.number"
    else:
        assert result.isascii()
        assert result.isdigit()


@given(digit_strings)
def test_card_parse_accepts_or_raises_invalid_card_without_echo(digits: str) -> None:
    result = card_attempt(lambda: parse_card(digits))
    if isinstance(result, InvalidCard):
        assert result.field == "card.number"
        assert_not_echoed(result, digits)
    else:
        assert luhn_valid(digits)
        assert result.brand is detect_brand(digits)
        for text in (repr(result), str(result), f"{result}", result.masked):
            assert digits not in text


@given(brand_prefixes, st.integers(min_value=13, max_value=19), st.data())
def test_card_parse_accepts_luhn_valid_numbers_of_a_known_brand(
    prefix: str, length: int, data: st.DataObject
) -> None:
    fill = data.draw(st.text(alphabet=DIGITS, min_size=length - len(prefix) - 1,
                             max_size=length - len(prefix) - 1))  # fmt: skip
    payload = prefix + fill
    number = payload + check_digit(payload)
    brand = detect_brand(number)
    if brand is None:
        result = card_attempt(lambda: parse_card(number))
        assert isinstance(result, InvalidCard)
        assert result.detail == "The card number is not a supported card brand"
        assert_not_echoed(result, number)
    else:
        card = parse_card(number)
        assert card.brand is brand
        assert card.last4 == number[-4:]
        assert number not in repr(card)


@given(st.text(alphabet=DIGITS, min_size=1, max_size=30))
def test_appending_the_check_digit_always_validates(payload: str) -> None:
    assert luhn_valid(payload + check_digit(payload))


@given(st.text(alphabet=DIGITS, min_size=1, max_size=30), st.data())
def test_changing_one_digit_always_fails_luhn(payload: str, data: st.DataObject) -> None:
    number = payload + check_digit(payload)
    i = data.draw(st.integers(min_value=0, max_value=len(number) - 1))
    other = data.draw(st.sampled_from([d for d in DIGITS if d != number[i]]))
    assert not luhn_valid(number[:i] + other + number[i + 1 :])


@given(st.text(alphabet=DIGITS, min_size=2, max_size=30))
def test_luhn_agrees_with_reference(digits: str) -> None:
    assert luhn_valid(digits) == reference_luhn(digits)


# --- money ---------------------------------------------------------------------------------

two_place = sorted(c for c, places in CURRENCIES.items() if places == 2)
zero_place = sorted(c for c, places in CURRENCIES.items() if places == 0)


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2),
    st.sampled_from(two_place),
)
def test_two_place_amounts_round_trip(amount: Decimal, currency: str) -> None:
    money = parse_money(str(amount), currency)
    assert money.amount == amount
    assert money.value == f"{amount:.2f}"
    assert money.minor_units == int(amount * 100)
    assert parse_money(money.value, currency) == money


@given(st.integers(min_value=1, max_value=999999), st.sampled_from(zero_place))
def test_zero_place_amounts_round_trip(units: int, currency: str) -> None:
    money = parse_money(str(Decimal(units)), currency)
    assert money.value == str(units)
    assert money.minor_units == units
    assert parse_money(money.value, currency) == money


@given(st.text(max_size=40), st.sampled_from(sorted(CURRENCIES)) | st.text(max_size=5))
def test_parse_money_raises_only_invalid_amount_for_any_text(amount: str, currency: str) -> None:
    result = money_attempt(lambda: parse_money(amount, currency))
    if isinstance(result, InvalidAmount):
        assert result.field in {"amount", "currency"}
    else:
        assert result.amount > 0
        assert result.currency in CURRENCIES


@given(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.binary(max_size=10)
    | st.lists(st.integers(), max_size=2),
)
def test_parse_money_raises_only_invalid_amount_for_any_value(amount: object) -> None:
    result = money_attempt(lambda: parse_money(amount, "USD"))
    if isinstance(result, InvalidAmount):
        assert result.field == "amount"
    else:
        assert isinstance(amount, Decimal)
        assert result.amount == amount
