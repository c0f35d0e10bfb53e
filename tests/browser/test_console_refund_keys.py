"""The console's refund Idempotency-Key: reused for the identical request only.

The service refuses a key reused with another amount (409 idempotency_conflict), and a
retry of the identical request must reuse its key, or a lost answer becomes a second
refund. So after a failure the agent's "Confirm again" of the same refund reuses the key;
changing the amount starts a new one.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, expect

from cardline.sandbox.faults import Fault
from tests.browser.conftest import Console
from tests.cards import CVV, VISA, future_expiry

pytestmark = pytest.mark.slow

CAPTURES = "/v2/payments/captures/"


def _refund_keys(page: Page) -> list[tuple[str, str | None]]:
    """(Idempotency-Key, body) of every refund the page sends, in order."""
    sent: list[tuple[str, str | None]] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/refunds"):
            sent.append((request.headers["idempotency-key"], request.post_data))

    page.on("request", note)
    return sent


def _refund_part(page: Page, amount: str) -> None:
    page.get_by_label("Part of it").check()
    page.get_by_label("Amount to refund").fill(amount)
    page.get_by_role("button", name="Refund…").click()
    page.get_by_role("button", name="Confirm refund").click()


def test_confirm_again_reuses_the_key_and_a_changed_amount_gets_a_new_one(
    console: Console,
) -> None:
    page = console.page
    console.sign_in()
    console.fill_payment(VISA, CVV, expiry=future_expiry(), amount="20.00")
    page.get_by_role("button", name="Charge card").click()
    assert "Approved" in console.receipt_text()
    emulator = console.running.stack.emulator
    assert emulator is not None
    sent = _refund_keys(page)
    page.get_by_role("button", name="View this payment").click()

    # PayPal refunds 5.00 but the answer is lost: the outcome is unknown.
    emulator.inject(Fault("drop_after", path_prefix=CAPTURES, method="POST", times=20))
    _refund_part(page, "5.00")
    expect(page.locator("#refund-error")).to_contain_text("Confirm again")
    emulator.clear_faults()
    # The identical request again: the same key, so PayPal answers with the first refund.
    page.get_by_role("button", name="Refund…").click()
    page.get_by_role("button", name="Confirm refund").click()
    expect(page.locator("#refund-outcome")).to_contain_text("Refunded 5.00 USD")
    assert emulator.stats()["refunds"] == 1
    expect(page.locator("#refund-remaining")).to_have_text("15.00 USD")

    # PayPal unreachable: nothing refunded; the agent then asks for another amount.
    emulator.inject(
        Fault("status", path_prefix=CAPTURES, method="POST", status=503, times=20, retry_after=0)
    )
    _refund_part(page, "3.00")
    expect(page.locator("#refund-error")).to_contain_text("Confirm again")
    emulator.clear_faults()
    _refund_part(page, "4.00")
    expect(page.locator("#refund-outcome")).to_contain_text("Refunded 4.00 USD")
    expect(page.locator("#refund-remaining")).to_have_text("11.00 USD")
    assert emulator.stats()["refunds"] == 2

    keys = [key for key, _body in sent]
    assert len(keys) == 4, sent
    assert keys[0] == keys[1]  # the retry after a lost answer
    assert keys[1] != keys[2]  # a new refund after a success
    assert keys[2] != keys[3]  # another amount: another request
