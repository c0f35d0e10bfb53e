"""The IVR's routes on the local host.

- ``POST /v1/ivr/connect``: a Connect-shaped event in, the ``ivr`` function's answer out.
  A local stand-in for Connect invoking the Lambda, so the simulator can drive the local
  stack over HTTP. Served locally only (on AWS, Connect invokes the function itself).
  It plays Connect's recording API too (:class:`LocalRecordingControl`): the answer's
  ``X-Cardline-Agent-Recording`` header says whether the agent's recording of the contact
  is ``suspended`` or ``recording`` (absent: never acted on), and a request header
  ``X-Cardline-Connect-Fault: suspend-contact-recording`` (or ``resume-contact-recording``)
  makes that call of the invocation fail, as Connect can.
- ``GET /v1/ivr/encryption-key``: the key ids and certificates to encrypt to (what you
  upload to Connect); public material only.
- ``POST /v1/ivr/sessions``, ``GET /v1/ivr/sessions/{id}``: agent-assisted payments
  (cardline.ivr.session_routes, which the AWS backoffice serves too).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from cardline.cde import audit
from cardline.cde.charge import Charger
from cardline.cde.errors import InvalidRequest
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Response, json_response
from cardline.cde.roles import AGENT
from cardline.ivr.connect import ContactEvent, InvalidEvent, IvrHandler, agent_recording_target
from cardline.ivr.decrypt import PROVIDER_ID, ConnectDecryptor
from cardline.ivr.keys import KeyPair, local_key_pairs
from cardline.ivr.recording_control import (
    AGENT_RECORDING_HEADER,
    FAULT_HEADER,
    FAULTS,
    LocalRecordingControl,
)
from cardline.ivr.session_routes import session_routes
from cardline.ivr.sessions import SESSIONS_FILE, SessionStore, SqliteSessionStore

CONNECT_PATH = "/v1/ivr/connect"


def ivr_routes(
    handler: Callable[[], IvrHandler],
    sessions: Callable[[], SessionStore],
    keys: Callable[[], list[KeyPair]],
    recording: LocalRecordingControl | None = None,
) -> list[Route]:
    def connect(call: Call) -> Response:
        event = call.request.json()
        agent_contact = None
        if recording is not None:
            with contextlib.suppress(InvalidEvent):  # the handler refuses it below
                agent_contact = agent_recording_target(ContactEvent.parse(event)).contact_id
        fault = FAULTS.get(call.request.header(FAULT_HEADER) or "")
        if fault and recording is not None and agent_contact is not None:
            recording.refuse(agent_contact, fault)
        try:
            answer = handler().handle(event)
        except InvalidEvent as error:
            raise InvalidRequest(str(error), field=error.field) from None
        finally:
            if fault and recording is not None and agent_contact is not None:
                recording.forgive(agent_contact)  # a fault lasts one invocation
        state = recording.state(agent_contact) if recording and agent_contact else None
        return json_response(200, answer, {AGENT_RECORDING_HEADER: state} if state else None)

    def encryption_key(call: Call) -> Response:
        return json_response(
            200, {"provider_id": PROVIDER_ID, "keys": [pair.public_entry() for pair in keys()]}
        )

    return [
        Route("POST", CONNECT_PATH, connect, role=AGENT),
        Route("GET", "/v1/ivr/encryption-key", encryption_key, role=AGENT),
        *session_routes(sessions),
    ]


class LocalIvr:
    """The IVR's parts for one local data directory, each built on first use."""

    def __init__(self, data_dir: Path, charger: Charger, sink: audit.AuditSink) -> None:
        self._data_dir = data_dir
        self._sink = sink
        self._sessions: SessionStore | None = None
        self._keys: list[KeyPair] | None = None
        self._decryptor: ConnectDecryptor | None = None
        self._lock = threading.RLock()
        # Connect's recording API, played here (what a simulated call hears about it).
        self.recording = LocalRecordingControl()
        self.handler = IvrHandler(
            lambda: charger,
            self.decryptor,
            sink,
            self.sessions,
            recording=lambda: self.recording,
            metrics=charger.metrics,
        )

    def keys(self) -> list[KeyPair]:
        with self._lock:
            if self._keys is None:
                self._keys = local_key_pairs(self._data_dir)
            return self._keys

    def decryptor(self) -> ConnectDecryptor:
        with self._lock:
            if self._decryptor is None:
                self._decryptor = ConnectDecryptor(pair.connect_key() for pair in self.keys())
            return self._decryptor

    def sessions(self) -> SessionStore:
        with self._lock:
            if self._sessions is None:
                self._sessions = SqliteSessionStore(self._data_dir / SESSIONS_FILE, self._sink)
            return self._sessions

    def routes(self) -> list[Route]:
        return ivr_routes(lambda: self.handler, self.sessions, self.keys, self.recording)
