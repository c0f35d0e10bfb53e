"""Known answers for the refund derivations that must stay stable across deploys: the
refund id (its letters, and the hex form it replaced) and the refund's PayPal-Request-Id
(PayPal replays refund request ids for 45 days: a retry after a deploy must not refund
twice). Fixed inputs, literal expected values: never computed with the code under test."""

from __future__ import annotations

from cardline.cde import ids
from cardline.cde.money import parse_money
from cardline.cde.request_rules import paypal_request_id_for
from cardline.refund import refund_fingerprint, refund_id_for

OPERATOR = "op_kat"
KEY = "refund-key-1"


def test_the_refund_paypal_request_id_is_pinned() -> None:
    assert paypal_request_id_for(OPERATOR, KEY, "refund") == (
        "cardline-refund-cc69de6cf69f1b67949af94b197452c8bb5a863053b346fd"
    )


def test_the_refund_id_is_pinned_and_written_in_letters() -> None:
    assert refund_id_for(OPERATOR, KEY) == "ref_cnkghdrmqqhpmjfbhfqfgjvs"


def test_the_refund_id_is_the_hex_id_it_replaced_letter_for_letter() -> None:
    # Refund ids were "ref_" + the last 24 hex digits of the refund's PayPal-Request-Id
    # (hex digits 24 to 47 of the same digest) until this change.
    assert "ref_" + ids.from_hex("197452c8bb5a863053b346fd") == refund_id_for(OPERATOR, KEY)


def test_the_refund_fingerprint_is_pinned() -> None:
    money = parse_money("5.00", "USD")
    assert refund_fingerprint(OPERATOR, "pay_kat", money, "damaged") == (
        "clrf1:dbgngvdkqmfrrjhckbttsbrjtvsvdbkqhdsnrqjf"
    )
    # No amount is a refund of the rest: another request.
    assert refund_fingerprint(OPERATOR, "pay_kat", None, None) == (
        "clrf1:npmsftrqsmmtdtdnfccrcbfrpkhfkvkjjhpkjdft"
    )
