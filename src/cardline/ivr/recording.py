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

On an agent-assisted call (a walk that starts in the agent transfer flow) the agent's own
recording is running too, and no flow block can pause it: the ivr function does, through
Connect's API (:mod:`cardline.ivr.recording_control`), when invoked with
``recording=suspend``; ``recording=resume`` records the agent again. The same two rules
hold for it:

3. no ``StoreInput`` block is reached unless the suspend invocation answered, and a
   ``Compare`` of ``$.External.agent_recording`` found it ``suspended`` (its error branch,
   any other answer, or another invocation in between leave the agent possibly recorded);
4. the agent is not taken off hold, nor the caller handed on, while the agent's recording
   may be suspended: a resume invocation comes first (on any of its branches: when
   Connect does not resume, the function audits it, and the flow cannot do more).

Paths are over-approximated: every condition and every error branch of every block is
taken as possible, and a ``TransferToFlow`` leads into the named flow. Recording is
assumed on when a flow starts (the worst case for rules 1 and 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cardline.ivr.flow import Flow, targets

RECORDING_BLOCK = "UpdateContactRecordingBehavior"
HANDS_ON = frozenset({"DisconnectParticipant", "TransferContactToQueue", "TransferContactToAgent"})
AGENT_ANSWER = "$.External.agent_recording"
# The agent's recording along a path: None (no agent: self-service), or one of these.
ON, OFF, UNKNOWN, PENDING = "on", "off", "unknown", "pending"
MAY_RECORD = frozenset({ON, UNKNOWN, PENDING})
MAY_BE_SUSPENDED = frozenset({OFF, UNKNOWN, PENDING})


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


def agent_recording_invocation(action: Mapping[str, Any]) -> str | None:
    """``suspend`` or ``resume`` for an invocation of the function that acts on the agent's
    recording; None for any other block."""
    if action.get("Type") != "InvokeLambdaFunction":
        return None
    attributes = action.get("Parameters", {}).get("LambdaInvocationAttributes") or {}
    operation = attributes.get("recording")
    return operation if operation in ("suspend", "resume") else None


def agent_after(action: Mapping[str, Any], agent: str | None) -> dict[str, str | None]:
    """The agent's recording on each branch out of ``action``, given it before."""
    branches = targets(action)
    if agent is None:
        return dict.fromkeys(branches, None)
    operation = agent_recording_invocation(action)
    transitions = action.get("Transitions") or {}
    if operation == "suspend":
        # Only an answer can say it worked; an error may come after Connect suspended it.
        states: dict[str, str | None] = dict.fromkeys(branches, UNKNOWN)
        states[str(transitions.get("NextAction"))] = PENDING
        for error in transitions.get("Errors") or []:
            states[str(error["NextAction"])] = UNKNOWN
        return states
    if operation == "resume":
        return dict.fromkeys(branches, ON)
    if action.get("Type") == "InvokeLambdaFunction" and agent == PENDING:
        return dict.fromkeys(branches, UNKNOWN)  # $.External is another answer now
    compare = action.get("Parameters", {}).get("ComparisonValue")
    if action.get("Type") == "Compare" and compare == AGENT_ANSWER and agent == PENDING:
        # A branch reached both ways is only as safe as its worst way.
        return {b: OFF if _only_suspended(transitions, b) else UNKNOWN for b in branches}
    return dict.fromkeys(branches, agent)


def _only_suspended(transitions: Mapping[str, Any], branch: str) -> bool:
    """Whether a Compare leads to ``branch`` only when the answer was ``suspended``."""
    suspended = {"Operator": "Equals", "Operands": ["suspended"]}
    conditions = transitions.get("Conditions") or []
    ways = [(c["NextAction"], c["Condition"] == suspended) for c in conditions]
    ways += [(transitions.get("NextAction"), False)]
    ways += [(e["NextAction"], False) for e in transitions.get("Errors") or []]
    return all(ok for target, ok in ways if target == branch)


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


State = tuple[str, str, bool, str | None]  # flow, block, recording on, the agent's


def check_recording(
    flows: Mapping[str, Flow], start: str, *, agent_assisted: bool = False
) -> list[Violation]:
    """Every violation of the rules on any path from flow ``start`` (a key of ``flows``);
    ``agent_assisted``: an agent is on the call, recorded, when it starts.

    ``flows`` maps the value a ``TransferToFlow`` names (``ContactFlowId``) to its flow; a
    transfer to a flow not in it is a violation too, since its paths cannot be checked."""
    violations: list[Violation] = []
    begin: State = (start, flows[start].start, True, ON if agent_assisted else None)
    seen = {begin}
    frontier: list[tuple[State, tuple[str, ...]]] = [(begin, (begin[1],))]
    while frontier:
        (flow_name, block, recording, agent), path = frontier.pop()
        action = flows[flow_name].action(block)
        kind = action.get("Type")
        hands_on = kind in HANDS_ON or releases_agent(action)
        problem = None
        if stores_input(action) and recording:
            problem = "keyed input is stored while recording may be on"
        elif stores_input(action) and agent in MAY_RECORD:
            problem = "keyed input is stored while the agent's recording may be on"
        elif hands_on and not recording:
            problem = f"{kind} with recording still suspended"
        elif hands_on and agent in MAY_BE_SUSPENDED:
            problem = f"{kind} with the agent's recording possibly still suspended"
        if problem:
            violations.append(Violation(flow_name, block, problem, path))
            continue
        after = recording_after(action, recording)
        agents = agent_after(action, agent)
        nexts = [(flow_name, target, agents[target]) for target in targets(action)]
        if kind == "TransferToFlow":
            named = str(action.get("Parameters", {}).get("ContactFlowId", ""))
            if named not in flows:
                violations.append(Violation(flow_name, block, f"leads to unknown {named!r}", path))
            else:
                nexts.append((named, flows[named].start, agent))
        for next_flow, target, next_agent in nexts:
            state = (next_flow, target, after, next_agent)
            if state not in seen:
                seen.add(state)
                frontier.append((state, (*path, target)))
    return violations
