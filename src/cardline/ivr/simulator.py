"""A caller and an Amazon Connect, simulated, against the local stack over HTTP.

The simulator walks the committed contact flow block by block as Connect would: it says
the prompts, has the scripted caller key digits at each "Store customer input" block,
encrypts them exactly as Connect does (to the key id and certificate in the block), copies
attributes, invokes the ``ivr`` function (through the local stand-in route
``POST /v1/ivr/connect``) and branches on its answer. It honours the recording blocks
(``[recording suspended]`` / ``[recording resumed]``) and refuses to key a card field while
recording is on. An agent-assisted call starts in the agent transfer flow, as the agents'
quick connect does, holds the agent, and ends with the caller back with them; the agent's
own recording is what the local stand-in for Connect's recording API reports
(``[agent recording suspended]`` / ``[agent recording resumed]``), and no card field is
keyed while it records. It prints a
transcript in which keyed digits are masked: the card number down to its last four, the
rest entirely.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardline.cde.request_rules import paypal_request_id_for
from cardline.ivr.connect import TIMEOUT, idempotency_key_for, operator_for
from cardline.ivr.encrypt import encrypt_like_connect
from cardline.ivr.flow import PROMPTS, Flow, load_flow, transfer_flow_path
from cardline.ivr.recording import recording_after, stores_input
from cardline.ivr.recording_control import (
    AGENT_RECORDING_HEADER,
    FAULT_HEADER,
    FAULTS,
    RECORDING,
    SUSPENDED,
)
from cardline.ivr.scenarios import Scenario
from cardline.ivr.sessions import SESSION_ATTRIBUTE

MAX_STEPS = 200
REGION_ACCOUNT = "us-east-1:123456789012"
PAYMENT_FLOW_ARN = f"arn:aws:connect:{REGION_ACCOUNT}:instance/local/contact-flow/payment"
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "Equals": str.__eq__,
    "TextStartsWith": str.startswith,
}
_PATH_VALUE = re.compile(r"\$\.(External|Attributes)\.([A-Za-z0-9_]+)")


class SimulationError(Exception):
    """The simulated call could not go on (the flow or the service misbehaved)."""


class Http:
    """A small JSON client for the local stack and the emulator's inspection API."""

    def __init__(self, url: str, key: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise SimulationError(f"not an http:// URL: {url}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.key = key

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, answer, _headers = self.exchange(method, path, body)
        return status, answer

    def exchange(
        self, method: str, path: str, body: Any = None, extra: Mapping[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON answer and headers (names lower-cased) of one request."""
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        headers.update(extra or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        try:
            return response.status, json.loads(raw) if raw else None, answer_headers
        except ValueError:
            return response.status, None, answer_headers

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, answer = self.send(method, path, body)
        if status != expect:
            detail = answer.get("detail") if isinstance(answer, dict) else None
            raise SimulationError(f"{method} {path} answered {status}: {detail or answer}")
        return answer


@dataclass
class CallResult:
    contact_id: str
    status: str
    external: dict[str, str]
    transferred: bool
    paypal_request_id: str
    session_id: str | None = None
    transcript: list[str] = field(default_factory=list)
    returned_to_agent: bool = False


def masked(field_name: str, digits: str) -> str:
    """How the transcript shows keyed digits: a card number's last four only."""
    if field_name == "card_number" and len(digits) > 4:
        return "•" * (len(digits) - 4) + digits[-4:]
    return "•" * len(digits)


class SimulatedCall:
    """One call through the flow. ``say`` receives each transcript line as it happens."""

    def __init__(
        self,
        flow: Flow,
        stack: Http,
        scenario: Scenario,
        *,
        say: Callable[[str], None] = print,
        agent_assisted: bool = False,
        instance_id: str | None = None,
        contact_id: str | None = None,
        session_id: str | None = None,
        transfer_flow: Flow | None = None,
        flows: Mapping[str, Flow] | None = None,
    ) -> None:
        self.flow = flow
        # The flows a TransferToFlow block may name, by the ARN it names them with.
        self.flows = dict(flows or {})
        self.transfer_flow = transfer_flow
        self.stack = stack
        self.scenario = scenario
        self.contact_id = contact_id or str(uuid.uuid4())
        # An agent-assisted call joins this session (created by an agent elsewhere, e.g.
        # in the console) instead of creating one.
        self.session_id = session_id
        self.instance_id = instance_id or str(uuid.uuid4())
        self.agent_assisted = agent_assisted
        self._say = say
        self.transcript: list[str] = []
        self.attributes: dict[str, str] = {}
        self.external: dict[str, str] = {}
        # The function's last outcome (action=result): later invocations (the agent's
        # recording resumed) answer other things into $.External.
        self.outcome: dict[str, str] = {}
        self.stored = ""
        self._keyed: dict[str, int] = {}
        self.recording = True  # a centre that records: the worst case for the card
        self.agent_held = False
        self.returned_to_agent = False
        # The agent's own recording, as Connect's recording API (played locally) reports it.
        self.agent_recording = RECORDING if agent_assisted else None

    def line(self, text: str) -> None:
        self.transcript.append(text)
        self._say(text)

    # -- the call ---------------------------------------------------------------------

    def run(self) -> CallResult:
        scenario = self.scenario
        self.line(f"call {self.contact_id}: scenario {scenario.name} ({scenario.description})")
        session_id = self.session_id
        if self.agent_assisted and session_id is not None:
            self.attributes[SESSION_ATTRIBUTE] = session_id
            self.line(f"  agent  : puts session {session_id} on the contact")
        elif self.agent_assisted:
            session = self.stack.json(
                "POST",
                "/v1/ivr/sessions",
                {
                    "contact_id": self.contact_id,
                    "amount": scenario.amount,
                    "currency": scenario.currency,
                    "reference": scenario.reference,
                    "cardholder_name": scenario.cardholder_name,
                },
                expect=201,
            )
            session_id = str(session["id"])
            self.attributes.update(session["contact_attributes"])
            self.line(
                f"  agent  : starts IVR payment session {session_id} for "
                f"{scenario.amount} {scenario.currency}"
            )
        else:
            self.attributes.update(
                {
                    "cardline_amount": scenario.amount,
                    "cardline_currency": scenario.currency,
                    "cardline_reference": scenario.reference,
                    "cardline_cardholder_name": scenario.cardholder_name,
                }
            )
        if self.agent_assisted and self.transfer_flow is not None:
            self.line(
                "  agent  : transfers the caller with the secure payment quick connect "
                "and stays on the line"
            )
        transferred = self._walk()
        request_id = paypal_request_id_for(
            operator_for(self.instance_id), idempotency_key_for(self.contact_id)
        )
        return CallResult(
            self.contact_id,
            self.outcome.get("status", "none"),
            dict(self.outcome),
            transferred,
            request_id,
            session_id,
            self.transcript,
            self.returned_to_agent,
        )

    def _walk(self) -> bool:
        flow = self.transfer_flow if self.agent_assisted and self.transfer_flow else self.flow
        current: str | None = flow.start
        for _ in range(MAX_STEPS):
            if current is None:
                return False
            action = flow.action(current)
            kind = str(action["Type"])
            if kind == "TransferContactToQueue":
                self.line("  (the caller is transferred to the agent queue)")
                return True
            if kind == "DisconnectParticipant":
                if self.returned_to_agent:
                    self.line("  (the secure capture ends: the caller is back with the agent)")
                else:
                    self.line("  (the call ends)")
                return False
            if kind == "TransferToFlow":
                named = str(action["Parameters"]["ContactFlowId"])
                if named not in self.flows:
                    raise SimulationError(f"block {current!r} transfers to an unknown flow")
                flow = self.flows[named]
                current = flow.start
                continue
            current = getattr(self, "_" + _snake(kind))(current, action)
        raise SimulationError(f"the call went round more than {MAX_STEPS} blocks")

    # -- one method per block type; each returns the next block's identifier -----------

    def _update_flow_logging_behavior(self, name: str, action: Mapping[str, Any]) -> str:
        return _next(action)

    def _message_participant(self, name: str, action: Mapping[str, Any]) -> str:
        self.line(f"  IVR    : {self._render(action['Parameters']['Text'])}")
        return _next(action)

    def _update_contact_recording_behavior(self, name: str, action: Mapping[str, Any]) -> str:
        recording = recording_after(action, self.recording)
        if recording != self.recording:
            self.line("  [recording resumed]" if recording else "  [recording suspended]")
        self.recording = recording
        return _next(action)

    def _update_previous_contact_participant_state(
        self, name: str, action: Mapping[str, Any]
    ) -> str:
        state = action["Parameters"]["PreviousContactParticipantState"]
        if state == "AgentOnHold":
            self.agent_held = True
            self.line("  agent  : on hold (hears hold music; neither the caller nor the keys)")
        elif state == "OffHold" and self.agent_held:
            self.agent_held = False
            self.returned_to_agent = True
            self.line("  agent  : off hold: the caller is back with the agent")
        return _next(action)

    def _get_participant_input(self, name: str, action: Mapping[str, Any]) -> str:
        parameters = action["Parameters"]
        if stores_input(action) and self.recording:
            raise SimulationError(f"block {name!r} takes card input while the call is recorded")
        if stores_input(action) and self.agent_recording not in (None, SUSPENDED):
            raise SimulationError(f"block {name!r} takes card input while the agent is recorded")
        self.line(f"  IVR    : {self._render(parameters['Text'])}")
        field_name = PROMPTS.get(name)
        if field_name is None:
            raise SimulationError(f"the caller does not know what to key at block {name!r}")
        keyed = self._next_keyed(field_name)
        if keyed is None:
            self.line("  caller : (keys nothing; Connect stores Timeout)")
            self.stored = TIMEOUT
            return _next(action)
        limit = int(parameters["InputValidation"]["CustomValidation"]["MaximumLength"])
        digits = keyed[:limit]  # Connect stops collecting at the maximum length
        suspended = (
            "recording suspended"
            if self.agent_recording is None
            else ("recording and agent recording suspended")
        )
        self.line(f"  caller : keys {masked(field_name, digits)} #   ({suspended})")
        encryption = parameters.get("InputEncryption")
        if encryption is None:
            raise SimulationError(f"block {name!r} stores card input without encryption")
        self.stored = encrypt_like_connect(
            digits,
            key_id=encryption["EncryptionKeyId"],
            certificate_pem=encryption["Key"].encode(),
        )
        return _next(action)

    def _update_contact_attributes(self, name: str, action: Mapping[str, Any]) -> str:
        for key, value in action["Parameters"]["Attributes"].items():
            self.attributes[key] = self._resolve(value)
        return _next(action)

    def _compare(self, name: str, action: Mapping[str, Any]) -> str:
        value = self._resolve(action["Parameters"]["ComparisonValue"])
        transitions = action["Transitions"]
        for condition in transitions.get("Conditions") or []:
            operator = condition["Condition"]["Operator"]
            operand = condition["Condition"]["Operands"][0]
            if operator not in _OPERATORS:
                raise SimulationError(f"block {name!r} compares with {operator}, not simulated")
            if _OPERATORS[operator](value, operand):
                return str(condition["NextAction"])
        return _error(action, "NoMatchingCondition")

    def _invoke_lambda_function(self, name: str, action: Mapping[str, Any]) -> str:
        parameters = {
            key: self._resolve(value)
            for key, value in action["Parameters"]["LambdaInvocationAttributes"].items()
        }
        fault = self.scenario.connect_fault
        extra = {}
        if fault and FAULTS.get(fault) == parameters.get("recording"):
            extra[FAULT_HEADER] = fault
        status, answer, headers = self.stack.exchange(
            "POST", "/v1/ivr/connect", self._event(parameters), extra
        )
        self._agent_recording_is(headers.get(AGENT_RECORDING_HEADER.lower()))
        flat = isinstance(answer, dict) and all(isinstance(v, str) for v in answer.values())
        if status != 200 or not flat:
            self.line(f"  ivr fn : failed (HTTP {status})")
            return _error(action, "NoMatchingError")
        self.external = dict(answer)
        if answer.get("action") == "result":
            self.outcome = dict(answer)
        shown = ", ".join(f"{k}={v}" for k, v in answer.items() if not k.endswith("_spoken"))
        self.line(f"  ivr fn : {shown}")
        if answer.get("action") == "progress" and parameters.get("session_id"):
            self._agent_sees(parameters["session_id"])
        return _next(action)

    def _agent_recording_is(self, state: str | None) -> None:
        if self.agent_recording is None or state is None or state == self.agent_recording:
            return
        self.agent_recording = state
        self.line(
            "  [agent recording suspended]" if state == SUSPENDED else "  [agent recording resumed]"
        )

    def _agent_sees(self, session_id: str) -> None:
        """What the agent's console shows of the session now: its progress, never digits."""
        session = self.stack.json("GET", f"/v1/ivr/sessions/{session_id}")
        self.line(f"  agent  : sees {session['status']}, {session['progress']}")

    def _update_contact_target_queue(self, name: str, action: Mapping[str, Any]) -> str:
        return _next(action)

    # -- helpers ------------------------------------------------------------------------

    def _next_keyed(self, field_name: str) -> str | None:
        entries = self.scenario.keyed(field_name)
        index = self._keyed.get(field_name, 0)
        self._keyed[field_name] = index + 1
        return entries[min(index, len(entries) - 1)]

    def _resolve(self, value: str) -> str:
        if value == "$.StoredCustomerInput":
            return self.stored
        match = _PATH_VALUE.fullmatch(value)
        if match is None:
            return value
        source = self.external if match[1] == "External" else self.attributes
        return source.get(match[2], "")

    def _render(self, text: str) -> str:
        return _PATH_VALUE.sub(lambda m: self._resolve(m[0]), text)

    def _event(self, parameters: Mapping[str, str]) -> dict[str, Any]:
        return {
            "Name": "ContactFlowEvent",
            "Details": {
                "ContactData": {
                    "Attributes": dict(self.attributes),
                    "Channel": "VOICE",
                    "ContactId": self.contact_id,
                    "CustomerEndpoint": {"Address": "+15555550100", "Type": "TELEPHONE_NUMBER"},
                    "InitialContactId": self.contact_id,
                    "InitiationMethod": "TRANSFER" if self.agent_assisted else "INBOUND",
                    "InstanceARN": f"arn:aws:connect:{REGION_ACCOUNT}:instance/{self.instance_id}",
                    "PreviousContactId": self.contact_id,
                    "Queue": None,
                    "SystemEndpoint": {"Address": "+15555550199", "Type": "TELEPHONE_NUMBER"},
                },
                "Parameters": dict(parameters),
            },
        }


def _next(action: Mapping[str, Any]) -> str:
    return str(action["Transitions"]["NextAction"])


def _error(action: Mapping[str, Any], error_type: str) -> str:
    for error in action["Transitions"].get("Errors") or []:
        if error["ErrorType"] == error_type:
            return str(error["NextAction"])
    raise SimulationError(f"block {action['Identifier']!r} has no {error_type} branch")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# -- a whole run, as `cardline call` does it ---------------------------------------------


def placeholder_values(stack: Http) -> dict[str, str]:
    """The flows' placeholders, filled for the local stack (its encryption key)."""
    keys = stack.json("GET", "/v1/ivr/encryption-key")
    key = keys["keys"][0]
    return {
        "CONNECT_ENCRYPTION_KEY_ID": key["key_id"],
        "CONNECT_ENCRYPTION_CERTIFICATE": key["certificate"],
        "IVR_FUNCTION_ARN": f"arn:aws:lambda:{REGION_ACCOUNT}:function:cardline-ivr",
        "AGENT_QUEUE_ARN": f"arn:aws:connect:{REGION_ACCOUNT}:instance/local/queue/agents",
        "PAYMENT_FLOW_ARN": PAYMENT_FLOW_ARN,
    }


def flow_for(stack: Http, path: Path) -> Flow:
    """The committed flow with the local stack's encryption key in place of the placeholders."""
    return load_flow(path, placeholder_values(stack))


def transfer_flow_for(stack: Http, path: Path) -> Flow | None:
    """The agent transfer flow beside the payment flow ``path``, if there is one."""
    transfer = transfer_flow_path(path)
    if not transfer.exists():
        return None
    return load_flow(transfer, placeholder_values(stack), prompts=False)


OUTAGE_FAULT = {
    "kind": "status",
    "status": 503,
    "times": 10,  # more than the client's attempts
    "retry_after": 0,
    "path_prefix": "/v2/checkout/orders",
}


def run_call(
    scenario: Scenario,
    *,
    url: str,
    key: str,
    flow_path: Path,
    emulator_url: str | None = None,
    agent_assisted: bool = False,
    say: Callable[[str], None] = print,
    contact_id: str | None = None,
    session_id: str | None = None,
) -> CallResult:
    """Simulate one call end to end and report what the stack and the emulator recorded.

    With ``session_id`` (agent-assisted), the call is contact ``contact_id`` joining a
    session an agent already started for it, instead of starting one itself."""
    if session_id is not None and (not agent_assisted or contact_id is None):
        raise SimulationError("joining a session needs agent_assisted and its contact id")
    stack = Http(url, key)
    emulator = Http(emulator_url) if emulator_url else None
    if scenario.paypal_outage:
        if emulator is None:
            raise SimulationError(
                "the paypal-outage scenario needs the emulator's URL (--emulator; "
                "`cardline serve` prints it)"
            )
        emulator.json("POST", "/_emulator/faults", OUTAGE_FAULT, expect=201)
    flow = flow_for(stack, flow_path)
    call = SimulatedCall(
        flow,
        stack,
        scenario,
        say=say,
        agent_assisted=agent_assisted,
        contact_id=contact_id,
        session_id=session_id,
        transfer_flow=transfer_flow_for(stack, flow_path) if agent_assisted else None,
        flows={PAYMENT_FLOW_ARN: flow},
    )
    try:
        result = call.run()
    finally:
        if scenario.paypal_outage and emulator is not None:
            emulator.send("DELETE", "/_emulator/faults")
    _report(call, result, stack, emulator)
    return result


def _report(call: SimulatedCall, result: CallResult, stack: Http, emulator: Http | None) -> None:
    where = ""
    if result.transferred:
        where = " (sent to an agent)"
    elif result.returned_to_agent:
        where = " (the caller is back with the agent)"
    call.line(f"outcome: {result.status}{where}")
    payment_id = result.external.get("payment_id")
    if payment_id:
        payment = stack.json("GET", f"/v1/payments/{payment_id}")
        call.line(
            f"ledger : {payment['id']} {payment['status']} {payment['brand']} "
            f"•••• {payment['last4']} {payment['amount']} {payment['currency']} "
            f"by {payment['operator']}"
        )
    if result.session_id:
        session = stack.json("GET", f"/v1/ivr/sessions/{result.session_id}")
        card = f", {session['brand']} •••• {session['last4']}" if session["last4"] else ""
        call.line(f"agent  : sees session {session['id']} {session['status']}{card}")
    if emulator is not None:
        query = urllib.parse.urlencode({"request_id": result.paypal_request_id})
        captures = emulator.json("GET", f"/_emulator/captures?{query}")["captures"]
        states = ", ".join(str(c.get("status")) for c in captures) or "none"
        call.line(f"paypal : {len(captures)} capture(s) for this call ({states})")
