"""The committed Amazon Connect contact flow: its shape, and what the simulator relies on."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from cardline.ivr.flow import (
    PROMPTS,
    FlowError,
    default_flow_path,
    parse_flow,
    targets,
    transfer_flow_path,
)
from cardline.ivr.recording import check_recording
from cardline.ivr.sessions import PROGRESS

FLOW: dict[str, Any] = json.loads(default_flow_path().read_text())
ACTIONS = {a["Identifier"]: a for a in FLOW["Actions"]}
# Every key the ivr function can answer (cardline.ivr.connect's module docstring).
ANSWER_KEYS = {
    "action",
    "field",
    "reason",
    "reason_spoken",
    "attempt",
    "status",
    "payment_id",
    "last4",
    "last4_spoken",
    "amount_spoken",
    "reference_spoken",
    "agent_recording",
}


def test_the_committed_flow_is_one_the_simulator_walks() -> None:
    flow = parse_flow(FLOW)
    assert flow.start == FLOW["StartAction"]
    assert FLOW["Version"] == "2019-10-30"


@pytest.mark.parametrize("identifier", sorted(set(ACTIONS) - {FLOW["StartAction"]}))
def test_removing_any_block_the_simulator_reaches_breaks_the_walk(identifier: str) -> None:
    broken = copy.deepcopy(FLOW)
    broken["Actions"] = [a for a in broken["Actions"] if a["Identifier"] != identifier]
    with pytest.raises(FlowError):
        parse_flow(broken)


@pytest.mark.parametrize("identifier", sorted(PROMPTS))
def test_card_prompts_store_the_input_encrypted(identifier: str) -> None:
    action = ACTIONS[identifier]
    parameters = action["Parameters"]
    assert action["Type"] == "GetParticipantInput"
    assert parameters["StoreInput"] == "True"
    assert parameters["InputEncryption"] == {
        "EncryptionKeyId": "${CONNECT_ENCRYPTION_KEY_ID}",
        "Key": "${CONNECT_ENCRYPTION_CERTIFICATE}",
    }
    assert int(parameters["InputValidation"]["CustomValidation"]["MaximumLength"]) <= 19
    assert [e["ErrorType"] for e in action["Transitions"]["Errors"]] == ["NoMatchingError"]


def test_flow_logs_are_off_before_any_input() -> None:
    first = ACTIONS[FLOW["StartAction"]]
    assert first["Type"] == "UpdateFlowLoggingBehavior"
    assert first["Parameters"]["FlowLoggingBehavior"] == "Disabled"


def test_the_security_code_never_goes_into_a_contact_attribute() -> None:
    copied = {
        name
        for action in FLOW["Actions"]
        if action["Type"] == "UpdateContactAttributes"
        for name, value in action["Parameters"]["Attributes"].items()
        if value == "$.StoredCustomerInput"
    }
    assert copied == {"cardline_card_number", "cardline_expiry"}
    invoke = ACTIONS["charge"]["Parameters"]["LambdaInvocationAttributes"]
    assert invoke["security_code"] == "$.StoredCustomerInput"


def test_every_answer_the_flow_reads_is_one_the_function_gives() -> None:
    read = set(re.findall(r"\$\.External\.([A-Za-z0-9_]+)", json.dumps(FLOW)))
    assert read
    assert read <= ANSWER_KEYS


def test_the_function_receives_what_the_handler_reads() -> None:
    invoke = ACTIONS["charge"]["Parameters"]["LambdaInvocationAttributes"]
    assert set(invoke) == {
        "card_number",
        "expiry",
        "security_code",
        "attempt",
        "session_id",
        "amount",
        "currency",
        "reference",
        "cardholder_name",
    }
    assert ACTIONS["charge"]["Parameters"]["ResponseValidation"] == {"ResponseType": "STRING_MAP"}


# -- call recording around the keyed card (cardline.ivr.recording) -------------------------

TRANSFER: dict[str, Any] = json.loads(transfer_flow_path(default_flow_path()).read_text())
PAYMENT_ARN = "${PAYMENT_FLOW_ARN}"


def walk(payment: dict[str, Any], transfer: dict[str, Any], start: str) -> list[str]:
    """The violations from ``start``: the transfer flow is the agents' quick connect, so an
    agent is on the call, recorded, when a walk starts there."""
    flows = {PAYMENT_ARN: parse_flow(payment), "transfer": parse_flow(transfer, prompts=False)}
    return [str(v) for v in check_recording(flows, start, agent_assisted=start == "transfer")]


@pytest.mark.parametrize("start", [PAYMENT_ARN, "transfer"], ids=["self-service", "agent"])
def test_no_path_keys_the_card_recorded_or_leaves_recording_suspended(start: str) -> None:
    assert walk(FLOW, TRANSFER, start) == []


def test_the_walk_reaches_every_block_of_both_flows() -> None:
    # Every block is on some path, so the check above says something about each of them.
    for document in (FLOW, TRANSFER):
        flow = parse_flow(document, prompts=False)
        reached: set[str] = set()
        frontier = [flow.start]
        while frontier:
            block = frontier.pop()
            if block not in reached:
                reached.add(block)
                frontier += targets(flow.action(block))
        assert reached == {a["Identifier"] for a in document["Actions"]}


def _without(document: dict[str, Any], identifier: str) -> dict[str, Any]:
    """The flow with one block bypassed: whatever led to it leads where it led."""
    changed = copy.deepcopy(document)
    gone = next(a for a in changed["Actions"] if a["Identifier"] == identifier)
    following = gone["Transitions"]["NextAction"]
    changed["Actions"].remove(gone)
    text = json.dumps(changed).replace(f'"{identifier}"', f'"{following}"')
    return json.loads(text)


def test_without_the_suspension_a_card_prompt_is_reached_recorded() -> None:
    found = walk(_without(FLOW, "suspend-recording"), TRANSFER, PAYMENT_ARN)
    assert any("ask-card-number: keyed input is stored while recording" in v for v in found)


@pytest.mark.parametrize("resume", ["resume-recording", "resume-recording-after-problem"])
def test_without_a_resumption_the_call_ends_or_the_agent_returns_unrecorded(resume: str) -> None:
    found = walk(_without(FLOW, resume), TRANSFER, "transfer")
    assert any("with recording still suspended" in v for v in found)


def test_a_suspension_that_still_records_the_ivr_is_no_suspension() -> None:
    changed = copy.deepcopy(FLOW)
    block = next(a for a in changed["Actions"] if a["Identifier"] == "suspend-recording")
    block["Parameters"]["RecordingBehavior"]["IVRRecordingBehavior"] = "Enabled"
    assert walk(changed, TRANSFER, PAYMENT_ARN)


def test_the_recording_blocks_have_connects_shape() -> None:
    blocks = [a for a in FLOW["Actions"] if a["Type"] == "UpdateContactRecordingBehavior"]
    assert {json.dumps(b["Parameters"], sort_keys=True) for b in blocks} == {
        json.dumps(
            {"RecordingBehavior": {"RecordedParticipants": [], "IVRRecordingBehavior": "Disabled"}},
            sort_keys=True,
        ),
        json.dumps(
            {
                "RecordingBehavior": {
                    "RecordedParticipants": ["Agent", "Customer"],
                    "IVRRecordingBehavior": "Enabled",
                }
            },
            sort_keys=True,
        ),
    }
    # The legacy block has no error branches (Connect's flow language reference).
    assert all(set(b["Transitions"]) == {"NextAction"} for b in blocks)


# -- the agent's recording on agent-assisted calls (the function, through Connect's API) ----

TRANSFER_ACTIONS = {a["Identifier"]: a for a in TRANSFER["Actions"]}


def test_without_the_suspend_invocation_the_card_is_keyed_with_the_agent_recorded() -> None:
    found = walk(FLOW, _without(TRANSFER, "suspend-agent-recording"), "transfer")
    assert any(
        "ask-card-number: keyed input is stored while the agent's recording may be on" in v
        for v in found
    )
    # Self-service calls have no agent: the same payment flow is clean for them.
    assert walk(FLOW, _without(TRANSFER, "suspend-agent-recording"), PAYMENT_ARN) == []


@pytest.mark.parametrize("branch", ["default", "error", "invocation-error"])
def test_only_a_suspended_answer_leads_to_the_card_prompts(branch: str) -> None:
    changed = copy.deepcopy(TRANSFER)
    actions = {a["Identifier"]: a for a in changed["Actions"]}
    if branch == "default":
        actions["check-agent-recording"]["Transitions"]["NextAction"] = "tell-caller"
    elif branch == "error":
        actions["check-agent-recording"]["Transitions"]["Errors"][0]["NextAction"] = "tell-caller"
    else:
        actions["suspend-agent-recording"]["Transitions"]["Errors"][0]["NextAction"] = (
            "check-agent-recording"
        )
    found = walk(FLOW, changed, "transfer")
    assert any("while the agent's recording may be on" in v for v in found)


def test_another_invocation_between_the_suspend_and_its_check_hides_its_answer() -> None:
    changed = copy.deepcopy(TRANSFER)
    actions = {a["Identifier"]: a for a in changed["Actions"]}
    progress = copy.deepcopy(ACTIONS["report-card-number"])
    progress["Identifier"] = "report-in-between"
    progress["Transitions"] = {"NextAction": "check-agent-recording"}
    changed["Actions"].append(progress)
    actions["suspend-agent-recording"]["Transitions"]["NextAction"] = "report-in-between"
    assert any("agent's recording may be on" in v for v in walk(FLOW, changed, "transfer"))


@pytest.mark.parametrize(
    ("document", "resume"),
    [
        ("payment", "resume-agent-recording"),
        ("payment", "resume-agent-recording-after-approval"),
        ("transfer", "resume-agent-recording"),
    ],
)
def test_without_a_resume_invocation_the_agent_gets_the_caller_back_unrecorded(
    document: str, resume: str
) -> None:
    payment, transfer = FLOW, TRANSFER
    if document == "payment":
        payment = _without(FLOW, resume)
    else:
        transfer = _without(TRANSFER, resume)
    found = walk(payment, transfer, "transfer")
    assert any("with the agent's recording possibly still suspended" in v for v in found)


def test_the_recording_invocations_name_the_session_and_the_operation() -> None:
    invocations = [
        (a["Identifier"], a["Parameters"]["LambdaInvocationAttributes"])
        for a in FLOW["Actions"] + TRANSFER["Actions"]
        if a["Type"] == "InvokeLambdaFunction"
        and "recording" in a["Parameters"]["LambdaInvocationAttributes"]
    ]
    assert sorted(invocations) == sorted(
        [
            (name, {"session_id": "$.Attributes.cardline_session_id", "recording": operation})
            for name, operation in (
                ("suspend-agent-recording", "suspend"),
                ("resume-agent-recording", "resume"),  # transfer flow
                ("resume-agent-recording", "resume"),  # payment flow, once the outcome is said
                ("resume-agent-recording-after-approval", "resume"),
            )
        ]
    )
    # The agent is held before their recording is suspended; the caller hears it is safe
    # only once it is.
    assert TRANSFER_ACTIONS["hold-agent"]["Transitions"]["NextAction"] == "suspend-agent-recording"
    [ok] = TRANSFER_ACTIONS["check-agent-recording"]["Transitions"]["Conditions"]
    assert ok == {
        "NextAction": "tell-caller",
        "Condition": {"Operator": "Equals", "Operands": ["suspended"]},
    }


def test_the_transfer_flow_holds_the_agent_first_and_logs_nothing() -> None:
    actions = {a["Identifier"]: a for a in TRANSFER["Actions"]}
    first = actions[TRANSFER["StartAction"]]
    assert first["Parameters"] == {"FlowLoggingBehavior": "Disabled"}
    hold = actions[first["Transitions"]["NextAction"]]
    assert hold["Parameters"] == {"PreviousContactParticipantState": "AgentOnHold"}
    transfers = [a for a in TRANSFER["Actions"] if a["Type"] == "TransferToFlow"]
    assert [t["Parameters"]["ContactFlowId"] for t in transfers] == [PAYMENT_ARN]


# -- progress reports (agent-assisted calls only) ------------------------------------------


@pytest.mark.parametrize(
    ("after", "stage"),
    [
        ("keep-card-number", "card_number_entered"),
        ("keep-expiry", "expiry_entered"),
        ("ask-security-code", "security_code_entered"),
    ],
)
def test_each_keyed_field_is_reported_on_assisted_calls_and_a_failure_goes_on(
    after: str, stage: str
) -> None:
    check = ACTIONS[ACTIONS[after]["Transitions"]["NextAction"]]
    assert check["Parameters"]["ComparisonValue"] == "$.Attributes.cardline_session_id"
    [condition] = check["Transitions"]["Conditions"]
    assert condition["Condition"] == {"Operator": "TextStartsWith", "Operands": ["ivs_"]}
    report = ACTIONS[condition["NextAction"]]
    skip = check["Transitions"]["NextAction"]
    assert report["Parameters"]["LambdaInvocationAttributes"] == {
        "session_id": "$.Attributes.cardline_session_id",
        "progress": stage,
    }
    assert stage in PROGRESS
    # Reported or not, and whether the report fails or not, the payment goes on the same way.
    assert report["Transitions"]["NextAction"] == skip
    assert [e["NextAction"] for e in report["Transitions"]["Errors"]] == [skip]
    assert check["Transitions"]["Errors"] == [
        {"NextAction": skip, "ErrorType": "NoMatchingCondition"}
    ]
