"""The Amazon Connect contact flows of the payment line (``infra/connect/``).

``payment-flow.json`` (an inbound flow) captures the card; ``agent-transfer-flow.json`` (a
transfer-to-queue flow, the target of the agents' quick connect) holds the agent and hands
the caller to it. Both are in Connect's flow language, ready to import once their
placeholders are filled: ``${CONNECT_ENCRYPTION_KEY_ID}``,
``${CONNECT_ENCRYPTION_CERTIFICATE}``, ``${IVR_FUNCTION_ARN}``, ``${AGENT_QUEUE_ARN}`` and
``${PAYMENT_FLOW_ARN}``. The simulator walks these very files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLOW_VERSION = "2019-10-30"
FLOW_FILE = "payment-flow.json"
TRANSFER_FLOW_FILE = "agent-transfer-flow.json"
PLACEHOLDERS = (
    "CONNECT_ENCRYPTION_KEY_ID",
    "CONNECT_ENCRYPTION_CERTIFICATE",
    "IVR_FUNCTION_ARN",
    "AGENT_QUEUE_ARN",
    "PAYMENT_FLOW_ARN",
)

# The blocks whose identifiers the simulator's caller listens for: which field a prompt
# asks for. Renaming or removing one breaks the simulator (and a test says so).
PROMPTS: Mapping[str, str] = {
    "ask-card-number": "card_number",
    "ask-expiry": "expiry",
    "ask-security-code": "security_code",
}
SIMULATED_TYPES = frozenset(
    {
        "UpdateFlowLoggingBehavior",
        "MessageParticipant",
        "GetParticipantInput",
        "UpdateContactAttributes",
        "Compare",
        "InvokeLambdaFunction",
        "UpdateContactTargetQueue",
        "TransferContactToQueue",
        "DisconnectParticipant",
        "UpdateContactRecordingBehavior",
        "UpdatePreviousContactParticipantState",
        "TransferToFlow",
    }
)


class FlowError(ValueError):
    """The contact flow file is not one the simulator can walk."""


def default_flow_path() -> Path:
    """``infra/connect/payment-flow.json`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "infra" / "connect" / FLOW_FILE


def transfer_flow_path(payment_flow: Path) -> Path:
    """The agent transfer flow that sits beside a payment flow file."""
    return payment_flow.with_name(TRANSFER_FLOW_FILE)


@dataclass(frozen=True)
class Flow:
    start: str
    actions: Mapping[str, Mapping[str, Any]]

    def action(self, identifier: str) -> Mapping[str, Any]:
        try:
            return self.actions[identifier]
        except KeyError:
            raise FlowError(f"the flow has no block {identifier!r}") from None


def load_flow(path: Path, values: Mapping[str, str], *, prompts: bool = True) -> Flow:
    """Read the flow, fill its ``${NAME}`` placeholders from ``values``, and check it
    (``prompts``: it must hold the simulator's card prompts)."""
    text = path.read_text(encoding="utf-8")
    for name in PLACEHOLDERS:
        # json.dumps escapes a PEM's line breaks for its place inside a JSON string.
        text = text.replace("${" + name + "}", json.dumps(values.get(name, ""))[1:-1])
    return parse_flow(json.loads(text), prompts=prompts)


def parse_flow(document: Any, *, prompts: bool = True) -> Flow:
    """Check the flow's shape: version, start, unique identifiers, transitions that land."""
    if not isinstance(document, dict) or document.get("Version") != FLOW_VERSION:
        raise FlowError(f'a contact flow needs "Version": "{FLOW_VERSION}"')
    actions = document.get("Actions")
    if not isinstance(actions, list) or not actions:
        raise FlowError('a contact flow needs a list of "Actions"')
    by_id: dict[str, Mapping[str, Any]] = {}
    for action in actions:
        identifier = action.get("Identifier") if isinstance(action, dict) else None
        if not isinstance(identifier, str) or identifier in by_id:
            raise FlowError(f"block identifiers must be unique strings ({identifier!r})")
        if action.get("Type") not in SIMULATED_TYPES:
            raise FlowError(f"block {identifier!r} has a type the simulator does not know")
        by_id[identifier] = action
    start = document.get("StartAction")
    if start not in by_id:
        raise FlowError("StartAction names no block")
    for identifier, action in by_id.items():
        for target in targets(action):
            if target not in by_id:
                raise FlowError(f"block {identifier!r} leads to a missing block {target!r}")
    missing = sorted(set(PROMPTS) - set(by_id)) if prompts else []
    if missing:
        raise FlowError(f"the simulator's caller needs the prompt blocks {missing}")
    return Flow(str(start), by_id)


def targets(action: Mapping[str, Any]) -> list[str]:
    """Every block a block can lead to: its next action, conditions and error branches."""
    transitions = action.get("Transitions") or {}
    targets = [transitions["NextAction"]] if "NextAction" in transitions else []
    for key in ("Conditions", "Errors"):
        targets += [item["NextAction"] for item in transitions.get(key) or []]
    return [str(target) for target in targets]
