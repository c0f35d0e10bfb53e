"""The agent console in a real browser: Playwright driving Debian's Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cardline.sandbox.faults import Fault
from tests.browser.conftest import Console, assert_no_card_data_kept
from tests.cards import AMEX, AMEX_CVV, CVV, MISTYPED_VISA, TEST_PANS, VISA, future_expiry, payment

pytestmark = pytest.mark.slow

CARD_INPUTS = ("#card-number", "#card-expiry", "#card-cvv", "#card-name")
ORDERS = "/v2/checkout/orders"


def _captures(console: Console) -> int:
    emulator = console.running.stack.emulator
    assert emulator is not None
    return emulator.capture_count()


def _card_inputs_empty(page: Page) -> None:
    for selector in CARD_INPUTS:
        expect(page.locator(selector)).to_have_value("")


def test_sign_in_needs_a_key_the_service_accepts(console: Console) -> None:
    page = console.page
    expect(page.get_by_label("Operator key")).to_be_focused()
    page.get_by_label("Operator key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#operator-key-error")).to_have_text("This key was not accepted.")
    expect(page.get_by_label("Operator key")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#nav")).to_be_hidden()

    console.sign_in()
    expect(page.get_by_label("Amount", exact=True)).to_be_focused()
    expect(page.get_by_label("Operator key")).to_have_value("")
    storage = page.evaluate("() => localStorage.length + sessionStorage.length + document.cookie")
    assert storage == "0"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    console.sign_in()
    page.reload()  # the key lived in memory only: a reload forgets it
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()


def test_approved_payment_shows_a_masked_receipt_and_keeps_no_card_data(console: Console) -> None:
    page = console.page
    console.sign_in()
    before = _captures(console)
    console.fill_payment(VISA, CVV, expiry=future_expiry(), reference="order-1001")
    expect(page.locator("#card-brand")).to_have_text("Visa")
    page.get_by_role("button", name="Charge card").click()

    receipt = console.receipt_text()
    assert "Approved: 12.50 USD charged." in receipt
    assert "Visa •••• 1881" in receipt
    assert "order-1001" in receipt
    expect(page.locator("#receipt")).to_be_focused()
    expect(page.locator("#announce")).to_contain_text("Approved")
    assert _captures(console) == before + 1
    _card_inputs_empty(page)
    assert_no_card_data_kept(console, CVV)


def test_declined_payment_gives_the_reason_in_words(console: Console) -> None:
    page = console.page
    console.sign_in()
    console.fill_payment(VISA, CVV, expiry=future_expiry(), name="CCREJECT-IF")
    page.get_by_role("button", name="Charge card").click()

    receipt = console.receipt_text()
    assert "Declined: Insufficient funds (code 5120)." in receipt
    assert "The card has insufficient funds." in receipt
    expect(page.locator("#receipt-outcome")).to_have_attribute("data-status", "declined")
    _card_inputs_empty(page)
    assert_no_card_data_kept(console, CVV)


def test_partial_then_full_refund_each_after_a_confirmation(console: Console) -> None:
    page = console.page
    console.sign_in()
    console.fill_payment(AMEX, AMEX_CVV, expiry=future_expiry(), amount="40.00")
    page.get_by_role("button", name="Charge card").click()
    assert "American Express •••• 8431" in console.receipt_text()
    page.get_by_role("button", name="View this payment").click()
    detail = page.locator("#detail")
    expect(detail).to_be_focused()
    expect(detail).to_contain_text("No refunds yet.")
    expect(page.locator("#refund-remaining")).to_have_text("40.00 USD")

    page.get_by_label("Part of it").check()
    expect(page.get_by_label("Amount to refund")).to_be_focused()
    page.get_by_label("Amount to refund").fill("50.00")
    page.get_by_role("button", name="Refund…").click()
    expect(page.locator("#refund-amount-error")).to_have_text(
        "At most 40.00 USD is left to refund."
    )
    page.get_by_label("Amount to refund").fill("15.00")
    page.get_by_role("button", name="Refund…").click()
    expect(page.locator("#refund-confirm-text")).to_have_text(
        "Refund 15.00 USD to American Express •••• 8431? This cannot be undone."
    )
    page.get_by_role("button", name="Cancel").click()  # cancelling refunds nothing
    expect(page.get_by_role("button", name="Refund…")).to_be_focused()
    page.get_by_role("button", name="Refund…").click()
    page.get_by_role("button", name="Confirm refund").click()
    expect(page.locator("#refund-outcome")).to_contain_text("Refunded 15.00 USD")
    expect(page.locator("#detail-fields")).to_contain_text("Partially refunded")
    expect(page.locator("#refunds-rows tr")).to_have_count(1)
    expect(page.locator("#refund-remaining")).to_have_text("25.00 USD")

    page.get_by_label("Everything left").check()
    page.get_by_role("button", name="Refund…").click()
    expect(page.locator("#refund-confirm-text")).to_contain_text("Refund 25.00 USD")
    page.get_by_role("button", name="Confirm refund").click()
    expect(page.locator("#refund-outcome")).to_contain_text("Refunded 25.00 USD")
    expect(page.locator("#refunds-rows tr")).to_have_count(2)
    expect(page.locator("#refund-form")).to_be_hidden()  # nothing left to refund

    capture_id = page.locator("#detail-fields dd").last.inner_text()  # the last fact shown
    stored = console.running.client.request("GET", "/v1/payments?limit=1").json()["items"][0]
    assert stored["status"] == "refunded"
    assert stored["refunded_amount"] == "40.00"
    assert stored["paypal_capture_id"] == capture_id


def test_double_click_on_charge_makes_one_charge(console: Console) -> None:
    page = console.page
    console.sign_in()
    # A slow PayPal keeps the first submit in flight while the second click lands.
    console.running.stack.emulator.inject(  # type: ignore[union-attr]
        Fault(kind="delay", delay=0.5, path_prefix=ORDERS, method="POST")
    )
    before = _captures(console)
    posts: list[str] = []
    page.on(
        "request",
        lambda r: posts.append(r.headers["idempotency-key"])
        if r.method == "POST" and r.url.endswith("/v1/payments")
        else None,
    )
    console.fill_payment(VISA, CVV, expiry=future_expiry())
    page.get_by_role("button", name="Charge card").dblclick()
    expect(page.locator("#pay-submit")).to_be_disabled()
    assert "Approved" in console.receipt_text()
    expect(page.locator("#pay-submit")).to_be_enabled()
    assert _captures(console) == before + 1
    assert len(posts) == 1


def test_a_lost_answer_is_retried_with_the_same_idempotency_key(console: Console) -> None:
    page = console.page
    console.sign_in()
    emulator = console.running.stack.emulator
    assert emulator is not None
    # PayPal takes the payment but every answer is lost: the outcome is unknown (504).
    emulator.inject(Fault(kind="drop_after", path_prefix=ORDERS, method="POST", times=20))
    keys: list[str] = []
    page.on(
        "request",
        lambda r: keys.append(r.headers["idempotency-key"])
        if r.method == "POST" and r.url.endswith("/v1/payments")
        else None,
    )
    console.fill_payment(VISA, CVV, expiry=future_expiry())
    page.get_by_role("button", name="Charge card").click()
    expect(page.locator("#pay-error")).to_contain_text("cannot be charged twice")
    _card_inputs_empty(page)
    expect(page.locator("#card-number")).to_be_focused()
    emulator.clear_faults()

    console.fill_payment(VISA, CVV, expiry=future_expiry())
    page.get_by_role("button", name="Charge card").click()
    assert "Approved" in console.receipt_text()
    assert emulator.capture_count() == 1
    page.get_by_role("button", name="New payment").click()
    console.fill_payment(VISA, CVV, expiry=future_expiry(), amount="3.00")
    page.get_by_role("button", name="Charge card").click()
    expect(page.locator("#receipt-outcome")).to_contain_text("3.00 USD")
    assert len(keys) == 3
    assert keys[0] == keys[1] != keys[2]
    assert emulator.capture_count() == 2
    assert_no_card_data_kept(console, CVV)


def test_keyboard_only_payment_follows_the_form_order(console: Console) -> None:
    page = console.page
    keys = page.keyboard
    expect(page.get_by_label("Operator key")).to_be_focused()
    keys.type(console.running.key)
    keys.press("Enter")
    order = [
        ("#amount", "9.99"),
        ("#currency", None),
        ("#card-number", VISA),
        ("#card-expiry", future_expiry()),
        ("#card-cvv", CVV),
        ("#card-name", "Grace Hopper"),
        ("#card-postal-code", None),
        ("#card-country", None),
        ("#reference", "call-42"),
        ("#authorize-only", None),
    ]
    for position, (selector, text) in enumerate(order):
        if position:
            keys.press("Tab")
        expect(page.locator(selector)).to_be_focused()
        if text is not None:
            keys.type(text)
    keys.press("Tab")
    expect(page.get_by_role("button", name="Charge card")).to_be_focused()
    keys.press("Enter")
    receipt = console.receipt_text()
    assert "Approved: 9.99 USD charged." in receipt
    assert "call-42" in receipt
    expect(page.locator("#receipt")).to_be_focused()
    _card_inputs_empty(page)
    assert_no_card_data_kept(console, CVV)


def test_mistakes_are_shown_next_to_their_field_before_anything_is_sent(console: Console) -> None:
    page = console.page
    console.sign_in()
    console.fill_payment(VISA, CVV, expiry=future_expiry())
    page.get_by_role("button", name="Charge card").click()
    assert "Approved" in console.receipt_text()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)

    page.get_by_label("Card number").press_sequentially(MISTYPED_VISA)
    expect(page.locator("#card-brand")).to_have_text("Visa")
    expect(page.locator("#card-number-error")).to_contain_text("check-digit")
    page.get_by_label("Card number").fill(AMEX[:2])
    expect(page.locator("#card-brand")).to_have_text("American Express")
    expect(page.get_by_label("Security code")).to_have_attribute("maxlength", "4")
    expect(page.locator("#card-cvv-hint")).to_contain_text("4 digits")
    page.get_by_label("Expiry").fill("01/20")
    expect(page.locator("#card-expiry-error")).to_have_text("This card has expired.")

    page.get_by_label("Amount", exact=True).fill("12.345")
    page.get_by_label("Card number").fill(AMEX)
    amex_grouped = f"{AMEX[:4]} {AMEX[4:10]} {AMEX[10:]}"  # as printed on the card
    expect(page.get_by_label("Card number")).to_have_value(amex_grouped)
    page.get_by_label("Security code").fill(CVV)
    page.get_by_role("button", name="Charge card").click()
    expect(page.locator("#amount-error")).to_have_text("Write the amount like 12.50.")
    expect(page.locator("#card-cvv-error")).to_contain_text("4 digits")
    expect(page.locator("#card-name-error")).to_be_visible()
    expect(page.get_by_label("Amount", exact=True)).to_be_focused()
    assert sent == []

    # What only the service can judge comes back as problem+json and lands by its field.
    console.fill_payment(AMEX, AMEX_CVV, expiry=future_expiry(), amount="1000000")
    page.get_by_role("button", name="Charge card").click()
    expect(page.locator("#amount-error")).to_contain_text("1000000")
    expect(page.locator("#receipt")).to_be_hidden()  # the last receipt is not this one's
    expect(page.get_by_label("Amount", exact=True)).to_be_focused()
    assert len(sent) == 1
    _card_inputs_empty(page)
    assert_no_card_data_kept(console, AMEX_CVV)


def test_leaving_the_page_empties_the_card_fields(console: Console) -> None:
    page = console.page
    console.sign_in()
    for event in ("pagehide", "beforeunload"):
        console.fill_payment(VISA, CVV, expiry=future_expiry())
        expect(page.locator("#card-number")).not_to_have_value("")
        # What the browser fires on closing, reloading or navigating away (bfcache included).
        page.evaluate(f"() => window.dispatchEvent(new Event('{event}'))")
        _card_inputs_empty(page)
        expect(page.get_by_label("Amount", exact=True)).to_have_value("12.50")


def test_payments_list_filters_by_status_and_date_and_pages(console: Console) -> None:
    client = console.running.client
    for n in range(11):
        assert client.pay(payment(VISA, amount=f"{n + 1}.00", reference=f"r-{n}")).status == 201
    assert client.pay(payment(VISA, name="CCREJECT-IF", reference="declined-1")).status == 201
    page = console.page
    console.sign_in()
    page.get_by_role("button", name="Payments").click()
    rows = page.locator("#payments-rows tr")
    expect(rows).to_have_count(10)
    page.get_by_role("button", name="Show older payments").click()
    expect(rows).to_have_count(12)
    expect(page.locator("#payments-rows")).to_contain_text("declined-1")
    expect(page.get_by_role("button", name="Show older payments")).to_be_hidden()

    page.get_by_label("Status").select_option("declined")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Visa •••• 1881")

    today = page.evaluate("() => new Date().toISOString().slice(0, 10)")
    page.get_by_label("Status").select_option("")
    page.get_by_label("To (inclusive)").fill(today)  # inclusive: today's payments stay
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(10)
    page.get_by_label("From (UTC date)").fill("2999-01-01")
    page.get_by_label("To (inclusive)").fill("")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(0)
    expect(page.locator("#payments-empty")).to_be_visible()


def test_content_security_policy_blocks_an_injected_inline_script(console: Console) -> None:
    page = console.page
    csp = console.responses[0].headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    page.evaluate(
        """() => {
            window.cspViolations = [];
            document.addEventListener('securitypolicyviolation',
                e => window.cspViolations.push(e.effectiveDirective));
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.append(script);
            const img = document.createElement('img');
            img.setAttribute('src', 'data:,');
            img.setAttribute('onerror', 'window.injected = true');
            document.body.append(img);
        }"""
    )
    page.wait_for_function("() => window.cspViolations.length >= 2")
    assert page.evaluate("() => window.injected") is None
    assert "script-src-elem" in page.evaluate("() => window.cspViolations")
    assert any("Content Security Policy" in line for line in console.messages)


def test_the_page_itself_raises_no_console_errors(console: Console) -> None:
    console.sign_in()
    console.page.get_by_role("button", name="Payments").click()
    expect(console.page.locator("#payments-empty")).to_be_visible()
    errors = [line for line in console.messages if line.startswith(("error", "pageerror"))]
    assert errors == []
    assert all(pan not in "\n".join(console.messages) for pan in TEST_PANS)
