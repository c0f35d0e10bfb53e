"""The ``ivr`` function's logic: read Connect's event, decrypt, validate, charge, answer.

Connect invokes the function with ``Details.ContactData`` (the contact) and
``Details.Parameters`` (what the contact flow passes) and takes back a flat map of
strings, read in the flow as ``$.External.<name>``. The answer is either

- ``action=reprompt``: ``field`` (``card_number``, ``expiry`` or ``security_code``),
  ``reason`` (``timeout``, ``invalid``, ``expired``, ``unsupported``), ``reason_spoken``
  and the next ``attempt``; or
- ``action=result``: ``status`` (``approved``, ``declined``, ``failed``, ``unknown``,
  ``abandoned``) with ``reason_spoken``, and for a decided payment ``payment_id``,
  ``last4``, ``last4_spoken``, ``amount_spoken``, ``reference_spoken``; or
- ``action=progress``, to an invocation that only says where the caller has got to
  (parameters ``session_id`` and ``progress``, one of ``sessions.PROGRESS``, and no card
  field): the agent's session shows it. Nothing is decrypted or charged; or
- ``action=recording``, to an invocation that suspends or resumes the agent's call
  recording on an agent-assisted call (parameters ``session_id`` and ``recording``,
  ``suspend`` or ``resume``, and no card field): ``agent_recording`` is ``suspended`` or
  ``not_suspended``, ``resumed``, ``not_resumed``, or ``none`` (no session: nothing to
  resume), with a ``reason`` code when Connect refused. The agent transfer flow lets the
  caller key the card only after ``suspended`` (see :mod:`cardline.ivr.recording_control`).

The idempotency key is derived from the contact id, so however often Connect invokes the
function for one call, PayPal charges it once. Audit events carry the contact id in their
``origin`` (``connect:<contact id>``); the operator is the Connect instance (``ivr:<id>``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from cardline.cde import audit, ids
from cardline.cde.card import (
    Card,
    parse_expiry,
    parse_number,
    parse_security_code,
)
from cardline.cde.charge import Charger, PaymentRequest, Receipt
from cardline.cde.confirmation import confirmation_code
from cardline.cde.errors import (
    CardlineError,
    GatewayOutcomeUnknown,
    GatewayUnavailable,
    InvalidCard,
    InvalidRequest,
)
from cardline.cde.metrics import Recorder
from cardline.cde.money import Money, parse_money
from cardline.cde.paypal.codes import APPROVED
from cardline.ivr.decrypt import ConnectDecryptor, DecryptionFailed
from cardline.ivr.recording_control import (
    RESUME,
    SUSPEND,
    RecordingControl,
    RecordingControlError,
    RecordingTarget,
)
from cardline.ivr.sessions import (
    NO_SESSION,
    WAITING,
    Session,
    SessionStore,
    check_cardholder_name,
    check_progress,
    check_reference,
)

log = logging.getLogger("cardline.ivr")

IVR_INPUT = "ivr_input"
IVR_RECORDING = "ivr_recording"
NEEDS_SESSION = "An agent-assisted capture needs its session"
ALREADY_DECIDED = "The IVR payment session is already decided"
TIMEOUT = "Timeout"  # what Connect stores when the caller keys nothing
MAX_REPROMPTS = 3
FIELDS = ("card_number", "expiry", "security_code")
DEFAULT_CARDHOLDER = "Telephone Customer"

_SPOKEN_FIELD = {
    "card_number": "card number",
    "expiry": "expiry date",
    "security_code": "security code",
}
_REKEY = " Please key it again."
_REKEY_THEN_CODE = " Please key it again; you will then be asked for the security code again."
_REKEY_AFTER = {
    "card_number": _REKEY_THEN_CODE,
    "expiry": _REKEY_THEN_CODE,
    "security_code": _REKEY,
}
_CURRENCY_WORDS = {"USD": "US dollars", "EUR": "euros", "GBP": "pounds sterling"}


class InvalidEvent(ValueError):
    """The event is not an Amazon Connect contact flow event we can act on; ``field`` is
    where in the event (never what it held)."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ContactEvent:
    """The parts of a Connect invocation the IVR uses."""

    contact_id: str
    related_contact_ids: frozenset[str]
    instance_id: str
    parameters: Mapping[str, str]
    initial_contact_id: str | None = None
    previous_contact_id: str | None = None

    @classmethod
    def parse(cls, event: object) -> ContactEvent:
        details = event.get("Details") if isinstance(event, dict) else None
        contact = details.get("ContactData") if isinstance(details, dict) else None
        if not isinstance(contact, dict):
            raise InvalidEvent("The event has no Details.ContactData")
        # Connect's ids are UUIDs; they are kept (audit origins, the idempotency key), and
        # the PAN mask leaves a UUID whole, so nothing of another shape is taken.
        contact_id = contact.get("ContactId")
        if not ids.is_uuid(contact_id):
            raise InvalidEvent(
                "Details.ContactData.ContactId is missing or not a UUID",
                "Details.ContactData.ContactId",
            )
        related = {contact_id}
        chain: dict[str, str | None] = {}
        for name in ("InitialContactId", "PreviousContactId"):
            value = contact.get(name)
            chain[name] = value if ids.is_uuid(value) else None
            if ids.is_uuid(value):
                related.add(value)
        arn = contact.get("InstanceARN")
        instance = arn.rsplit("/", 1)[-1] if isinstance(arn, str) and "/" in arn else ""
        if not ids.is_uuid(instance):
            raise InvalidEvent(
                "Details.ContactData.InstanceARN is missing or does not end in a UUID",
                "Details.ContactData.InstanceARN",
            )
        raw = details.get("Parameters") if isinstance(details, dict) else None
        parameters = {
            k: v
            for k, v in (raw if isinstance(raw, dict) else {}).items()
            if isinstance(k, str) and isinstance(v, str)
        }
        return cls(
            contact_id,
            frozenset(related),
            instance,
            parameters,
            chain["InitialContactId"],
            chain["PreviousContactId"],
        )


