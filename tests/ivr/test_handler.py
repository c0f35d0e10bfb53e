"""The ivr function: Connect's event in, re-prompts or a charge outcome out; one charge per call."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.cde.request_rules import paypal_request_id_for
from cardline.ivr import lambda_handler
from cardline.ivr.connect import (
    IVR_INPUT,
    TIMEOUT,
    ContactEvent,
    InvalidEvent,
    idempotency_key_for,
    operator_for,
)
from cardline.ivr.encrypt import encrypt_like_connect
from cardline.ivr.keys import KeyPair
from cardline.sandbox import Emulator
from tests.aws_support import Aws
from tests.cards import AMEX, AMEX_CVV, CVV, MISTYPED_VISA, TEST_CVVS, TEST_PANS, VISA
from tests.ivr.conftest import INSTANCE, Rig, as_sent, connect_event
from tests.seeded import contact_id

EXPIRY = f"12{(date.today().year + 3) % 100:02d}"


def keyed(rig: Rig, number: str = VISA, expiry: str = EXPIRY, code: str = CVV) -> dict[str, str]:
    parameters = {
        "card_number": number if number == TIMEOUT else rig.encrypt(number),
        "expiry": expiry if expiry == TIMEOUT else rig.encrypt(expiry),
        "security_code": code if code == TIMEOUT else rig.encrypt(code),
        "amount": "12.50",
        "currency": "USD",
        "reference": "invoice-7",
        "cardholder_name": "Ada Lovelace",
    }
    return parameters


def no_card_data(path: Path) -> None:
    text = path.read_text()
    assert not any(pan in text for pan in TEST_PANS)
    assert not any(f'"{cvv}"' in text for cvv in TEST_CVVS)


def test_a_good_card_is_charged_and_read_back(rig: Rig) -> None:
    contact = contact_id()
    answer = rig.handler.handle(connect_event(contact, keyed(rig)))
    assert answer["action"] == "result"
    assert answer["status"] == "approved"
    assert answer["last4"] == "1881"
    assert answer["last4_spoken"] == "1 8 8 1"
    assert answer["amount_spoken"] == "12.50 US dollars"
    assert all(isinstance(v, str) for v in answer.values())
    (payment,) = [e for e in rig.events() if e.type == audit.PAYMENT]
    assert payment.origin == f"connect:{contact}"
    assert payment.operator == operator_for(INSTANCE)
    assert payment.resource == answer["payment_id"]
    # The code the console shows the agent for this payment, spoken letter by letter.
    from cardline.cde.confirmation import confirmation_code

    code = confirmation_code(answer["payment_id"])
    assert answer["reference_spoken"] == " ".join(code)
    assert re.fullmatch(r"[A-Z]{6}", code)
    no_card_data(rig.audit_path)


def test_repeated_invocations_for_one_contact_charge_once(rig: Rig) -> None:
    contact = contact_id()
    event = connect_event(contact, keyed(rig))
    first = rig.handler.handle(event)
    second = rig.handler.handle(event)
    assert first == second
    request_id = paypal_request_id_for(operator_for(INSTANCE), idempotency_key_for(contact))
    assert len(rig.emulator.captures_for(request_id)) == 1


def test_an_amex_takes_a_four_digit_code(rig: Rig) -> None:
    answer = rig.handler.handle(connect_event(contact_id(), keyed(rig, number=AMEX, code=AMEX_CVV)))
    assert (answer["status"], answer["last4"]) == ("approved", AMEX[-4:])


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"number": MISTYPED_VISA}, "card_number", "invalid"),
        ({"number": TIMEOUT}, "card_number", "timeout"),
        ({"expiry": "0120"}, "expiry", "expired"),
        ({"expiry": "1399"}, "expiry", "invalid"),
        ({"code": TIMEOUT}, "security_code", "timeout"),
        ({"code": "12"}, "security_code", "invalid"),
        ({"number": "4111", "code": TIMEOUT}, "card_number", "invalid"),
    ],
)
def test_a_bad_field_is_reprompted_first_in_keying_order(
    rig: Rig, fields: dict[str, str], field: str, reason: str
) -> None:
    contact = contact_id()
    answer = rig.handler.handle(connect_event(contact, keyed(rig, **fields)))
    assert answer["action"] == "reprompt"
    assert (answer["field"], answer["reason"], answer["attempt"]) == (field, reason, "1")
    assert answer["reason_spoken"]
    (event,) = [e for e in rig.events() if e.type == IVR_INPUT]
    assert event.origin == f"connect:{contact}"
    assert event.details["field"] == field
    assert (
        rig.emulator.captures_for(
            paypal_request_id_for(operator_for(INSTANCE), idempotency_key_for(contact))
        )
        == []
    )
    no_card_data(rig.audit_path)


def test_an_encrypted_timeout_counts_as_a_timeout(rig: Rig) -> None:
    parameters = keyed(rig)
    parameters["security_code"] = rig.encrypt(TIMEOUT)
    answer = rig.handler.handle(connect_event(contact_id(), parameters))
    assert (answer["field"], answer["reason"]) == ("security_code", "timeout")


def test_after_the_limit_the_caller_goes_to_an_agent_uncharged(rig: Rig) -> None:
    parameters = keyed(rig, number=MISTYPED_VISA)
    parameters["attempt"] = "3"
    answer = rig.handler.handle(connect_event(contact_id(), parameters))
    assert answer["action"] == "result"
    assert answer["status"] == "abandoned"
    assert "nothing was charged" in answer["reason_spoken"]


def test_a_decryption_failure_gives_up_with_the_reason_in_the_audit(
    rig: Rig, other_key_pair: KeyPair
) -> None:
    parameters = keyed(rig)
    parameters["card_number"] = encrypt_like_connect(
        VISA, key_id=other_key_pair.key_id, certificate_pem=other_key_pair.certificate_pem
    )
    answer = rig.handler.handle(connect_event(contact_id(), parameters))
    assert (answer["action"], answer["status"]) == ("result", "failed")
    (event,) = [e for e in rig.events() if e.type == IVR_INPUT]
    assert event.details["reason"] == "unknown_key_id"
    assert as_sent(other_key_pair.key_id) in event.details["detail"]
    no_card_data(rig.audit_path)


def test_a_decline_is_said_in_words(rig: Rig) -> None:
    parameters = {**keyed(rig), "cardholder_name": "CCREJECT-IF"}
    answer = rig.handler.handle(connect_event(contact_id(), parameters))
    assert answer["status"] == "declined"
    assert "insufficient funds" in answer["reason_spoken"]


def test_missing_payment_terms_give_up_without_charging(rig: Rig) -> None:
    parameters = {**keyed(rig), "amount": ""}
    answer = rig.handler.handle(connect_event(contact_id(), parameters))
    assert (answer["action"], answer["status"]) == ("result", "failed")


def test_an_agent_session_supplies_the_terms_and_gets_the_outcome(session_rig: Rig) -> None:
    rig = session_rig
    contact = contact_id()
    session = rig.sessions.create(
        {
            "contact_id": contact,
            "amount": "40.00",
            "currency": "EUR",
            "reference": "order-9",
            "cardholder_name": "Grace Hopper",
        },
        operator="agent-1",
        origin="127.0.0.1",
    )
    parameters = {**keyed(rig), "amount": "", "session_id": session.id}
    answer = rig.handler.handle(connect_event(contact, parameters))
    assert answer["amount_spoken"] == "40.00 euros"
    decided = rig.sessions.get(session.id)
    assert decided is not None
    assert (decided.status, decided.payment_id, decided.last4) == (
        "approved",
        answer["payment_id"],
        "1881",
    )


def test_a_session_of_another_contact_is_refused(session_rig: Rig) -> None:
    rig = session_rig
    session = rig.sessions.create(
        {
            "contact_id": "someone-else",
            "amount": "1.00",
            "currency": "USD",
            "reference": None,
            "cardholder_name": "Grace Hopper",
        },
        operator="agent-1",
        origin="127.0.0.1",
    )
    parameters = {**keyed(rig), "session_id": session.id}
    answer = rig.handler.handle(connect_event(contact_id(), parameters))
    assert answer["status"] == "failed"
    still = rig.sessions.get(session.id)
    assert still is not None
    assert still.status == "waiting"


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"Details": {"ContactData": {"ContactId": "x y", "InstanceARN": "a/b"}}},
        {"Details": {"ContactData": {"ContactId": "abc", "InstanceARN": "nope"}}},
    ],
)
def test_events_that_are_not_connects_are_refused(event: object) -> None:
    with pytest.raises(InvalidEvent):
        ContactEvent.parse(event)


def test_the_lambda_entry_point_takes_a_payment(
    emulator: Emulator, key_pair: KeyPair, rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cardline.ivr import keys

    for name, value in {
        "PAYPAL_CLIENT_ID": emulator.client_id,
        "PAYPAL_CLIENT_SECRET": emulator.client_secret,
        "PAYPAL_BASE_URL": emulator.base_url,
        "CARDLINE_FINGERPRINT_KEY": "k" * 64,
        "CARDLINE_IVR_KEYS_SECRET_ID": "cardline/ivr-keys",
    }.items():
        monkeypatch.setenv(name, value)
    asked: list[str] = []

    def from_secret(secret_id: str, client: object = None) -> list[object]:
        asked.append(secret_id)
        return [key_pair.connect_key()]

    monkeypatch.setattr(keys, "keys_from_secrets_manager", from_secret)
    monkeypatch.setattr(lambda_handler, "_handler", None)
    answer = lambda_handler.handler(connect_event(contact_id(), keyed(rig)), None)
    assert answer["status"] == "approved"
    assert asked == ["cardline/ivr-keys"]
    assert os.environ["CARDLINE_IVR_KEYS_SECRET_ID"] == "cardline/ivr-keys"


def test_the_lambda_entry_point_keeps_agent_sessions_in_its_table(
    emulator: Emulator,
    key_pair: KeyPair,
    rig: Rig,
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On AWS the function reads the session the backoffice created, records the caller's
    progress on it and the outcome: a ``session_id`` is no longer refused."""
    from cardline.ivr import keys
    from cardline.ivr.session_table import DynamoDbSessionStore

    table = aws.sessions_table()
    for name, value in {
        **aws.environment(),
        "PAYPAL_CLIENT_ID": emulator.client_id,
        "PAYPAL_CLIENT_SECRET": emulator.client_secret,
        "PAYPAL_BASE_URL": emulator.base_url,
        "CARDLINE_FINGERPRINT_KEY": "k" * 64,
        "CARDLINE_IVR_KEYS_SECRET_ID": "cardline/ivr-keys",
        "CARDLINE_IVR_SESSIONS_TABLE": table,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(keys, "keys_from_secrets_manager", lambda *_: [key_pair.connect_key()])
    monkeypatch.setattr(lambda_handler, "_handler", None)
    backoffice = DynamoDbSessionStore(table, rig.sink, aws.client("dynamodb"))
    contact = contact_id()
    session = backoffice.create(
        {
            "contact_id": contact,
            "amount": "40.00",
            "currency": "EUR",
            "reference": "order-9",
            "cardholder_name": "Grace Hopper",
        },
        operator="agent-1",
        origin="192.0.2.1",
    )
    progress = {"session_id": session.id, "progress": "security_code_entered"}
    answer = lambda_handler.handler(connect_event(contact, progress), None)
    assert answer == {"action": "progress", "recorded": "true"}
    seen = backoffice.get(session.id)
    assert seen is not None
    assert seen.progress == "security_code_entered"

    parameters = {**keyed(rig), "amount": "", "session_id": session.id}
    answer = lambda_handler.handler(connect_event(contact, parameters), None)
    assert (answer["status"], answer["amount_spoken"]) == ("approved", "40.00 euros")
    decided = backoffice.get(session.id)
    assert decided is not None
    assert (decided.status, decided.progress, decided.payment_id, decided.last4) == (
        "approved",
        "charging",
        answer["payment_id"],
        "1881",
    )


def test_the_lambda_entry_point_answers_even_when_misconfigured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PAYPAL_CLIENT_ID", raising=False)
    monkeypatch.setattr(lambda_handler, "_handler", None)
    answer = lambda_handler.handler(connect_event("c-1", {}), None)
    assert answer == {
        "action": "result",
        "status": "failed",
        "reason_spoken": json.loads(json.dumps(answer))["reason_spoken"],
    }
    assert "nothing was charged" in answer["reason_spoken"]
