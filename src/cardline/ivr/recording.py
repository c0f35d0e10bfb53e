"""Call recording around the keyed card: the rule the contact flows must keep, and its check.

Amazon Connect does not strip DTMF tones from call recordings, so a recorded call would
keep the card number in audio. The flows therefore suspend recording (an
``UpdateContactRecordingBehavior`` block that records nobody, IVR included) before the
first keyed digit and resume it (a block that records someone again) once the ivr
function has decided. The rule, checked on every path of the committed flows:

1. no ``GetParticipantInput`` block with ``StoreInput: "True"`` is reached while recording
   may be on;
2. no block that hands the caller on or ends their part of the call (``DisconnectParticipant``,
   ``TransferContactToQueue``, ``TransferContactToAgent``) and no block that takes the agent
   off hold is reached while recording is suspended: the flow leaves recording as a centre
   that records would have it, and the agent never talks to the caller unrecorded.

Paths are over-approximated: every condition and every error branch of every block is
taken as possible, and a ``TransferToFlow`` leads into the named flow. Recording is
assumed on when a flow starts (the worst case for rule 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cardline.ivr.flow import Flow, targets

RECORDING_BLOCK = "UpdateContactRecordingBehavior"
HANDS_ON = frozenset({"DisconnectParticipant", "TransferContactToQueue", "TransferContactToAgent"})


def suspends(action: Mapping[str, Any]) -> bool:
    """A recording block that records nobody: no participant, no IVR recording."""
    behaviour = action.get("Parameters", {}).get("RecordingBehavior") or {}
    return (
        behaviour.get("RecordedParticipants") == []
        and behaviour.get("IVRRecordingBehavior") == "Disabled"
        and not behaviour.get("ScreenRecordedParticipants")
    )


def recording_after(action: Mapping[str, Any], recording: bool) -> bool:
    """Whether recording is on after ``action``, given whether it was on before."""
    if action.get("Type") != RECORDING_BLOCK:
        return recording
    return not suspends(action)


def stores_input(action: Mapping[str, Any]) -> bool:
    return (
        action.get("Type") == "GetParticipantInput"
        and action.get("Parameters", {}).get("StoreInput") == "True"
    )


def releases_agent(action: Mapping[str, Any]) -> bool:
    return (
        action.get("Type") == "UpdatePreviousContactParticipantState"
        and action.get("Parameters", {}).get("PreviousContactParticipantState") == "OffHold"
    )


@dataclass(frozen=True)
class Violation:
    """A block reached in a recording state the rule forbids, and the path that gets there."""

    flow: str
    block: str
    problem: str
    path: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.flow}:{self.block}: {self.problem} (via {' > '.join(self.path)})"


def check_recording(flows: Mapping[str, Flow], start: str) -> list[Violation]:
    """Every violation of the rule on any path from flow ``start`` (a key of ``flows``).

    ``flows`` maps the value a ``TransferToFlow`` names (``ContactFlowId``) to its flow; a
    transfer to a flow not in it is a violation too, since its paths cannot be checked."""
    violations: list[Violation] = []
    begin = (start, flows[start].start, True)
    seen = {begin}
    frontier: list[tuple[tuple[str, str, bool], tuple[str, ...]]] = [(begin, (begin[1],))]
    while frontier:
        (flow_name, block, recording), path = frontier.pop()
        action = flows[flow_name].action(block)
        kind = action.get("Type")
        problem = None
        if stores_input(action) and recording:
            problem = "keyed input is stored while recording may be on"
        elif (kind in HANDS_ON or releases_agent(action)) and not recording:
            problem = f"{kind} with recording still suspended"
        if problem:
            violations.append(Violation(flow_name, block, problem, path))
            continue
        after = recording_after(action, recording)
        nexts = [(flow_name, target) for target in targets(action)]
        if kind == "TransferToFlow":
            named = str(action.get("Parameters", {}).get("ContactFlowId", ""))
            if named not in flows:
                violations.append(Violation(flow_name, block, f"leads to unknown {named!r}", path))
            else:
                nexts.append((named, flows[named].start))
        for next_flow, target in nexts:
            state = (next_flow, target, after)
            if state not in seen:
                seen.add(state)
                frontier.append((state, (*path, target)))
    return violations
