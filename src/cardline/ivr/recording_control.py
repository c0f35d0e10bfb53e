"""The agent's call recording on agent-assisted calls: suspended while the caller keys the card.

On an agent-assisted call the agent's contact is already being recorded when the agents'
quick connect hands the caller to the payment flow, and a *Set recording behavior* block
changes the agent's recording only when an agent joins: it cannot pause a recording that
is running. Amazon Connect's API can: ``SuspendContactRecording`` (the suspended time is
silence in the recording) and ``ResumeContactRecording``, each with ``InstanceId``,
``ContactId``, ``InitialContactId`` and ``ContactRecordingType`` (``AGENT`` here). The
contact named is the one the agent is on: for the contact the quick connect made
(``QUEUE_TRANSFER``) that is its ``PreviousContactId``.

:class:`ConnectRecordingControl` calls the API (boto3, imported and built on first use);
:class:`LocalRecordingControl` is the local stack's stand-in for it, which the simulator
reads and which can be told to refuse.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

AGENT = "AGENT"  # Connect's ContactRecordingType for the agent's leg
SUSPEND = "suspend"
RESUME = "resume"
SUSPENDED = "suspended"
RECORDING = "recording"
# How the local stand-in for Connect (POST /v1/ivr/connect) tells a simulated call what its
# recording API did, and how a simulated call makes it fail (cardline.ivr.routes).
AGENT_RECORDING_HEADER = "X-Cardline-Agent-Recording"
FAULT_HEADER = "X-Cardline-Connect-Fault"
FAULTS = {"suspend-contact-recording": SUSPEND, "resume-contact-recording": RESUME}


@dataclass(frozen=True)
class RecordingTarget:
    """The recording to act on: the contact the agent is on, in its instance and chain."""

    instance_id: str
    contact_id: str
    initial_contact_id: str


class RecordingControlError(Exception):
    """Connect did not suspend or resume the recording; ``code`` says why (an AWS error
    code such as ``InvalidRequestException``, or the exception's type), never more."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class RecordingControl(Protocol):
    """Suspends and resumes the agent's recording of a contact; raises RecordingControlError."""

    def suspend_agent(self, target: RecordingTarget) -> None:
        """Stop recording the agent's leg until :meth:`resume_agent`."""
        ...

    def resume_agent(self, target: RecordingTarget) -> None:
        """Record the agent's leg again after :meth:`suspend_agent`."""
        ...


def _request(target: RecordingTarget) -> dict[str, str]:
    return {
        "InstanceId": target.instance_id,
        "ContactId": target.contact_id,
        "InitialContactId": target.initial_contact_id,
        "ContactRecordingType": AGENT,
    }


class ConnectRecordingControl:
    """Amazon Connect's recording API through boto3. The client is made on first use
    (``client``: one made elsewhere, e.g. a test's stubbed client)."""

    def __init__(self, client: Any = None) -> None:
        self._client = client
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3

                self._client = boto3.client("connect")
            return self._client

    def suspend_agent(self, target: RecordingTarget) -> None:
        self._call("suspend_contact_recording", target)

    def resume_agent(self, target: RecordingTarget) -> None:
        self._call("resume_contact_recording", target)

    def _call(self, operation: str, target: RecordingTarget) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            getattr(self._connect(), operation)(**_request(target))
        except ClientError as error:
            raise RecordingControlError(str(error.response.get("Error", {}).get("Code"))) from None
        except BotoCoreError as error:
            raise RecordingControlError(type(error).__name__) from None


class LocalRecordingControl:
    """Connect's recording API, played locally: the agent's recording per contact.

    Like Connect, a contact's agent leg is taken to be recorded until it is suspended.
    :meth:`refuse` makes the next call of one operation for a contact fail (until
    :meth:`forgive`), as Connect would answer ``InvalidRequestException``."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._refused: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.calls: list[tuple[str, dict[str, str]]] = []

    def refuse(self, contact_id: str, operation: str) -> None:
        with self._lock:
            self._refused.add((contact_id, operation))

    def forgive(self, contact_id: str) -> None:
        """Forget the refusals for a contact that no call has met yet."""
        with self._lock:
            self._refused = {r for r in self._refused if r[0] != contact_id}

    def state(self, contact_id: str) -> str | None:
        """``suspended``, ``recording``, or None for a contact never acted on."""
        with self._lock:
            return self._states.get(contact_id)

    def suspend_agent(self, target: RecordingTarget) -> None:
        self._act(SUSPEND, target, SUSPENDED)

    def resume_agent(self, target: RecordingTarget) -> None:
        self._act(RESUME, target, RECORDING)

    def _act(self, operation: str, target: RecordingTarget, state: str) -> None:
        with self._lock:
            self.calls.append((operation, _request(target)))
            if (target.contact_id, operation) in self._refused:
                self._refused.discard((target.contact_id, operation))
                raise RecordingControlError("InvalidRequestException")
            self._states[target.contact_id] = state
