"""The agent's recording on agent-assisted calls: suspended before the card, resumed after.

The ivr function calls Amazon Connect's SuspendContactRecording / ResumeContactRecording
(botocore's Stubber pins the exact requests) on the contact the agent is on, fails closed
when Connect does not suspend, and audits each step card-free with an id a retry repeats.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cardline.cde import audit
from cardline.ivr.connect import IVR_RECORDING, IvrHandler
from cardline.ivr.recording_control import (
    ConnectRecordingControl,
    LocalRecordingControl,
    RecordingControlError,
    RecordingTarget,
)
from tests.ivr.conftest import INSTANCE, Rig, connect_event

AGENT_CONTACT = "a9e17000-0000-4000-8000-00000000a9e1"  # the contact the agent is on
PAYMENT_CONTACT = "b0b0b0b0-1111-4222-8333-444455556666"  # the quick connect's new contact
TARGET = RecordingTarget(INSTANCE, AGENT_CONTACT, AGENT_CONTACT)
EXPECTED = {
    "InstanceId": INSTANCE,
    "ContactId": AGENT_CONTACT,
    "InitialContactId": AGENT_CONTACT,
    "ContactRecordingType": "AGENT",
}


def transferred(parameters: dict[str, str]) -> dict[str, Any]:
    """An event of the payment contact the agents' quick connect made (QUEUE_TRANSFER)."""
    event = connect_event(PAYMENT_CONTACT, parameters)
    data = event["Details"]["ContactData"]
    data.update(
        InitialContactId=AGENT_CONTACT,
        PreviousContactId=AGENT_CONTACT,
        InitiationMethod="QUEUE_TRANSFER",
    )
    return event


def session_for(rig: Rig, contact_id: str = AGENT_CONTACT) -> str:
    terms = {
        "contact_id": contact_id,
        "amount": "5.00",
        "currency": "USD",
        "reference": "inv-7",
        "cardholder_name": "Ada Lovelace",
    }
    return rig.sessions.create(terms, operator="agent-1", origin="test").id


def handler_with(rig: Rig, control: Any) -> IvrHandler:
    return IvrHandler(
        lambda: pytest.fail("no charge"),
        lambda: pytest.fail("no decryption"),
        rig.sink,
        lambda: rig.sessions,
        recording=lambda: control,
    )


def recording_events(rig: Rig) -> list[audit.AuditEvent]:
    return [e for e in rig.events() if e.type == IVR_RECORDING]


def test_suspend_then_resume_act_on_the_agents_contact_and_are_audited(rig: Rig) -> None:
    control = LocalRecordingControl()
    handler = handler_with(rig, control)
    session = session_for(rig)
    answer = handler.handle(transferred({"session_id": session, "recording": "suspend"}))
    assert answer == {"action": "recording", "agent_recording": "suspended"}
    assert control.state(AGENT_CONTACT) == "suspended"
    answer = handler.handle(transferred({"session_id": session, "recording": "resume"}))
    assert answer == {"action": "recording", "agent_recording": "resumed"}
    assert control.state(AGENT_CONTACT) == "recording"
    assert [(op, request) for op, request in control.calls] == [
        ("suspend", EXPECTED),
        ("resume", EXPECTED),
    ]
    events = recording_events(rig)
    assert [(e.details["action"], e.outcome) for e in events] == [
        ("suspend", "success"),
        ("resume", "success"),
    ]
    assert {e.resource for e in events} == {f"contact:{AGENT_CONTACT}"}
    assert {e.origin for e in events} == {f"connect:{PAYMENT_CONTACT}"}
    assert {e.operator for e in events} == {f"ivr:{INSTANCE}"}


def test_a_retried_suspend_writes_its_event_again_with_the_same_id(rig: Rig) -> None:
    handler = handler_with(rig, LocalRecordingControl())
    event = transferred({"session_id": session_for(rig), "recording": "suspend"})
    assert handler.handle(event)["agent_recording"] == "suspended"
    assert handler.handle(event)["agent_recording"] == "suspended"
    first, again = recording_events(rig)
    assert first.event_id == again.event_id  # the ledger applies it once


def test_connect_refusing_to_suspend_fails_closed_and_says_why(rig: Rig) -> None:
    control = LocalRecordingControl()
    control.refuse(AGENT_CONTACT, "suspend")
    handler = handler_with(rig, control)
    answer = handler.handle(transferred({"session_id": session_for(rig), "recording": "suspend"}))
    assert answer == {
        "action": "recording",
        "agent_recording": "not_suspended",
        "reason": "InvalidRequestException",
    }
    assert control.state(AGENT_CONTACT) is None
    [event] = recording_events(rig)
    assert (event.outcome, event.details["reason"]) == ("failure", "InvalidRequestException")


