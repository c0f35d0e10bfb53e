"""A refund made before ids were written in letters keeps its id after the change.

Until then a refund's id was ``ref_`` + the last 24 hex digits of its PayPal-Request-Id
(``cardline-refund-`` + the first 48 hex digits of SHA-256("refund", operator, key)),
i.e. hex digits 24 to 47 of that digest. The ledger projects such an old id under
``ids.from_hex`` of it; a retry of that refund after the deploy must derive the very same
id, or the ledger finds no earlier refund, asks PayPal again and books the refund twice
(and once PayPal has forgotten the request id, 45 days on, refunds it twice).
"""

from __future__ import annotations

from cardline.cde.request_rules import paypal_request_id_for
from cardline.ledger.states import current_id
from cardline.refund import refund_id_for

OPERATOR = "op_kat"
KEY = "refund-key-1"
# What the first release wrote for this operator and key (its audit events hold it).
OLD_REFUND_ID = "ref_197452c8bb5a863053b346fd"


def test_the_old_refund_id_was_the_end_of_the_refund_paypal_request_id() -> None:
    request_id = paypal_request_id_for(OPERATOR, KEY, "refund")
    assert request_id == "cardline-refund-cc69de6cf69f1b67949af94b197452c8bb5a863053b346fd"
    assert "ref_" + request_id[-24:] == OLD_REFUND_ID


def test_a_retry_after_the_change_derives_the_id_the_ledger_holds_the_old_refund_under() -> None:
    assert current_id(OLD_REFUND_ID) == "ref_cnkghdrmqqhpmjfbhfqfgjvs"
    assert refund_id_for(OPERATOR, KEY) == "ref_cnkghdrmqqhpmjfbhfqfgjvs"
