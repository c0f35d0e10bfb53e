"""Roles in the console: an agent's console has no refund button and lists only the
agent's own payments, and the service refuses the agent a refund and another agent's
payment (403); a supervisor's console lists every payment and refunds one."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Console
from tests.cards import CVV, VISA, future_expiry, payment
from tests.conftest import Client

pytestmark = pytest.mark.slow


def _agent(console: Console, name: str) -> tuple[str, Client]:
    running = console.running
    _operator, key = running.stack.operators.add(name, role="agent")
    return key, Client(running.url, key, running.client.record)


def _in_page(console: Console, method: str, path: str, key: str) -> tuple[int, dict[str, str]]:
    """What the service answers the page itself for ``key`` (the browser's own request)."""
    answer = console.page.evaluate(
        """async ([method, path, key]) => {
            const response = await fetch(path, {method, headers: {
                Authorization: `Bearer ${key}`, "Content-Type": "application/json",
                "Idempotency-Key": "browser-refund-1"}, body: method === "POST" ? "{}" : null});
            return [response.status, await response.text()];
        }""",
        [method, path, key],
    )
    return answer[0], json.loads(answer[1])


def test_an_agent_has_no_refund_button_sees_only_their_payments_and_is_refused_with_403(
    console: Console,
) -> None:
    ada_key, _ada = _agent(console, "ada")
    _grace_key, grace = _agent(console, "grace")
    graces = grace.pay(payment(VISA, reference="graces-order")).json()["id"]
    page = console.page
    console.sign_in(ada_key)
    expect(page.locator("#agent-role")).to_have_text("agent")
    console.fill_payment(VISA, CVV, expiry=future_expiry(), amount="20.00", reference="adas-order")
    page.get_by_role("button", name="Charge card").click()
    assert "Approved" in console.receipt_text()
    page.get_by_role("button", name="View this payment").click()
    expect(page.locator("#detail")).to_contain_text("adas-order")
    expect(page.get_by_role("button", name="Refund…")).to_have_count(0)
    expect(page.locator("#refund-form")).to_be_hidden()

    page.get_by_role("button", name="Payments").click()
    rows = page.locator("#payments-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("adas-order")
    page.get_by_label("Search").fill(graces)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(0)

    # What a forged click would send: the page's own requests, with the agent's key.
    status, problem = _in_page(console, "GET", f"/v1/payments/{graces}", ada_key)
    assert (status, problem["code"], problem["role"]) == (403, "role_required", "supervisor")
    own = console.running.stack.ledger.list_payments(search="adas-order").items[0]["id"]
    status, problem = _in_page(console, "POST", f"/v1/payments/{own}/refunds", ada_key)
    assert (status, problem["code"], problem["role"]) == (403, "role_required", "supervisor")
    assert console.running.stack.emulator is not None
    assert console.running.stack.emulator.stats()["refunds"] == 0


def test_a_supervisor_sees_every_agents_payment_and_refunds_one(console: Console) -> None:
    _ada_key, ada = _agent(console, "ada")
    assert ada.pay(payment(VISA, amount="30.00", reference="adas-order")).status == 201
    page = console.page
    console.sign_in()  # the running stack's key: a supervisor's
    expect(page.locator("#agent-role")).to_have_text("supervisor")
    page.get_by_role("button", name="Payments").click()
    rows = page.locator("#payments-rows tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("button", name="Details").click()
    expect(page.locator("#detail")).to_contain_text("adas-order")
    page.get_by_label("Part of it").check()
    page.get_by_label("Amount to refund").fill("5.00")
    page.get_by_role("button", name="Refund…").click()
    page.get_by_role("button", name="Confirm refund").click()
    expect(page.locator("#refund-outcome")).to_contain_text("Refunded 5.00 USD")
    assert console.running.stack.emulator is not None
    assert console.running.stack.emulator.stats()["refunds"] == 1


def test_an_agents_authorization_has_no_capture_void_or_reauthorize_buttons(
    console: Console,
) -> None:
    ada_key, _ada = _agent(console, "ada")
    page = console.page
    console.sign_in(ada_key)
    console.fill_payment(VISA, CVV, expiry=future_expiry(), amount="20.00", reference="held")
    page.get_by_label("Authorize only").check()
    page.get_by_role("button", name="Charge card").click()
    console.receipt_text()
    page.get_by_role("button", name="View this payment").click()
    expect(page.locator("#detail-fields")).to_contain_text("Authorized, not captured")
    expect(page.locator("#capture-form")).to_be_hidden()
    for name in ("Capture", "Void what is left", "Reauthorize: honour the amount 3 days more"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