def agent_recording_target(contact: ContactEvent) -> RecordingTarget:
    """The recording of the contact the agent is on. The agents' quick connect makes a new
    contact (``QUEUE_TRANSFER``) for the payment flow; the agent, held, stays on the one it
    came from, its ``PreviousContactId``. Without one the agent is on this contact."""
    return RecordingTarget(
        instance_id=contact.instance_id,
        contact_id=contact.previous_contact_id or contact.contact_id,
        initial_contact_id=contact.initial_contact_id or contact.contact_id,
    )


@dataclass(frozen=True)
class Terms:
    """What the caller pays: amount, reference, the name for the card; the session if any."""

    money: Money
    reference: str | None
    cardholder_name: str
    session_id: str | None = None


class _Reprompt(Exception):
    def __init__(self, field: str, reason: str, sentence: str, refused: str | None = None) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.sentence = sentence
        self.refused = refused  # the refused card field as a problem names it; None: timeout


def idempotency_key_for(contact_id: str) -> str:
    """One payment per Connect contact: every invocation for it reuses this key."""
    return f"connect-contact:{contact_id}"


def operator_for(instance_id: str) -> str:
    """The identity the IVR charges under: its Connect instance."""
    return f"ivr:{instance_id}"


def spell(text: str) -> str:
    """Characters separated by spaces, so text-to-speech reads them one by one."""
    return " ".join(text)


