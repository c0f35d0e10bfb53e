"""The committed Amazon Connect contact flow: its shape, and what the simulator relies on."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from cardline.ivr.flow import PROMPTS, FlowError, default_flow_path, parse_flow

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
