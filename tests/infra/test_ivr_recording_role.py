"""The ivr role may suspend and resume contact recordings, on its Connect instance only."""

from __future__ import annotations

from typing import Any

CONNECT_ACTIONS = {"connect:SuspendContactRecording", "connect:ResumeContactRecording"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _connect_statements(translated: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = translated["Resources"][role]["Properties"]["Policies"]
    return [
        statement
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        if any(str(a).startswith("connect:") for a in _as_list(statement["Action"]))
    ]


def test_the_ivr_role_suspends_and_resumes_recordings_of_its_instances_contacts(
    translated: dict[str, Any],
) -> None:
    [statement] = _connect_statements(translated, "IvrRole")
    assert statement["Effect"] == "Allow"
    assert set(_as_list(statement["Action"])) == CONNECT_ACTIONS
    pattern, variables = statement["Resource"]["Fn::Sub"]
    assert pattern == (
        "arn:${AWS::Partition}:connect:${AWS::Region}:${AWS::AccountId}:instance/${Id}/contact/*"
    )
    # The instance id: what follows "instance/" in the ConnectInstanceArn parameter.
    assert variables == {
        "Id": {"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "ConnectInstanceArn"}]}]}
    }
    assert translated["Resources"]["IvrRole"]["Condition"] == "HasConnect"


def test_no_other_role_may_touch_connect_recordings(translated: dict[str, Any]) -> None:
    for name, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role" or name == "IvrRole":
            continue
        if resource["Properties"].get("Policies"):
            for statement in _connect_statements(translated, name):
                assert not CONNECT_ACTIONS & set(_as_list(statement["Action"])), name
