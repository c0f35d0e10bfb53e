"""The console captures an authorization in part, then the rest, and voids another; the
card's address and security-code checks are shown in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import Console
from tests.cards import CVV, VISA, future_expiry


def _authorize(console: Console, amount: str, postal_code: str = "") -> None:
    page = console.page
    console.fill_payment(VISA, CVV, expiry=future_expiry(), amount=amount)
    page.get_by_label("Billing postal code").fill(postal_code)
    page.get_by_label("Authorize only").check()
    page.get_by_role("button", name="Charge card").click()
    console.receipt_text()
    page.get_by_role("button", name="View this payment").click()
    expect(page.locator("#detail")).to_be_focused()


def test_capture_part_then_the_rest_and_void_another(console: Console) -> None:
    page = console.page
    console.sign_in()
    _authorize(console, "30.00", postal_code="11111")
    facts = page.locator("#detail-fields")
    expect(facts).to_contain_text("Authorized, not captured")
    expect(facts).to_contain_text("Address matches, postal code does not")
    expect(facts).to_contain_text("Security code matches")
    expect(page.locator("#capture-remaining")).to_have_text("30.00 USD")

    page.get_by_label("Amount to capture").fill("40.00")
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.locator("#capture-amount-error")).to_be_visible()
    page.get_by_label("Amount to capture").fill("10.00")
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.locator("#capture-outcome")).to_contain_text("Captured 10.00 USD")
    expect(facts).to_contain_text("Partially captured")
    expect(page.locator("#capture-remaining")).to_have_text("20.00 USD")
    page.get_by_role("button", name="Capture", exact=True).click()  # empty: the rest
    expect(page.locator("#capture-outcome")).to_contain_text("Captured 20.00 USD")
    expect(facts).to_contain_text("Captured")
    expect(page.locator("#capture-form")).to_be_hidden()
    expect(page.locator("#refund-form")).to_be_visible()  # a captured authorization refunds

    page.get_by_role("button", name="Take a payment").click()
    _authorize(console, "9.00")
    page.get_by_role("button", name="Void what is left").click()
    expect(page.locator("#capture-outcome")).to_contain_text("Voided")
    expect(facts).to_contain_text("Voided")
    expect(page.locator("#capture-form")).to_be_hidden()

    emulator = console.running.stack.emulator
    assert emulator is not None
    moved = sorted(c["amount"]["value"] for c in emulator.all_captures())
    assert moved == ["10.00", "20.00"]


def test_reauthorize_once_the_honour_period_is_over(console: Console) -> None:
    page = console.page
    console.sign_in()
    _authorize(console, "15.00")
    reauthorize = page.get_by_role("button", name="Reauthorize", exact=False)
    expect(reauthorize).to_be_hidden()  # PayPal still honours the amount

    emulator = console.running.stack.emulator
    assert emulator is not None
    emulator.advance_clock(days=4)
    # The page's clock moves on too, and the payment is shown again.
    page.clock.set_system_time(datetime.now(UTC) + timedelta(days=4))
    page.get_by_role("button", name="Payments").click()
    page.locator("#payments-rows tr").first.get_by_role("button", name="Details").click()
    expect(reauthorize).to_be_visible()
    reauthorize.click()
    expect(page.locator("#capture-outcome")).to_contain_text("Reauthorized")
    expect(reauthorize).to_be_hidden()  # once
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.locator("#capture-outcome")).to_contain_text("Captured 15.00 USD")
