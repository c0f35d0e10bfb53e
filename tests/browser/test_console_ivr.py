"""The console's "Caller keys the card" panel: an agent-assisted IVR payment in a real browser.

The agent starts the session in the page; the test then plays the caller and Amazon
Connect with the simulator (the same machinery as tests/ivr), joining that session on
that contact, and the page must show the outcome it polled for: last four digits only.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Request, Route, expect

from cardline.ivr.connect import TIMEOUT
from cardline.ivr.flow import default_flow_path
from cardline.ivr.scenarios import SCENARIOS, SECURITY_CODE
from cardline.ivr.simulator import CallResult, run_call
from tests.browser.conftest import Console, assert_no_card_data_kept
from tests.cards import TEST_PANS
from tests.ivr.conftest import connect_event

pytestmark = pytest.mark.slow

SESSIONS = "/v1/ivr/sessions"
OUTCOME_TIMEOUT = 30_000  # ms the page may take to poll its way to the outcome
POLL_INTERVAL = 2000  # ms between the page's polls (IVR_POLL_MS in console.js)
# The page's own words for a contact id that is not a UUID (names the field, says the form).
CONTACT_ID_PROBLEM = (
    "The caller's contact id is a UUID: 36 characters, 8-4-4-4-12 hex digits and dashes."
)


def _start_session(console: Console, contact_id: str, *, amount: str = "42.00") -> str:
    """Fill the panel and start the session; the session id the page says to put on the
    contact (as the agent would copy it into Connect)."""
    page = console.page
    page.get_by_role("button", name="Caller keys the card").click()
    expect(page.get_by_label("Caller's contact id")).to_be_focused()
    page.get_by_label("Caller's contact id").fill(contact_id)
    page.get_by_label("Amount to take").fill(amount)
    page.get_by_label("Currency to take").select_option("USD")
    page.get_by_label("Name on the card").fill("Ada Lovelace")
    page.get_by_label("Order number or note").fill("order-2001")
    page.get_by_role("button", name="Start keypad payment").click()
    panel = page.locator("#ivr-session")
    expect(panel).to_be_focused()
    expect(page.locator("#ivr-outcome")).to_have_text("Waiting for the caller to key the card…")
    attributes = page.locator("#ivr-attributes")
    expect(attributes.locator("dt")).to_have_text(["cardline_session_id"])
    session_id = attributes.locator("dd").inner_text()
    assert session_id.startswith("ivs_")
    expect(page.locator("#announce")).to_contain_text(f"cardline_session_id {session_id}")
    return session_id


def _caller_keys_the_card(
    console: Console, artifacts: Path, contact_id: str, session_id: str
) -> CallResult:
    """The caller, transferred to the payment flow, keys a good card on the keypad."""
    emulator = console.running.stack.emulator
    assert emulator is not None
    lines: list[str] = []
    result = run_call(
        SCENARIOS["good-card"],
        url=console.running.url,
        key=console.running.key,
        flow_path=default_flow_path(),
        emulator_url=emulator.base_url,
        agent_assisted=True,
        contact_id=contact_id,
        session_id=session_id,
        say=lines.append,
    )
    folder = artifacts / "ivr-transcripts"
    folder.mkdir(exist_ok=True)
    (folder / f"console-{session_id}.txt").write_text("\n".join(lines) + "\n")
    assert result.session_id == session_id
    assert result.contact_id == contact_id
    return result


def test_agent_starts_a_keypad_payment_and_sees_the_approved_outcome_with_last4_only(
    console: Console, artifacts: Path
) -> None:
    page = console.page
    console.sign_in()
    emulator = console.running.stack.emulator
    assert emulator is not None
    before = emulator.capture_count()
    contact_id = str(uuid.uuid4())
    session_id = _start_session(console, contact_id)

    result = _caller_keys_the_card(console, artifacts, contact_id, session_id)
    assert result.status == "approved"

    outcome = page.locator("#ivr-outcome")
    expect(outcome).to_have_text("Approved: 42.00 USD charged.", timeout=OUTCOME_TIMEOUT)
    expect(outcome).to_have_attribute("data-status", "approved")
    facts = page.locator("#ivr-facts").inner_text()
    assert "Visa •••• 1881" in facts
    assert result.external["payment_id"] in facts
    assert contact_id in facts
    expect(page.locator("#ivr-steps")).to_be_hidden()
    expect(page.get_by_role("button", name="Stop checking")).to_be_hidden()
    expect(page.locator("#announce")).to_contain_text("Approved: 42.00 USD charged. Visa •••• 1881")
    assert emulator.capture_count() == before + 1

    # The payment is the session's, with the terms the agent typed in the page.
    payment = console.running.client.request(
        "GET", f"/v1/payments/{result.external['payment_id']}"
    ).json()
    assert (payment["amount"], payment["currency"], payment["reference"]) == (
        "42.00",
        "USD",
        "order-2001",
    )
    assert (payment["brand"], payment["last4"], payment["status"]) == ("VISA", "1881", "approved")

    page.get_by_role("button", name="View this payment").click()
    expect(page.locator("#detail")).to_be_focused()
    expect(page.locator("#detail-fields")).to_contain_text("Visa •••• 1881")
    assert_no_card_data_kept(console, SECURITY_CODE)


# The checklist's steps in the page, in keying order, then the outcome.
STEPS = ["card_number_entered", "expiry_entered", "security_code_entered", "charging", "outcome"]


def _report_progress(console: Console, contact_id: str, session_id: str, stage: str) -> None:
    """What the flow's progress-only invocation of the ivr function does, through the
    local stand-in for Connect invoking it."""
    answer = console.running.client.request(
        "POST",
        "/v1/ivr/connect",
        connect_event(contact_id, {"session_id": session_id, "progress": stage}),
    )
    assert answer.json() == {"action": "progress", "recorded": "true"}


def _states(console: Console) -> list[str | None]:
    return [console.page.locator(f"#ivr-step-{step}").get_attribute("data-state") for step in STEPS]


def test_while_waiting_the_agent_sees_each_field_ticked_then_charging_then_the_outcome(
    console: Console, artifacts: Path
) -> None:
    page = console.page
    console.sign_in()
    contact_id = str(uuid.uuid4())
    session_id = _start_session(console, contact_id, amount="15.00")
    checklist = page.get_by_role("list", name="The caller's progress")
    expect(checklist).to_be_visible()
    expect(checklist.get_by_role("listitem")).to_have_text(
        [
            "Card number entered not yet",
            "Expiry date entered not yet",
            "Security code entered not yet",
            "Charging the card not yet",
            "Outcome not yet",
        ]
    )
    step = {name: page.locator(f"#ivr-step-{name}") for name in STEPS}
    for reached, stage in enumerate(STEPS[:3], start=1):
        _report_progress(console, contact_id, session_id, stage)
        expect(step[stage]).to_have_attribute("data-state", "done", timeout=OUTCOME_TIMEOUT)
        expect(step[stage]).to_contain_text("done")
        assert _states(console) == ["done"] * reached + ["todo"] * (5 - reached)
        expect(page.locator("#announce")).to_contain_text(step[stage].locator(".step").inner_text())
    # A re-prompt for the security code moves it back: that field is no longer ticked.
    _report_progress(console, contact_id, session_id, "expiry_entered")
    expect(step["security_code_entered"]).to_have_attribute(
        "data-state", "todo", timeout=OUTCOME_TIMEOUT
    )
    _report_progress(console, contact_id, session_id, "charging")
    expect(step["charging"]).to_have_attribute("data-state", "current", timeout=OUTCOME_TIMEOUT)
    expect(step["charging"]).to_have_attribute("aria-current", "step")
    expect(step["charging"]).to_contain_text("in progress")
    assert _states(console) == ["done", "done", "done", "current", "todo"]
    expect(page.locator("#ivr-outcome")).to_have_attribute("data-status", "waiting")

    # The caller keys the card (the flow reports each field again) and it is charged.
    result = _caller_keys_the_card(console, artifacts, contact_id, session_id)
    assert result.status == "approved"
    expect(step["outcome"]).to_have_attribute("data-state", "done", timeout=OUTCOME_TIMEOUT)
    expect(step["outcome"]).to_contain_text("approved")
    assert _states(console) == ["done"] * 5
    expect(page.locator("#ivr-outcome")).to_have_text("Approved: 15.00 USD charged.")
    # Never the digits: the checklist says which fields were keyed, not what.
    shown = checklist.inner_text()
    assert not any(character.isdigit() for character in shown)
    assert_no_card_data_kept(console, SECURITY_CODE)


def test_a_session_decided_before_charging_leaves_the_steps_not_reached(
    console: Console,
) -> None:
    page = console.page
    console.sign_in()
    contact_id = str(uuid.uuid4())
    session_id = _start_session(console, contact_id, amount="6.00")
    _report_progress(console, contact_id, session_id, "card_number_entered")
    expect(page.locator("#ivr-step-card_number_entered")).to_have_attribute(
        "data-state", "done", timeout=OUTCOME_TIMEOUT
    )
    # The caller keys nothing more, past the last re-prompt: the call is abandoned.
    gave_up = {field: TIMEOUT for field in ("card_number", "expiry", "security_code")}
    answer = console.running.client.request(
        "POST",
        "/v1/ivr/connect",
        connect_event(contact_id, {**gave_up, "attempt": "3", "session_id": session_id}),
    ).json()
    assert (answer["action"], answer["status"]) == ("result", "abandoned")
    expect(page.locator("#ivr-outcome")).to_have_attribute(
        "data-status", "abandoned", timeout=OUTCOME_TIMEOUT
    )
    assert _states(console) == ["done", "missed", "missed", "missed", "done"]
    expect(page.locator("#ivr-step-expiry_entered")).to_contain_text("not reached")
    expect(page.locator("#ivr-step-outcome")).to_contain_text("abandoned")


def test_checking_stops_when_asked_and_resumes_on_check_again(
    console: Console, artifacts: Path
) -> None:
    page = console.page
    console.sign_in()
    polls: list[str] = []
    page.on(
        "request",
        lambda r: polls.append(r.url) if r.method == "GET" and SESSIONS + "/" in r.url else None,
    )
    contact_id = str(uuid.uuid4())
    session_id = _start_session(console, contact_id, amount="7.00")
    page.get_by_role("button", name="Stop checking").click()
    expect(page.get_by_role("button", name="Check again")).to_be_focused()
    expect(page.locator("#ivr-polling")).to_contain_text("Stopped checking")
    stopped_at = len(polls)

    _caller_keys_the_card(console, artifacts, contact_id, session_id)
    page.wait_for_timeout(POLL_INTERVAL + 1000)  # longer than a poll takes to come round
    # Decided on the server, but the page stopped asking: it still shows waiting.
    assert len(polls) == stopped_at
    expect(page.locator("#ivr-outcome")).to_have_attribute("data-status", "waiting")

    page.get_by_role("button", name="Check again").click()
    expect(page.locator("#ivr-outcome")).to_have_text(
        "Approved: 7.00 USD charged.", timeout=OUTCOME_TIMEOUT
    )
    assert len(polls) > stopped_at
    assert all(url.endswith(f"{SESSIONS}/{session_id}") for url in polls)
    assert_no_card_data_kept(console, SECURITY_CODE)


def test_mistakes_are_shown_next_to_their_field_and_nothing_is_sent(console: Console) -> None:
    page = console.page
    console.sign_in()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name="Caller keys the card").click()
    page.get_by_label("Caller's contact id").fill("not a contact id!")
    page.get_by_label("Amount to take").fill("12.345")
    page.get_by_label("Name on the card").fill(f"Ada {TEST_PANS[0]}")
    page.get_by_role("button", name="Start keypad payment").click()
    expect(page.locator("#ivr-contact-error")).to_have_text(CONTACT_ID_PROBLEM)
    expect(page.get_by_label("Caller's contact id")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Caller's contact id")).to_be_focused()
    expect(page.locator("#ivr-amount-error")).to_be_visible()
    expect(page.locator("#ivr-name-error")).to_have_text("A name must not hold a card number.")
    expect(page.locator("#ivr-session")).to_be_hidden()
    assert posts == []
    page.get_by_label("Name on the card").fill("")  # what the agent typed is not left behind


# What the old check let through (letters, digits and dashes) and the service refuses: it
# takes only a UUID (cardline.cde.ids.is_uuid), so the page must refuse these before sending.
NOT_UUIDS = [
    "abc-123",
    "not-a-contact-id",
    str(uuid.UUID(int=7)).replace("-", ""),  # the right digits, no dashes
    str(uuid.UUID(int=7))[:-1],  # one digit short
    str(uuid.UUID(int=7)) + "0",  # one digit over
    "g" + str(uuid.UUID(int=7))[1:],  # a letter that is not hex
    str(uuid.UUID(int=7)).replace("-", "_"),
]


def test_the_contact_id_hint_says_uuid_and_where_connect_shows_it(console: Console) -> None:
    page = console.page
    console.sign_in()
    page.get_by_role("button", name="Caller keys the card").click()
    hint = page.locator("#ivr-contact-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Contact Control Panel")
    expect(hint).to_contain_text("UUID")
    described = page.get_by_label("Caller's contact id").get_attribute("aria-describedby") or ""
    assert "ivr-contact-hint" in described.split()
    assert "letters, digits and dashes" not in page.content()


@pytest.mark.parametrize("contact", NOT_UUIDS)
def test_a_contact_id_that_is_not_a_uuid_is_refused_before_sending(
    console: Console, contact: str
) -> None:
    page = console.page
    console.sign_in()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.get_by_role("button", name="Caller keys the card").click()
    page.get_by_label("Caller's contact id").fill(contact)
    page.get_by_label("Amount to take").fill("5.00")
    page.get_by_label("Name on the card").fill("Ada Lovelace")
    page.get_by_role("button", name="Start keypad payment").click()
    expect(page.locator("#ivr-contact-error")).to_have_text(CONTACT_ID_PROBLEM)
    expect(page.get_by_label("Caller's contact id")).to_be_focused()
    assert posts == []


def test_a_contact_id_in_capitals_is_sent_as_the_uuid_connect_writes(console: Console) -> None:
    page = console.page
    console.sign_in()
    contact = str(uuid.uuid4())
    bodies: list[object] = []
    page.on(
        "request",
        lambda r: bodies.append(r.post_data_json)
        if r.method == "POST" and r.url.endswith(SESSIONS)
        else None,
    )
    page.get_by_role("button", name="Caller keys the card").click()
    page.get_by_label("Caller's contact id").fill(f"  {contact.upper()} ")
    page.get_by_label("Amount to take").fill("5.00")
    page.get_by_label("Name on the card").fill("Ada Lovelace")
    page.get_by_role("button", name="Start keypad payment").click()
    expect(page.locator("#ivr-session")).to_be_visible()
    expect(page.locator("#ivr-facts")).to_contain_text(contact)
    assert [b["contact_id"] for b in bodies] == [contact]  # type: ignore[index]


def test_without_ivr_sessions_on_the_service_the_panel_is_replaced_by_a_note(
    console: Console,
) -> None:
    """As on AWS without the IVR (no ConnectInstanceArn): the config does not offer IVR
    sessions, and an API without the route answers 404; either way the agent gets the
    note, not a form."""
    page = console.page

    def config_without_ivr(route: Route, request: Request) -> None:
        route.fulfill(status=200, content_type="application/json", body='{"auth":"operator-key"}')

    page.route("**/console/config.json", config_without_ivr)
    page.reload()
    console.sign_in()
    page.get_by_role("button", name="Caller keys the card").click()
    expect(page.locator("#ivr-unavailable")).to_be_visible()
    expect(page.locator("#ivr-unavailable")).to_contain_text("not available on this service")
    expect(page.locator("#ivr-form")).to_be_hidden()

    # Offered by the config, but the API has no such route: the same note after the 404.
    page.unroute("**/console/config.json")

    def no_sessions_route(route: Route, request: Request) -> None:
        route.fulfill(
            status=404,
            content_type="application/problem+json",
            body='{"title": "Not found", "status": 404, "code": "not_found"}',
        )

    page.route(f"**{SESSIONS}", no_sessions_route)
    page.reload()
    console.sign_in()
    page.get_by_role("button", name="Caller keys the card").click()
    expect(page.locator("#ivr-form")).to_be_visible()
    page.get_by_label("Caller's contact id").fill(str(uuid.uuid4()))
    page.get_by_label("Amount to take").fill("5.00")
    page.get_by_label("Name on the card").fill("Ada Lovelace")
    page.get_by_role("button", name="Start keypad payment").click()
    expect(page.locator("#ivr-unavailable")).to_be_visible()
    expect(page.locator("#ivr-form")).to_be_hidden()
    expect(page.locator("#announce")).to_contain_text("not available on this service")
