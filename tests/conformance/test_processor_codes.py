"""cardline tells every AVS and CVV code PayPal's documents list in words of its own."""

from __future__ import annotations

import pytest

from cardline.cde.paypal.codes import (
    AVS_CODES,
    AVS_NO_MATCH,
    CVV_CODES,
    CVV_NO_MATCH,
    avs_words,
    cvv_words,
)
from tests.conformance.spec import SKIP_REASON, SPEC_DIR, load_spec

pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason=SKIP_REASON)


@pytest.mark.parametrize("document", ["checkout_orders_v2", "payments_payment_v2"])
def test_every_documented_avs_and_cvv_code_has_words(document: str) -> None:
    processor = load_spec(document)["components"]["schemas"]["processor_response"]
    avs = processor["properties"]["avs_code"]["enum"]
    cvv = processor["properties"]["cvv_code"]["enum"]
    assert set(avs) == set(AVS_CODES)
    assert set(cvv) == set(CVV_CODES)
    assert set(avs) >= AVS_NO_MATCH
    assert set(cvv) >= CVV_NO_MATCH


def test_a_code_nobody_documented_is_not_echoed() -> None:
    assert "QQ" not in str(avs_words("QQ"))
    assert cvv_words("QQ") == CVV_CODES["All others"]
    assert avs_words(None) is None
    assert cvv_words(None) is None
