"""Progress reports: the flow says where the caller is, the agent's session shows it."""

from __future__ import annotations

import pytest

from cardline.ivr.sessions import PROGRESS, Session
from tests.ivr.conftest import Rig, connect_event
from tests.ivr.test_handler import keyed
from tests.seeded import contact_id


def waiting_session(rig: Rig, contact: str) -> Session:
    return rig.sessions.create(
        {
            "contact_id": contact,
            "amount": "9.00",
            "currency": "USD",
            "reference": None,
            "cardholder_name": "Grace Hopper",
        },
        operator="agent-1",
        origin="127.0.0.1",
    )


@pytest.mark.parametrize("stage", PROGRESS)
def test_each_stage_reaches_the_session(session_rig: Rig, stage: str) -> None:
    rig = session_rig
    contact = contact_id()
    session = waiting_session(rig, contact)
    answer = rig.handler.handle(
        connect_event(contact, {"session_id": session.id, "progress": stage})
    )
    assert answer == {"action": "progress", "recorded": "true"}
    seen = rig.sessions.get(session.id)
    assert seen is not None
    assert (seen.progress, seen.status) == (stage, "waiting")


def test_an_unknown_stage_or_another_contacts_session_changes_nothing(session_rig: Rig) -> None:
    rig = session_rig
    contact = contact_id()
    session = waiting_session(rig, contact)
    bad_stage = rig.handler.handle(
        connect_event(contact, {"session_id": session.id, "progress": "4111111111111111"})
    )
    other = rig.handler.handle(
        connect_event(contact_id(), {"session_id": session.id, "progress": "expiry_entered"})
    )
    assert bad_stage["recorded"] == other["recorded"] == "false"
    assert "4111111111111111" not in str(bad_stage)
    seen = rig.sessions.get(session.id)
    assert seen is not None
    assert seen.progress == "waiting"


def test_charging_is_recorded_and_a_decided_session_keeps_its_progress(session_rig: Rig) -> None:
    rig = session_rig
    contact = contact_id()
    session = waiting_session(rig, contact)
    answer = rig.handler.handle(
        connect_event(contact, {**keyed(rig), "amount": "", "session_id": session.id})
    )
    assert answer["status"] == "approved"
    rig.sessions.record_progress(session.id, "card_number_entered")
    seen = rig.sessions.get(session.id)
    assert seen is not None
    assert (seen.status, seen.progress) == ("approved", "charging")


def test_a_progress_report_with_card_fields_is_a_charge_attempt(rig: Rig) -> None:
    contact = contact_id()
    answer = rig.handler.handle(connect_event(contact, {**keyed(rig), "progress": "charging"}))
    assert answer["action"] == "result"