class IvrHandler:
    """Answers one Connect invocation. Dependencies are built on first use (cold start).
    Keyed input or terms refused are reported to ``metrics`` by field (the charger
    reports the payments)."""

    def __init__(
        self,
        charger: Callable[[], Charger],
        decryptor: Callable[[], ConnectDecryptor],
        sink: audit.AuditSink,
        sessions: Callable[[], SessionStore] | None = None,
        *,
        recording: Callable[[], RecordingControl] | None = None,
        max_reprompts: int = MAX_REPROMPTS,
        today: Callable[[], date] = date.today,
        metrics: Recorder | None = None,
    ) -> None:
        self._metrics = metrics or Recorder("ivr")
        self._charger = charger
        self._decryptor = decryptor
        self._sink = sink
        self._sessions = sessions
        self._recording = recording
        self._max_reprompts = max_reprompts
        self._today = today

    def handle(self, event: object) -> dict[str, str]:
        contact = ContactEvent.parse(event)
        params = contact.parameters
        card_free = not any(params.get(field) for field in FIELDS)
        if "recording" in params and card_free:
            return self._agent_recording(contact, params["recording"])
        if "progress" in params and card_free:
            return self._progress(contact, params["progress"])
        attempt = _attempt(params.get("attempt"))
        try:
            terms = self._terms(contact)
            card = self._card(params, terms)
        except InvalidRequest as error:
            self._metrics.validation_refusal(error.field)
            spoken = _DECIDED if error.field == "status" else _SETUP_PROBLEM
            return self._give_up(contact, "setup", error.detail, spoken, error.field)
        except _Reprompt as reprompt:
            if reprompt.refused is not None:
                self._metrics.validation_refusal(reprompt.refused)
            return self._reprompt(contact, attempt, reprompt)
        except DecryptionFailed as failure:
            # A configuration fault (keys, flow), not the caller's: re-keying cannot help.
            log.error("ivr contact %s: decryption failed: %s", contact.contact_id, failure.detail)
            return self._give_up(contact, failure.code, failure.detail, _TECHNICAL)
        return self._charge(contact, terms, card)

    def _progress(self, contact: ContactEvent, stage: str) -> dict[str, str]:
        """Note where the caller is; a progress report never fails the call."""
        try:
            check_progress(stage)
            session = self._session_of(contact)
        except InvalidRequest as error:
            return {"action": "progress", "recorded": "false", "reason": error.detail}
        if session is not None and self._sessions is not None:
            self._sessions().record_progress(session.id, stage)
        return {"action": "progress", "recorded": "true" if session else "false"}

    # -- the agent's recording (agent-assisted calls) ---------------------------------------

    def _agent_recording(self, contact: ContactEvent, operation: str) -> dict[str, str]:
        if operation == SUSPEND:
            return self._suspend_agent(contact)
        if operation == RESUME:
            return self._resume_agent(contact)
        return {"action": "recording", "agent_recording": "unchanged", "reason": "unknown"}

    def _suspend_agent(self, contact: ContactEvent) -> dict[str, str]:
        """Suspend the agent's recording before the caller keys the card. Anything but
        ``suspended`` keeps the caller from keying it (the flow hands them back)."""
        target = agent_recording_target(contact)
        try:
            session = self._session_of(contact)
            if session is None:
                raise InvalidRequest(NEEDS_SESSION, field="session_id")
            if session.status != WAITING:
                raise InvalidRequest(ALREADY_DECIDED, field="status")
            if self._recording is None:
                raise RecordingControlError("no_recording_control")
            self._recording().suspend_agent(target)
        except InvalidRequest as error:
            return self._recording_refused(contact, target, SUSPEND, "setup", error.detail)
        except RecordingControlError as error:
            log.error("ivr contact %s: agent recording on: %s", contact.contact_id, error.code)
            return self._recording_refused(
                contact, target, SUSPEND, error.code, "Connect did not suspend the recording"
            )
        self._recording_event(contact, target, SUSPEND, "success", {})
        return {"action": "recording", "agent_recording": "suspended"}

    def _resume_agent(self, contact: ContactEvent) -> dict[str, str]:
        """Resume the agent's recording once the card is no longer keyed (every path of the
        flow asks, self-service calls too: without a session there is nothing to resume)."""
        if not contact.parameters.get("session_id"):
            return {"action": "recording", "agent_recording": "none"}
        target = agent_recording_target(contact)
        try:
            if self._recording is None:
                raise RecordingControlError("no_recording_control")
            self._recording().resume_agent(target)
        except RecordingControlError as error:
            log.error("ivr contact %s: agent recording off: %s", contact.contact_id, error.code)
            return self._recording_refused(
                contact, target, RESUME, error.code, "Connect did not resume the recording"
            )
        self._recording_event(contact, target, RESUME, "success", {})
        return {"action": "recording", "agent_recording": "resumed"}

    def _recording_refused(
        self, contact: ContactEvent, target: RecordingTarget, operation: str, code: str, detail: str
    ) -> dict[str, str]:
        self._recording_event(
            contact, target, operation, "failure", {"reason": code, "detail": detail}
        )
        state = "not_suspended" if operation == SUSPEND else "not_resumed"
        return {"action": "recording", "agent_recording": state, "reason": code}

    def _recording_event(
        self,
        contact: ContactEvent,
        target: RecordingTarget,
        operation: str,
        outcome: str,
        details: Mapping[str, str],
    ) -> None:
        """The audit event (card-free). Its id is derived from the contact, the operation and
        its outcome: when Connect invokes the function again for the same step (a retry
        after a throttle or a time-out) the event is written again with the same id, and
        the ledger applies it once."""
        audit.record(
            self._sink,
            IVR_RECORDING,
            operator=operator_for(contact.instance_id),
            outcome=outcome,
            origin=f"connect:{contact.contact_id}",
            resource=f"contact:{target.contact_id}",
            details={
                "action": operation,
                "participant": "agent",
                "initial_contact_id": target.initial_contact_id,
                "session_id": contact.parameters.get("session_id") or None,
                **details,
            },
            event_id=ids.digest(
                IVR_RECORDING, operation, outcome, contact.contact_id, target.contact_id
            )[:32],
        )

    def _session_of(self, contact: ContactEvent) -> Session | None:
        """The contact's agent-assisted session, if it names one; raises InvalidRequest for
        one that does not exist or belongs to another contact."""
        session_id = contact.parameters.get("session_id") or ""
        if not session_id:
            return None
        session = self._sessions().get(session_id) if self._sessions else None
        if session is None:
            raise InvalidRequest(NO_SESSION, field="session_id")
        if session.contact_id not in contact.related_contact_ids:
            raise InvalidRequest(
                "The IVR payment session belongs to another contact", field="session_id"
            )
        return session

    # -- terms ------------------------------------------------------------------------

    def _terms(self, contact: ContactEvent) -> Terms:
        params = contact.parameters
        session = self._session_of(contact)
        if session is not None:
            if session.status != "waiting":
                raise InvalidRequest(ALREADY_DECIDED, field="status")
            return Terms(
                parse_money(session.amount, session.currency),
                session.reference,
                session.cardholder_name,
                session.id,
            )
        return Terms(
            parse_money(params.get("amount", ""), params.get("currency", "")),
            check_reference(params.get("reference") or None, "reference"),
            check_cardholder_name(
                params.get("cardholder_name") or DEFAULT_CARDHOLDER, "cardholder_name"
            ),
        )

    # -- the card -----------------------------------------------------------------------

    def _card(self, params: Mapping[str, str], terms: Terms) -> Card:
        """Decrypt and check the fields in the order they were keyed; the first problem wins."""
        values: dict[str, str] = {}
        for field in FIELDS:
            raw = params.get(field, "")
            if raw == TIMEOUT or raw == "":
                values[field] = TIMEOUT
            else:
                plain = self._decryptor().decrypt(raw)
                # Connect can store an encrypted "Timeout" as well as a plain one.
                values[field] = TIMEOUT if plain == TIMEOUT else plain.rstrip("#")
        number = self._checked("card_number", values["card_number"], _check_number)
        _digits, brand = parse_number(number)
        expiry = self._checked(
            "expiry", values["expiry"], lambda text: _check_expiry(text, self._today())
        )
        code = self._checked(
            "security_code", values["security_code"], lambda text: parse_security_code(text, brand)
        )
        # Only the cardholder name, which the caller does not key, can still be refused here.
        return Card.parse(
            number=number,
            expiry=expiry,
            security_code=code,
            name=terms.cardholder_name,
            today=self._today(),
        )

    @staticmethod
    def _checked(field: str, value: str, check: Callable[[str], str]) -> str:
        spoken = _SPOKEN_FIELD[field]
        if value == TIMEOUT:
            raise _Reprompt(field, "timeout", f"We did not receive the {spoken}.")
        try:
            return check(value)
        except InvalidCard as error:
            reason = "expired" if "expired" in error.detail else "invalid"
            sentence = (
                "That card has expired, or the expiry date was mistyped."
                if reason == "expired"
                else f"The {spoken} you keyed is not valid."
            )
            if "supported card brand" in error.detail:
                reason, sentence = "unsupported", "We cannot take that kind of card."
            raise _Reprompt(field, reason, sentence, error.field) from None

    # -- answers ------------------------------------------------------------------------

    def _input_refused(self, contact: ContactEvent, details: dict[str, object]) -> None:
        """The audit event for keyed input the call could not use (card-free details)."""
        audit.record(
            self._sink,
            IVR_INPUT,
            operator=operator_for(contact.instance_id),
            outcome="failure",
            origin=f"connect:{contact.contact_id}",
            resource=f"contact:{contact.contact_id}",
            details=details,
        )

    def _reprompt(self, contact: ContactEvent, attempt: int, reprompt: _Reprompt) -> dict[str, str]:
        next_attempt = attempt + 1
        over = next_attempt > self._max_reprompts
        self._input_refused(
            contact,
            {
                "field": reprompt.field,
                "reason": reprompt.reason,
                "attempt": next_attempt,
                "gave_up": over,
            },
        )
        if over:
            return self._finish(
                contact,
                "abandoned",
                "We could not take the card details after "
                f"{self._max_reprompts + 1} attempts, so nothing was charged.",
            )
        return {
            "action": "reprompt",
            "field": reprompt.field,
            "reason": reprompt.reason,
            "reason_spoken": reprompt.sentence + _REKEY_AFTER[reprompt.field],
            "attempt": str(next_attempt),
        }

    def _give_up(
        self, contact: ContactEvent, code: str, detail: str, spoken: str, field: str | None = None
    ) -> dict[str, str]:
        details: dict[str, object] = {"reason": code, "detail": detail, "gave_up": True}
        if field is not None:
            details["field"] = field
        self._input_refused(contact, details)
        return self._finish(contact, "failed", spoken)

    def _finish(self, contact: ContactEvent, status: str, spoken: str) -> dict[str, str]:
        session_id = contact.parameters.get("session_id")
        if session_id and self._sessions is not None:
            session = self._sessions().get(session_id)
            if session is not None and session.contact_id in contact.related_contact_ids:
                self._sessions().record_outcome(session_id, status=status)
        return {"action": "result", "status": status, "reason_spoken": spoken}

    def _charge(self, contact: ContactEvent, terms: Terms, card: Card) -> dict[str, str]:
        request = PaymentRequest(money=terms.money, card=card, reference=terms.reference)
        operator = operator_for(contact.instance_id)
        if terms.session_id and self._sessions is not None:
            self._sessions().record_progress(terms.session_id, "charging")
        try:
            receipt = self._charger().charge(
                request,
                operator=operator,
                idempotency_key=idempotency_key_for(contact.contact_id),
                origin=f"connect:{contact.contact_id}",
            )
        except GatewayUnavailable:
            return self._finish(contact, "failed", _UNAVAILABLE + _EARLIER_ATTEMPTS)
        except GatewayOutcomeUnknown:
            return self._finish(contact, "unknown", _UNKNOWN)
        except CardlineError as error:
            log.warning("ivr contact %s: charge failed: %s", contact.contact_id, error.code)
            return self._finish(contact, "failed", _NOT_TAKEN + _EARLIER_ATTEMPTS)
        finally:
            card.wipe()
        return self._answer(contact, terms, receipt)

    def _answer(self, contact: ContactEvent, terms: Terms, receipt: Receipt) -> dict[str, str]:
        if terms.session_id and self._sessions is not None:
            self._sessions().record_outcome(
                terms.session_id,
                status=receipt.status,
                payment_id=receipt.id,
                brand=receipt.brand,
                last4=receipt.last4,
            )
        answer = {
            "action": "result",
            "status": receipt.status,
            "payment_id": receipt.id,
            "last4": receipt.last4,
            "last4_spoken": spell(receipt.last4),
            "amount_spoken": _amount_spoken(receipt.amount, receipt.currency),
            "reference_spoken": spell(confirmation_code(receipt.id)),
        }
        if receipt.status == "approved":
            answer["reason_spoken"] = APPROVED
        elif receipt.status == "declined":
            answer["reason_spoken"] = (receipt.message or "The card issuer declined it.") + (
                " No money was taken."
            )
        else:
            answer["reason_spoken"] = receipt.message or _REFUSED
        return answer


