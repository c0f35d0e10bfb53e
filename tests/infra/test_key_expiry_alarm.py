"""The ivr key check on AWS: its schedule, the permission it needs, the alarm and the topic,
as CloudFormation receives them, agreeing with what the function writes."""

from __future__ import annotations

import json
from typing import Any

from cardline.ivr.key_expiry_metric import DIMENSION, METRIC, NAMESPACE, stack_of
from tests.aws_support import ROOT

IVR_CHECK = ("IvrKeyCheckSchedule", "IvrKeyCheckPermission", "IvrKeyExpiryAlarm")


def _resource(translated: dict[str, Any], name: str) -> dict[str, Any]:
    resource: dict[str, Any] = translated["Resources"][name]
    return resource


def test_the_schedule_sends_the_ivr_function_its_key_check_event(
    translated: dict[str, Any],
) -> None:
    rule = _resource(translated, "IvrKeyCheckSchedule")["Properties"]
    assert rule["ScheduleExpression"] == "rate(12 hours)"  # every day-long period has a value
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["IvrFunction", "Arn"]}
    text = target["Input"]["Fn::Sub"]
    event = json.loads(text.replace("${AWS::StackName}", "cardline-prod"))
    assert stack_of(event) == "cardline-prod"
    assert "Details" not in event  # never mistaken for a Connect contact flow event
    # The sample for `sam local invoke IvrFunction -e events/ivr-key-check.json` is the same.
    sample = json.loads((ROOT / "events" / "ivr-key-check.json").read_text())
    assert sample == json.loads(text.replace("${AWS::StackName}", "cardline"))


def test_only_that_rule_may_invoke_the_function_through_events(
    translated: dict[str, Any],
) -> None:
    permission = _resource(translated, "IvrKeyCheckPermission")["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["IvrKeyCheckSchedule", "Arn"]}
    assert permission["FunctionName"] == {"Fn::GetAtt": ["IvrFunction", "Arn"]}


def test_the_alarm_fires_below_30_days_and_when_the_check_is_silent(
    translated: dict[str, Any],
) -> None:
    alarm = _resource(translated, "IvrKeyExpiryAlarm")["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (NAMESPACE, METRIC)
    assert alarm["Dimensions"] == [{"Name": DIMENSION, "Value": {"Ref": "AWS::StackName"}}]
    assert alarm["Statistic"] == "Minimum"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 30)
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 86400
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(
    translated: dict[str, Any],
) -> None:
    topic = _resource(translated, "AlarmTopic")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmKey"}
    assert "Condition" not in topic  # the stack's alarms to come use it too
    policy = _resource(translated, "AlarmKey")["Properties"]["KeyPolicy"]
    (grant,) = [
        s for s in policy["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert sorted(grant["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    subscription = _resource(translated, "AlarmEmailSubscription")
    assert subscription["Condition"] == "HasAlarmEmail"


def test_the_key_check_exists_only_with_connect(translated: dict[str, Any]) -> None:
    for name in IVR_CHECK:
        assert _resource(translated, name)["Condition"] == "HasConnect", name
