"""cardline.cde.money: exact amounts in PayPal's currencies, refused rather than rounded."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from cardline.cde.errors import InvalidAmount
from cardline.cde.money import CURRENCIES, MAX_VALUE, Money, parse_money

PAYPAL_CURRENCIES = {
    "AUD": 2, "BRL": 2, "CAD": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "HKD": 2,
    "HUF": 0, "ILS": 2, "JPY": 0, "MYR": 2, "MXN": 2, "TWD": 0, "NZD": 2, "NOK": 2,
    "PHP": 2, "PLN": 2, "GBP": 2, "SGD": 2, "SEK": 2, "CHF": 2, "THB": 2, "USD": 2,
}  # fmt: skip

AMOUNT_EXPECTED = 'Amount must be a decimal string such as "12.50"'


def refused(amount: object, currency: object = "USD") -> InvalidAmount:
    with pytest.raises(InvalidAmount) as info:
        parse_money(amount, currency)
    return info.value


# --- currencies ----------------------------------------------------------------------------


def test_currencies_are_paypals_with_their_decimal_places() -> None:
    assert dict(CURRENCIES) == PAYPAL_CURRENCIES


def test_currencies_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        CURRENCIES["XXX"] = 2  # type: ignore[index]


@pytest.mark.parametrize("currency", sorted(PAYPAL_CURRENCIES))
def test_every_supported_currency_parses(currency: str) -> None:
    money = parse_money("10", currency)
    assert money.currency == currency
    assert money.value == ("10" if PAYPAL_CURRENCIES[currency] == 0 else "10.00")


@pytest.mark.parametrize("currency", ["XYZ", "BTC", "INR", "RUB", "ZAR"])
def test_unsupported_currency_is_refused(currency: str) -> None:
    error = refused("10.00", currency)
    assert error.field == "currency"
    assert error.detail.startswith("Currency is not supported by PayPal; use one of AUD, BRL")
    assert currency not in error.detail


@pytest.mark.parametrize("currency", ["usd", "Usd", "eUR"])
def test_lowercase_currency_is_refused(currency: str) -> None:
    error = refused("10.00", currency)
    assert error.field == "currency"
    assert error.detail == 'Currency codes are upper case, such as "USD"'


@pytest.mark.parametrize("currency", ["", "US", "USDD", " USD", "US1", 840, None, b"USD", ["USD"]])
def test_malformed_currency_is_refused(currency: object) -> None:
    error = refused("10.00", currency)
    assert error.field == "currency"
    assert error.detail == 'Currency must be a three-letter code such as "USD"'


def test_currency_is_checked_before_amount() -> None:
    assert refused(1.5, "usd").field == "currency"


# --- amount types --------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [12.5, 0.1, 12, 1, float("nan"), float("inf")])
def test_json_numbers_are_refused(amount: object) -> None:
    error = refused(amount)
    assert error.field == "amount"
    assert error.detail.startswith(AMOUNT_EXPECTED)
    assert "not a number" in error.detail


@pytest.mark.parametrize("amount", [True, False])
def test_booleans_are_refused(amount: bool) -> None:
    error = refused(amount)
    assert error.field == "amount"
    assert error.detail == f"{AMOUNT_EXPECTED}, not true or false"


@pytest.mark.parametrize("amount", [None, b"12.50", ["12.50"], {"value": "12.50"}, object()])
def test_other_types_are_refused(amount: object) -> None:
    error = refused(amount)
    assert error.field == "amount"
    assert error.detail == AMOUNT_EXPECTED


# --- amount text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "value"),
    [
        ("12.50", "USD", "12.50"),
        ("12.5", "USD", "12.50"),
        ("12", "USD", "12.00"),
        ("0.01", "USD", "0.01"),
        ("007.10", "GBP", "7.10"),
        (" 12.50 ", "EUR", "12.50"),
        ("999999.99", "USD", "999999.99"),
        ("1000", "JPY", "1000"),
        ("999999", "JPY", "999999"),
        ("1", "HUF", "1"),
        ("250", "TWD", "250"),
        (Decimal("12.5"), "USD", "12.50"),
        (Decimal("12.50"), "USD", "12.50"),
        (Decimal("1E+3"), "JPY", "1000"),
        (Decimal(7), "CAD", "7.00"),
    ],
)
def test_value_strings_are_exact(amount: object, currency: str, value: str) -> None:
    money = parse_money(amount, currency)
    assert money.value == value
    assert money.amount == Decimal(value)


@pytest.mark.parametrize(
    ("amount", "currency", "minor_units"),
    [("12.50", "USD", 1250), ("0.01", "EUR", 1), ("1000", "JPY", 1000),
     ("999999.99", "GBP", 99999999)],
)  # fmt: skip
def test_minor_units(amount: str, currency: str, minor_units: int) -> None:
    assert parse_money(amount, currency).minor_units == minor_units


@pytest.mark.parametrize("amount", ["1e3", "1E3", "1E+3", "1.5e2", "5e-1", "-1e3", ".5E1"])
def test_exponents_are_refused(amount: str) -> None:
    error = refused(amount)
    assert error.field == "amount"
    assert error.detail == 'Amount must be written without an exponent, such as "1000.00"'


@pytest.mark.parametrize("amount", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "Inf"])
def test_nan_and_infinity_text_is_refused(amount: str) -> None:
    error = refused(amount)
    assert error.field == "amount"
    assert error.detail == AMOUNT_EXPECTED


@pytest.mark.parametrize(
    "amount", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")]
)
def test_non_finite_decimals_are_refused(amount: Decimal) -> None:
    error = refused(amount)
    assert error.field == "amount"
    assert error.detail == AMOUNT_EXPECTED


@pytest.mark.parametrize(
    "amount",
    ["", " ", "12,50", "1,000.00", "$12.50", "12.50 USD", ".5", "5.", "+5", "1 000", "12.5.0",
     "١٢", "１２", "0x10", "12_000", "--5"],
)  # fmt: skip
def test_malformed_amount_text_is_refused(amount: str) -> None:
    error = refused(amount)
    assert error.field == "amount"
    assert error.detail == AMOUNT_EXPECTED


def test_overlong_amount_text_is_refused() -> None:
    error = refused("0" * 30 + "1.00")
    assert error.detail == "Amount must be at most 32 characters"


# --- places, sign, bound -------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["12.505", "0.001", "12.500", "1.000001", Decimal("12.505")])
def test_too_many_places_are_refused_not_rounded(amount: object) -> None:
    error = refused(amount, "USD")
    assert error.field == "amount"
    assert error.detail == "USD amounts take at most 2 decimal places"


@pytest.mark.parametrize("currency", ["JPY", "HUF", "TWD"])
@pytest.mark.parametrize("amount", ["1000.5", "1000.0", "1000.00", Decimal("1000.0")])
def test_zero_decimal_currencies_take_no_decimal_places(currency: str, amount: object) -> None:
    error = refused(amount, currency)
    assert error.field == "amount"
    assert error.detail == f"{currency} amounts take no decimal places"


@pytest.mark.parametrize(
    "amount", ["0", "0.00", "-0", "-0.00", "-1.00", "-12.50", Decimal(0), Decimal("-5")]
)
def test_zero_and_negative_amounts_are_refused(amount: object) -> None:
    error = refused(amount)
    assert error.field == "amount"
    assert error.detail == "Amount must be greater than zero"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("1000000", "USD"), ("1000000.00", "EUR"), ("1000000", "JPY"), ("99999999", "USD"),
     (Decimal("1E+100"), "USD")],
)  # fmt: skip
def test_amounts_at_or_over_the_bound_are_refused(amount: object, currency: str) -> None:
    error = refused(amount, currency)
    assert error.field == "amount"
    assert error.detail == f"Amount must be less than 1000000 {currency}"


def test_bound_is_one_million_exclusive() -> None:
    assert Decimal("1000000") == MAX_VALUE
    assert parse_money("999999.99", "USD").value == "999999.99"


def test_error_messages_do_not_echo_the_amount() -> None:
    for amount in ("12.505", "31415926", "-27.18", "1e31", "abc12345"):
        assert amount not in refused(amount).detail


# --- the Money value -----------------------------------------------------------------------


def test_money_is_immutable() -> None:
    money = parse_money("12.50", "USD")
    with pytest.raises(AttributeError):
        money.amount = Decimal("1")  # type: ignore[misc]


def test_money_equality_is_numeric_and_per_currency() -> None:
    assert parse_money("12.5", "USD") == parse_money("12.50", "USD")
    assert hash(parse_money("12.5", "USD")) == hash(parse_money("12.50", "USD"))
    assert parse_money("12.50", "USD") != parse_money("12.50", "EUR")


def test_money_str_is_value_and_currency() -> None:
    assert str(parse_money("12.5", "USD")) == "12.50 USD"
    assert str(parse_money("500", "JPY")) == "500 JPY"


def test_money_built_directly_is_quantized_to_the_currency() -> None:
    assert Money(Decimal("12.5"), "USD").value == "12.50"
    assert Money(Decimal("12.500"), "USD").value == "12.50"  # exact, so not a rounding


def test_money_built_directly_refuses_rounding() -> None:
    with pytest.raises(InvalidAmount, match="at most 2 decimal places"):
        Money(Decimal("12.505"), "USD")
    with pytest.raises(InvalidAmount, match="no decimal places"):
        Money(Decimal("1.5"), "JPY")


def test_money_built_directly_refuses_unknown_currency_and_non_finite_amounts() -> None:
    with pytest.raises(InvalidAmount) as info:
        Money(Decimal("1"), "XYZ")
    assert info.value.field == "currency"
    with pytest.raises(InvalidAmount, match="out of range"):
        Money(Decimal("NaN"), "USD")
    with pytest.raises(InvalidAmount, match="out of range"):
        Money(Decimal("1E+30"), "USD")


@pytest.mark.parametrize(("amount", "currency"), [(12.5, "USD"), ("12.50", "USD"), (Decimal(1), 1)])
def test_money_built_directly_checks_types(amount: object, currency: object) -> None:
    with pytest.raises(TypeError):
        Money(amount, currency)  # type: ignore[arg-type]


def test_add_and_subtract_in_one_currency() -> None:
    a, b = parse_money("12.50", "USD"), parse_money("2.75", "USD")
    assert (a + b).value == "15.25"
    assert (a - b).value == "9.75"
    assert (b - a).value == "-9.75"
    assert (a - a).value == "0.00"


def test_arithmetic_across_currencies_is_refused() -> None:
    usd, eur = parse_money("1.00", "USD"), parse_money("1.00", "EUR")
    with pytest.raises(InvalidAmount) as info:
        usd + eur
    assert info.value.field == "currency"
    with pytest.raises(InvalidAmount):
        usd - eur


def test_arithmetic_with_other_types_is_a_type_error() -> None:
    usd = parse_money("1.00", "USD")
    with pytest.raises(TypeError):
        usd + Decimal(1)  # type: ignore[operator]
    with pytest.raises(TypeError):
        usd - 1  # type: ignore[operator]


def test_comparisons_in_one_currency() -> None:
    small, large = parse_money("1.00", "USD"), parse_money("2.00", "USD")
    assert small < large
    assert small <= large
    assert large > small
    assert large >= small
    assert small <= parse_money("1", "USD")
    assert max(small, large) is large


def test_comparisons_across_currencies_are_refused() -> None:
    usd, eur = parse_money("1.00", "USD"), parse_money("2.00", "EUR")
    comparisons: list[Callable[[], bool]] = [
        lambda: usd < eur,
        lambda: usd <= eur,
        lambda: usd > eur,
        lambda: usd >= eur,
    ]
    for compare in comparisons:
        with pytest.raises(InvalidAmount):
            compare()


def test_comparison_with_other_types_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        assert parse_money("1.00", "USD") < Decimal(2)  # type: ignore[operator]