@pytest.mark.parametrize("case", ["no-session", "unknown-session", "other-contact", "decided"])
def test_no_suspension_without_this_contacts_waiting_session(rig: Rig, case: str) -> None:
    control = LocalRecordingControl()
    handler = handler_with(rig, control)
    session = {
        "no-session": "",
        "unknown-session": "ivs_" + "b" * 24,
        "other-contact": session_for(rig, "c0c0c0c0-1111-4222-8333-444455556666"),
        "decided": session_for(rig),
    }[case]
    if case == "decided":
        rig.sessions.record_outcome(session, status="approved", payment_id="p", last4="1881")
    answer = handler.handle(transferred({"session_id": session, "recording": "suspend"}))
    assert answer["agent_recording"] == "not_suspended"
    assert control.calls == []
    [event] = recording_events(rig)
    assert (event.outcome, event.details["reason"]) == ("failure", "setup")


def test_without_a_recording_control_nothing_is_suspended(rig: Rig) -> None:
    handler = IvrHandler(
        lambda: pytest.fail("no charge"), lambda: pytest.fail("no decryption"), rig.sink,
        lambda: rig.sessions,
    )  # fmt: skip
    answer = handler.handle(transferred({"session_id": session_for(rig), "recording": "suspend"}))
    assert answer["agent_recording"] == "not_suspended"


def test_a_self_service_call_has_nothing_to_resume(rig: Rig) -> None:
    control = LocalRecordingControl()
    answer = handler_with(rig, control).handle(
        connect_event(PAYMENT_CONTACT, {"session_id": "", "recording": "resume"})
    )
    assert answer == {"action": "recording", "agent_recording": "none"}
    assert control.calls == []
    assert recording_events(rig) == []


def test_a_failed_resume_is_audited_and_answered(rig: Rig) -> None:
    control = LocalRecordingControl()
    control.refuse(AGENT_CONTACT, "resume")
    answer = handler_with(rig, control).handle(
        transferred({"session_id": session_for(rig), "recording": "resume"})
    )
    assert answer["agent_recording"] == "not_resumed"
    [event] = recording_events(rig)
    assert (event.details["action"], event.outcome) == ("resume", "failure")


def test_without_a_previous_contact_the_agent_is_on_this_one(rig: Rig) -> None:
    control = LocalRecordingControl()
    event = connect_event(PAYMENT_CONTACT, {"recording": "suspend"})
    del event["Details"]["ContactData"]["PreviousContactId"]
    event["Details"]["Parameters"]["session_id"] = session_for(rig, PAYMENT_CONTACT)
    assert handler_with(rig, control).handle(event)["agent_recording"] == "suspended"
    assert control.calls[0][1]["ContactId"] == PAYMENT_CONTACT


# -- the boto3 control: Connect's requests, exactly -----------------------------------------


def stubbed() -> tuple[ConnectRecordingControl, Stubber]:
    client = boto3.client(
        "connect",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # a stubbed client sends nothing
    )
    return ConnectRecordingControl(client), Stubber(client)


def test_suspend_and_resume_send_connects_requests_for_the_agents_leg() -> None:
    control, stub = stubbed()
    stub.add_response("suspend_contact_recording", {}, EXPECTED)
    stub.add_response("resume_contact_recording", {}, EXPECTED)
    with stub:
        control.suspend_agent(TARGET)
        control.resume_agent(TARGET)
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "code", ["InvalidRequestException", "ResourceNotFoundException", "InternalServiceException"]
)
def test_connects_errors_become_a_recording_control_error_with_the_code(code: str) -> None:
    control, stub = stubbed()
    stub.add_client_error(
        "suspend_contact_recording", service_error_code=code, expected_params=EXPECTED
    )
    with stub, pytest.raises(RecordingControlError) as raised:
        control.suspend_agent(TARGET)
    assert raised.value.code == code


def test_the_handler_on_the_boto3_control_suspends_through_connect(rig: Rig) -> None:
    control, stub = stubbed()
    stub.add_response("suspend_contact_recording", {}, EXPECTED)
    with stub:
        answer = handler_with(rig, control).handle(
            transferred({"session_id": session_for(rig), "recording": "suspend"})
        )
    assert answer["agent_recording"] == "suspended"
    stub.assert_no_pending_responses()


def test_the_boto3_client_is_made_on_first_use_only(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    monkeypatch.setattr(boto3, "client", lambda name: made.append(name) or object())
    control = ConnectRecordingControl()
    assert made == []
    with pytest.raises(AttributeError):
        control.suspend_agent(TARGET)  # the fake client has no such method
    assert made == ["connect"]
