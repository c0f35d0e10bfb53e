"""The console as an agent uses it through a shift: what the page shows after each step.

Each test names one thing an agent met: a list that did not follow a refund, an empty
table header, an operator id where a name belongs, "Refunded 0 USD", ids broken mid-word,
no code to read back to the caller, no search, no name or shift total, no printable
receipt.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cardline.sandbox.faults import Fault
from tests.browser.conftest import Console, assert_no_card_data_kept
from tests.cards import AMEX, AMEX_CVV, CVV, MASTERCARD, VISA, future_expiry, payment

pytestmark = pytest.mark.slow

CAPTURES = "/v2/payments/captures/"


def _charge(console: Console, number: str, code: str, **fields: str) -> str:
    """Takes one payment through the form; returns its payment id from the receipt."""
    page = console.page
    console.fill_payment(number, code, expiry=future_expiry(), **fields)
    page.get_by_role("button", name="Charge card").click()
    console.receipt_text()
    payment_id = page.locator("#receipt-fields dt", has_text="Payment id").locator("+ dd")
    return payment_id.inner_text()


def _fact(page: Page, facts: str, term: str) -> str:
    return page.locator(f"{facts} dt", has_text=term).locator("+ dd").inner_text()


def _row(page: Page, payment_id: str) -> str:
    return page.locator(f'#payments-rows tr[data-id="{payment_id}"]').inner_text()


def test_a_refund_updates_the_payments_list_by_itself(console: Console) -> None:
    page = console.page
    console.sign_in()
    payment_id = _charge(console, VISA, CVV, amount="30.00")
    page.get_by_role("button", name="Payments").click()
    expect(page.locator(f'#payments-rows tr[data-id="{payment_id}"]')).to_contain_text("Approved")
    page.locator(f'#payments-rows tr[data-id="{payment_id}"]').get_by_role("button").click()
    page.get_by_role("button", name="Refund…").click()
    page.get_by_role("button", name="Confirm refund").click()
    expect(page.locator("#refund-outcome")).to_contain_text("Refunded 30.00 USD")
    # No "Show" pressed: the row says what the detail says.
    expect(page.locator(f'#payments-rows tr[data-id="{payment_id}"]')).to_contain_text("Refunded")


def test_view_this_payment_shows_no_empty_table_header(console: Console) -> None:
    page = console.page
    console.sign_in()
    _charge(console, VISA, CVV)
    page.get_by_role("button", name="View this payment").click()
    expect(page.locator("#detail")).to_be_focused()
    # Every table on screen has rows under its header, or is not on screen.
    empty = page.evaluate(
        """() => [...document.querySelectorAll('table')]
            .filter(t => t.checkVisibility() && t.tBodies[0].rows.length === 0)
            .map(t => t.id)"""
    )
    assert empty == []


def test_taken_by_names_the_agent_and_an_unrefunded_payment_shows_no_refunded_line(
    console: Console,
) -> None:
    page = console.page
    console.sign_in()
    _charge(console, VISA, CVV)
    page.get_by_role("button", name="View this payment").click()
    expect(page.locator("#detail-fields")).to_contain_text("Taken by")
    assert _fact(page, "#detail-fields", "Taken by") == "agent-test"
    assert "op_" not in page.locator("#detail").inner_text()
    terms = page.locator("#detail-fields dt").all_inner_texts()
    assert "Refunded" not in terms


def test_ids_do_not_wrap_mid_word_on_a_narrow_screen(console: Console) -> None:
    page = console.page
    page.set_viewport_size({"width": 420, "height": 900})
    console.sign_in()
    _charge(console, VISA, CVV)
    page.get_by_role("button", name="View this payment").click()
    expect(page.locator("#detail-fields")).to_contain_text("Payment id")
    # Each id's text lies on one line: all of its glyph boxes share one top edge.
    # Waits until the ids are laid out (the detail fills in after its answer arrives).
    lines = page.wait_for_function(
        """() => {
            const shown = [...document.querySelectorAll('#detail-fields dd, #receipt-fields dd')]
                .filter(dd => dd.checkVisibility()
                              && /^(pay|ref)_|^[0-9A-Z]{17}$/.test(dd.textContent))
                .map(dd => {
                    const range = document.createRange();
                    range.selectNodeContents(dd);
                    return [dd.textContent,
                            new Set([...range.getClientRects()].map(r => Math.round(r.top))).size];
                });
            return shown.length ? shown : null;
        }"""
    ).json_value()
    assert lines, "no id shown"
    assert all(count == 1 for _text, count in lines), lines


def test_the_receipt_gives_the_ivrs_confirmation_code_to_read_back(console: Console) -> None:
    page = console.page
    console.sign_in()
    payment_id = _charge(console, VISA, CVV)
    from cardline.cde.confirmation import confirmation_code

    code = confirmation_code(payment_id)
    assert len(code) == 6
    assert _fact(page, "#receipt-fields", "Confirmation code") == code
    expect(page.locator("#announce")).to_contain_text(code)
    page.get_by_role("button", name="View this payment").click()
    assert _fact(page, "#detail-fields", "Confirmation code") == code


def test_search_finds_a_payment_by_reference_last_4_amount_or_id(console: Console) -> None:
    client = console.running.client
    made = {}
    for number, amount, reference in (
        (VISA, "11.00", "order-2001"),
        (AMEX, "22.00", "order-2002"),
        (MASTERCARD, "33.00", "order-2003"),
    ):
        code = AMEX_CVV if number == AMEX else CVV
        answer = client.pay(payment(number, code=code, amount=amount, reference=reference))
        assert answer.status == 201
        made[reference] = answer.json()
    for n in range(12):  # older than a page: search must not stop at the first page
        assert (
            client.pay(
                payment(VISA, amount=f"{n + 40}.00", reference=f"later-{chr(97 + n)}")
            ).status
            == 201
        )
    page = console.page
    console.sign_in()
    page.get_by_role("button", name="Payments").click()
    rows = page.locator("#payments-rows tr")
    expect(rows).to_have_count(10)
    search = page.get_by_label("Search")
    for text, reference in (
        ("order-2002", "order-2002"),
        (made["order-2003"]["last4"], "order-2003"),
        ("11.00", "order-2001"),
        ("11", "order-2001"),
        (made["order-2002"]["id"], "order-2002"),
    ):
        search.fill(text)
        page.get_by_role("button", name="Show", exact=True).click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(reference)
    search.fill("nothing-like-this")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(0)
    expect(page.locator("#payments-empty")).to_be_visible()

    # A card number typed into the search is refused on the page: never sent, never shown.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url))
    search.fill(VISA)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#filter-search-error")).to_contain_text("card number")
    assert not [url for url in sent if "/v1/payments" in url]
    search.fill("")
    assert_no_card_data_kept(console, CVV)


def test_the_bar_names_the_agent_and_totals_the_shift(console: Console) -> None:
    page = console.page
    console.sign_in()
    expect(page.locator("#agent-name")).to_have_text("agent-test")
    expect(page.locator("#shift-total")).to_contain_text("Nothing taken yet")
    _charge(console, VISA, CVV, amount="12.50")
    page.get_by_role("button", name="New payment").click()
    _charge(console, VISA, CVV, amount="3.00")
    page.get_by_role("button", name="New payment").click()
    _charge(console, VISA, CVV, amount="99.00", name="CCREJECT-IF")  # declined: not taken
    expect(page.locator("#shift-total")).to_contain_text("2 payments")
    expect(page.locator("#shift-total")).to_contain_text("15.50 USD")
    page.get_by_role("button", name="Sign out").click()
    console.sign_in()
    expect(page.locator("#shift-total")).to_contain_text("Nothing taken yet")


def test_the_receipt_prints_alone(console: Console) -> None:
    page = console.page
    console.sign_in()
    payment_id = _charge(console, VISA, CVV, reference="order-print")
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Print receipt").click()
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#receipt")).to_contain_text(payment_id)
    expect(page.locator("#receipt")).to_contain_text("order-print")
    for hidden in ("#nav", "#pay-form", "#receipt .actions"):
        expect(page.locator(hidden)).to_be_hidden()


def test_every_button_that_waits_is_busy_until_its_answer(console: Console) -> None:
    page = console.page
    console.sign_in()
    _charge(console, VISA, CVV, amount="20.00")
    page.get_by_role("button", name="View this payment").click()
    emulator = console.running.stack.emulator
    assert emulator is not None
    emulator.inject(Fault(kind="delay", delay=0.5, path_prefix=CAPTURES, method="POST"))
    page.get_by_role("button", name="Refund…").click()
    yes = page.locator("#refund-confirm-yes")
    yes.click()
    expect(yes).to_be_disabled()
    expect(yes).to_have_attribute("aria-busy", "true")
    expect(page.locator("#refund-outcome")).to_contain_text("Refunded 20.00 USD")
    assert emulator.stats()["refunds"] == 1
