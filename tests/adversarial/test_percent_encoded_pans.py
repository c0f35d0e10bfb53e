"""A card number written percent-encoded (a query string, a form body, a URL in an error)
is a card number: the one detector reads %XX as what it stands for, as it reads JSON's
escapes, so the log mask and the free-text validators see it too."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from cardline.cde.pan import contains_pan, find_pans, mask_pans
from tests.cards import VISA

FORMS = [
    quote(f"order {VISA[:8]} {VISA[8:]}"),  # spaces as %20
    quote(f"{VISA[:4]}-{VISA[4:8]}-{VISA[8:12]}-{VISA[12:]}", safe=""),
    "".join(f"%{ord(c):02X}" for c in VISA),  # every digit escaped
    quote("４０１２８８８８８８８８１８８１"),  # full-width digits, UTF-8 escaped
    quote(VISA[:6]) + "%20%20" + VISA[6:],
]


@pytest.mark.parametrize("text", FORMS)
def test_a_percent_encoded_card_number_is_found_and_masked(text: str) -> None:
    line = f"GET /v1/payments?search={text} -> 422"
    assert contains_pan(line)
    masked = mask_pans(line)
    assert "1881 masked]" in masked
    assert not contains_pan(masked)
    assert find_pans(masked) == []


@pytest.mark.parametrize(
    "text",
    [
        "/v1/payments?since=2026-12-01T10%3A00%3A00Z&limit=50",
        "100%25 of 4012888888 and 881881",  # a literal percent, digits too few together
        "%2F%2Fapi-m.paypal.com%2Fv2%2Fcheckout%2Forders%2F5O190127TN364715T",
        "%zz %4 %%",
    ],
)
def test_percent_escapes_that_hold_no_card_number_are_left_alone(text: str) -> None:
    assert find_pans(text) == []
    assert mask_pans(text) == text