_SETUP_PROBLEM = "This payment is not set up correctly, so nothing was charged."
_TECHNICAL = "We could not read the card details on our side, so nothing was charged."
# A charge error speaks for this attempt only: Connect may have invoked the function before
# for this contact (the same idempotency key), and an earlier approval stands (charge.py
# says the same to the API's callers).
_UNAVAILABLE = "We could not reach the card processor, so this attempt did not charge the card."
_NOT_TAKEN = "The card processor did not take this attempt, so it did not charge the card."
# The agent's session was decided by an earlier invocation for this call.
_DECIDED = (
    "This payment was already approved or refused earlier in this call, and this attempt "
    "did not charge the card. Please do not pay again: the agent will tell you the outcome."
)
_EARLIER_ATTEMPTS = (
    " If the payment was already approved earlier in this call, it stands: please do not pay "
    "again, and the agent will check it for you."
)
_UNKNOWN = (
    "We could not confirm whether the payment went through. Please do not pay again: "
    "an agent will check it for you."
)
_REFUSED = "The card processor did not take the payment, so nothing was charged."


def _attempt(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 4 else 0


def _check_number(digits: str) -> str:
    return parse_number(digits)[0]


def _check_expiry(digits: str, today: date) -> str:
    """Four keyed digits, month then year (MMYY), as the ``MM/YY`` the card module reads."""
    if len(digits) != 4 or not digits.isdigit():
        raise InvalidCard("The expiry must be four digits, MMYY", field="card.expiry")
    text = f"{digits[:2]}/{digits[2:]}"
    parse_expiry(text, today=today)
    return text


def _amount_spoken(amount: str, currency: str) -> str:
    return f"{amount} {_CURRENCY_WORDS.get(currency, currency)}"


def error_answer() -> dict[str, str]:
    """What the Lambda answers when something unexpected happened (nothing about the card)."""
    return {"action": "result", "status": "failed", "reason_spoken": _TECHNICAL}
