"""The session store contract, pinned against every store: SQLite (local) and DynamoDB (AWS,
on moto's server). What the ivr function and the agent rely on must hold on either host."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.cde.errors import InvalidRequest
from cardline.ivr.sessions import PROGRESS, WAITING, SessionStore
from tests.ivr.conftest import SESSION_STORES, store_factory
from tests.seeded import contact_id

TERMS: dict[str, str | None] = {
    "amount": "19.99",
    "currency": "EUR",
    "reference": None,
    "cardholder_name": "Ada Lovelace",
}
STATUSES = ("approved", "declined", "failed", "unknown", "abandoned")


class _Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


@pytest.fixture(params=SESSION_STORES)
def kept(request: pytest.FixtureRequest, data_dir: Path) -> tuple[SessionStore, _Events]:
    events = _Events()
    return store_factory(request, request.param, data_dir)(events), events


def _waiting(store: SessionStore, **terms: str | None) -> str:
    created = store.create(
        {"contact_id": contact_id(), **TERMS, **terms}, operator="agent-7", origin="192.0.2.1"
    )
    return created.id


def test_a_created_session_reads_back_as_made_and_is_audited_once(
    kept: tuple[SessionStore, _Events],
) -> None:
    store, events = kept
    contact = contact_id()
    made = store.create(
        {"contact_id": contact, **TERMS, "reference": "order-1"},
        operator="agent-7",
        origin="192.0.2.1",
    )
    assert made.id.startswith("ivs_")
    assert (made.status, made.progress, made.operator) == (WAITING, WAITING, "agent-7")
    assert store.get(made.id) == made
    assert store.get(made.id + "x") is None
    (event,) = events.events
    assert (event.type, event.resource, event.operator, event.origin) == (
        "ivr_session",
        made.id,
        "agent-7",
        "192.0.2.1",
    )
    assert event.details == {
        "contact_id": contact,
        "amount": "19.99",
        "currency": "EUR",
        "reference": "order-1",
    }


def test_absent_optional_fields_read_back_as_none(kept: tuple[SessionStore, _Events]) -> None:
    store, _ = kept
    session = store.get(_waiting(store))
    assert session is not None
    assert (session.reference, session.payment_id, session.brand, session.last4) == (None,) * 4
    assert session.updated_at is None
    assert "confirmation_code" not in session.to_dict()


def test_progress_moves_either_way_while_waiting(kept: tuple[SessionStore, _Events]) -> None:
    store, _ = kept
    session_id = _waiting(store)
    for stage in (*PROGRESS[1:], "card_number_entered"):  # a re-prompt moves it back
        store.record_progress(session_id, stage)
        seen = store.get(session_id)
        assert seen is not None
        assert (seen.progress, seen.status) == (stage, WAITING)
        assert seen.updated_at is not None


def test_an_unknown_stage_is_refused_and_changes_nothing(
    kept: tuple[SessionStore, _Events],
) -> None:
    store, _ = kept
    session_id = _waiting(store)
    with pytest.raises(InvalidRequest) as refused:
        store.record_progress(session_id, "4111111111111111")
    assert "4111111111111111" not in str(refused.value)
    seen = store.get(session_id)
    assert seen is not None
    assert seen.progress == WAITING


@pytest.mark.parametrize("status", STATUSES)
def test_a_session_out_of_waiting_keeps_its_progress(
    kept: tuple[SessionStore, _Events], status: str
) -> None:
    store, _ = kept
    session_id = _waiting(store)
    store.record_progress(session_id, "charging")
    store.record_outcome(session_id, status=status)
    store.record_progress(session_id, "card_number_entered")
    seen = store.get(session_id)
    assert seen is not None
    assert (seen.status, seen.progress) == (status, "charging")


def _kept_first(first: str, later: str) -> bool:
    """The rule: a decision stands; an unknown outcome gives way only to a decision."""
    decisions = ("approved", "declined")
    return first in decisions or (first == "unknown" and later not in decisions)


def _expected(first: str, later: str) -> str:
    return first if _kept_first(first, later) else later


@pytest.mark.parametrize("first", STATUSES)
@pytest.mark.parametrize("later", STATUSES)
def test_a_decision_is_never_undone_and_unknown_gives_way_only_to_one(
    kept: tuple[SessionStore, _Events], first: str, later: str
) -> None:
    store, _ = kept
    session_id = _waiting(store)
    store.record_outcome(
        session_id, status=first, payment_id="pay_first", brand="VISA", last4="1881"
    )
    store.record_outcome(session_id, status=later, payment_id="pay_later")
    seen = store.get(session_id)
    assert seen is not None
    assert seen.status == _expected(first, later)
    if _kept_first(first, later):
        assert (seen.payment_id, seen.brand, seen.last4) == ("pay_first", "VISA", "1881")
    else:  # the later attempt's outcome whole: nothing of the earlier one left behind
        assert (seen.payment_id, seen.brand, seen.last4) == ("pay_later", None, None)


def test_an_approved_session_is_served_with_its_confirmation_code(
    kept: tuple[SessionStore, _Events],
) -> None:
    store, _ = kept
    session_id = _waiting(store)
    store.record_outcome(
        session_id, status="approved", payment_id="pay_abc", brand="VISA", last4="1881"
    )
    seen = store.get(session_id)
    assert seen is not None
    served = seen.to_dict()
    assert (served["status"], served["last4"]) == ("approved", "1881")
    assert served["confirmation_code"]
    assert set(asdict(seen)) <= set(served)


def test_updates_of_a_session_that_does_not_exist_create_none(
    kept: tuple[SessionStore, _Events],
) -> None:
    store, _ = kept
    store.record_progress("ivs_nobody", "charging")
    store.record_outcome("ivs_nobody", status="approved", payment_id="pay_x")
    assert store.get("ivs_nobody") is None
