"""Finding 11 (the console): a refund PayPal refused shows as words, never "null null".

A refused refund has no amount PayPal confirmed; its row in the payment's refunds says
so, and the message the agent reads names no raw PayPal issue.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cardline.sandbox.faults import Fault
from tests.browser.conftest import Console, browser, console  # noqa: F401 - fixtures
from tests.cards import CVV, VISA, future_expiry

pytestmark = pytest.mark.slow


def test_a_refused_refund_row_shows_no_null_and_no_paypal_name(console: Console) -> None:  # noqa: F811
    page = console.page
    console.sign_in()
    console.fill_payment(VISA, CVV, expiry=future_expiry(), amount="30.00")
    page.get_by_role("button", name="Charge card").click()
    assert "Approved" in console.receipt_text()
    emulator = console.running.stack.emulator
    assert emulator is not None
    # What an emulator that forgot the capture (a restart before this fix) answered.
    emulator.inject(
        Fault("status", path_prefix="/v2/payments/captures/", status=404,
              issue="INVALID_RESOURCE_ID")
    )  # fmt: skip
    page.get_by_role("button", name="View this payment").click()
    page.get_by_role("button", name="Refund…").click()
    page.get_by_role("button", name="Confirm refund").click()
    error = page.locator("#refund-error")
    expect(error).not_to_be_empty()
    assert "INVALID_RESOURCE_ID" not in error.inner_text()
    assert not re.search(r"\b[A-Z]+(?:_[A-Z]+)+\b", error.inner_text())
    page.locator("#nav-payments").click()
    page.locator("#payments-rows tr").first.locator("button").click()
    rows = page.locator("#refunds-rows tr")
    expect(rows).to_have_count(1)
    row = rows.first.inner_text()
    assert "null" not in row
    assert "undefined" not in row
    assert "Failed" in row
