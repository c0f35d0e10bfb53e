"""The merchant rules: their documented shape, refusals of a broken document, and what
they make of an amount and of PayPal's address and security-code checks."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cardline.cde.billing import parse_billing_address
from cardline.cde.errors import InvalidRequest
from cardline.cde.money import parse_money
from cardline.cde.rules import AmountAboveCap, MerchantRules, rules_from_environment
from tests.cards import VISA

DOCUMENTED = (
    '{"cvv_mismatch": "refuse", "avs_no_match": "flag",\n'
    ' "above_cap": "refuse", "caps": {"agent": {"USD": "500.00"}}}'
)


def test_the_documented_example_is_what_docs_payments_md_shows() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "payments.md").read_text()
    assert DOCUMENTED in doc
    rules = MerchantRules.parse(DOCUMENTED)
    assert (rules.cvv_mismatch, rules.avs_no_match, rules.above_cap) == ("refuse", "flag", "refuse")
    assert rules.caps == {"agent": {"USD": Decimal("500.00")}}
    assert rules.authorize_first


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"cvv": "refuse"}',
        '{"cvv_mismatch": "maybe"}',
        '{"above_cap": "off"}',
        '{"caps": {"agent": {"USD": 500}}}',
        '{"caps": {"agent": {"USD": "-1"}}}',
        '{"caps": {"agent": {"USD": "NaN"}}}',
        '{"caps": ["agent"]}',
    ],
)
def test_a_broken_document_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        MerchantRules.parse(text)


def test_caps_read_the_role_agent_by_default_and_refuse_or_flag() -> None:
    rules = MerchantRules.parse('{"caps": {"agent": {"USD": "100.00"}}}')
    assert not rules.authorize_first  # caps alone are checked before PayPal is asked
    assert rules.check_amount(parse_money("100.00", "USD"), None) == []
    assert rules.check_amount(parse_money("900.00", "EUR"), None) == []  # no cap in EUR
    assert rules.check_amount(parse_money("900.00", "USD"), "supervisor") == []
    with pytest.raises(AmountAboveCap) as refused:
        rules.check_amount(parse_money("100.01", "USD"), None)
    assert refused.value.code == "amount_above_cap"
    assert "supervisor" in refused.value.detail
    flagging = MerchantRules.parse('{"above_cap": "flag", "caps": {"agent": {"USD": "1"}}}')
    assert flagging.check_amount(parse_money("2.00", "USD"), "agent") == [
        "The amount is above the agent cap of 1 USD"
    ]


@pytest.mark.parametrize(
    ("avs", "cvv", "refused", "flagged"),
    [
        ("Y", "M", 0, 0),
        ("N", "M", 0, 1),
        ("C", "M", 0, 1),
        ("Y", "N", 1, 0),
        ("N", "N", 1, 1),
        ("U", "P", 0, 0),  # unavailable is not a mismatch
        (None, None, 0, 0),
    ],
)
def test_the_checks_refuse_or_flag_only_a_mismatch(
    avs: str | None, cvv: str | None, refused: int, flagged: int
) -> None:
    checked = MerchantRules.parse(DOCUMENTED).check_answer(avs, cvv)
    assert (len(checked.refusals), len(checked.flags)) == (refused, flagged)
    for sentence in checked.refusals:
        assert sentence.startswith("The security code did not match")


def test_rules_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert rules_from_environment({}) is None
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"cvv_mismatch": "flag"}))
    from_file = rules_from_environment({"CARDLINE_RULES_FILE": str(path)})
    assert from_file is not None
    assert from_file.cvv_mismatch == "flag"
    with pytest.raises(ValueError, match="cvv_mismatch"):
        rules_from_environment({"CARDLINE_RULES": '{"cvv_mismatch": "always"}'})


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("94107", "card.billing_address"),
        ({"postal_code": "94107"}, "card.billing_address.country_code"),
        ({"country_code": "us"}, "card.billing_address.country_code"),
        ({"country_code": "US", "postal_code": ""}, "card.billing_address.postal_code"),
        ({"country_code": "US", "postal_code": VISA}, "card.billing_address.postal_code"),
        ({"country_code": "US", "street": "x"}, "card.billing_address"),
    ],
)
def test_a_bad_billing_address_is_refused_naming_the_field_never_the_value(
    raw: object, field: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_billing_address(raw)
    assert refused.value.field == field
    assert VISA not in refused.value.detail
    assert "94107" not in refused.value.detail


def test_a_billing_address_shows_only_its_country() -> None:
    address = parse_billing_address({"country_code": "GB", "postal_code": "SW1A 1AA"})
    assert address is not None
    assert address.paypal() == {"country_code": "GB", "postal_code": "SW1A 1AA"}
    assert "SW1A" not in repr(address)
