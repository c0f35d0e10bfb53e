"""Finding 1: a card number in a free-text field is refused, however it is written."""

from __future__ import annotations

import pytest

from cardline.cde import audit
from cardline.cde.charge import parse_payment_request
from cardline.cde.errors import InvalidRequest
from cardline.ivr.sessions import parse_session_request
from tests.adversarial.written_pans import WRITTEN_FORMS
from tests.cards import AMEX, VISA, payment

FORMS = [pytest.param(text, id=label) for label, text in WRITTEN_FORMS]


def _digits_of(text: str) -> str:
    return "".join(str(int(c)) for c in text if c.isdecimal())


@pytest.mark.parametrize("text", FORMS)
def test_the_detector_finds_every_written_form(text: str) -> None:
    assert audit.contains_pan(text)


@pytest.mark.parametrize("text", FORMS)
def test_the_mask_leaves_no_written_form_readable(text: str) -> None:
    masked = audit.mask_pans(f"note: {text} (end)")
    assert VISA not in _digits_of(masked)
    assert AMEX not in _digits_of(masked)


@pytest.mark.parametrize("text", FORMS)
def test_a_reference_holding_a_card_number_is_refused_by_name(text: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_payment_request(payment(reference=f"order {text}"))
    assert refused.value.field == "reference"
    assert text not in str(refused.value)


@pytest.mark.parametrize("text", FORMS)
def test_a_cardholder_name_holding_a_card_number_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_payment_request(payment(name=f"Ada {text}"))
    assert refused.value.field == "card.name"


@pytest.mark.parametrize("field", ["reference", "cardholder_name"])
@pytest.mark.parametrize("text", FORMS)
def test_an_ivr_session_field_holding_a_card_number_is_refused(field: str, text: str) -> None:
    body: dict[str, object] = {
        "contact_id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "amount": "10.00",
        "currency": "USD",
        "cardholder_name": "Ada Lovelace",
        field: f"Ada {text}",
    }
    with pytest.raises(InvalidRequest) as refused:
        parse_session_request(body)
    assert refused.value.field == field
