"""PCI DSS 10.2.1.x, 10.3.3-10.3.4, 10.5.1: the CloudTrail trail into an Object Lock bucket
of its own with log file validation, and the alerts on changes to the CDE (10.2.2, 11.5.2)
that reach AlarmTopic. The rules' event patterns are matched against CloudTrail events by
moto's EventBridge pattern matcher."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

CHANGE_RULES = ("CdeCodeChangeRule", "CdeSecretChangeRule", "CdeRoleChangeRule")
# What the intrinsic functions resolve to in a deployed stack with Connect.
_LAMBDA = "arn:aws:lambda:eu-west-1:111122223333:function"
RESOLVED = {
    ("Ref", "ChargeFunction"): "cardline-ChargeFunction-1",
    (
        "Arn",
        "ChargeFunction",
    ): f"{_LAMBDA}:cardline-ChargeFunction-1",
    ("Ref", "IvrFunction"): "cardline-IvrFunction-1",
    ("Arn", "IvrFunction"): f"{_LAMBDA}:cardline-IvrFunction-1",
    ("Ref", "PayPalSecret"): "arn:aws:secretsmanager:eu-west-1:111122223333:secret:PayPal-AbCdEf",
    ("Ref", "IvrKeysSecret"): "arn:aws:secretsmanager:eu-west-1:111122223333:secret:Ivr-GhIjKl",
    ("Ref", "ChargeRole"): "cardline-ChargeRole-1",
    ("Ref", "IvrRole"): "cardline-IvrRole-1",
}


def _resolve(value: Any) -> Any:
    """The pattern as EventBridge receives it, in a stack with Connect."""
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return RESOLVED[("Ref", value["Ref"])]
        if set(value) == {"Fn::GetAtt"}:
            return RESOLVED[("Arn", value["Fn::GetAtt"][0])]
        if set(value) == {"Fn::If"}:
            condition, yes, _ = value["Fn::If"]
            assert condition == "HasConnect"
            return _resolve(yes)
        return {k: _resolve(v) for k, v in value.items()}
    return value


def _event(source: str, name: str, **detail: Any) -> dict[str, Any]:
    return {
        "source": source,
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventSource": f"{source[4:]}.amazonaws.com", "eventName": name, **detail},
    }


@pytest.fixture(scope="module")
def patterns(translated: dict[str, Any]) -> dict[str, EventPattern]:
    found = {}
    for name in CHANGE_RULES:
        pattern = _resolve(translated["Resources"][name]["Properties"]["EventPattern"])
        found[name] = EventPattern.load(json.dumps(pattern))
    return found


def test_the_trail_covers_every_region_and_proves_its_files_unchanged(
    translated: dict[str, Any],
) -> None:
    trail = translated["Resources"]["AuditTrail"]["Properties"]
    assert trail["IsLogging"] is True
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["EnableLogFileValidation"] is True
    assert trail["KMSKeyId"] == {"Fn::GetAtt": ["TrailKey", "Arn"]}
    assert trail["S3BucketName"] == {"Ref": "TrailBucket"}
    selectors = {s["Name"]: s["FieldSelectors"] for s in trail["AdvancedEventSelectors"]}
    fields = [{f["Field"]: f for f in selector} for selector in selectors.values()]
    assert {"Field": "eventCategory", "Equals": ["Management"]} in [
        f["eventCategory"] for f in fields
    ]
    arns = json.dumps([f.get("resources.ARN") for f in fields])
    for audited in ("ChargeFunction", "IvrFunction", "ArchiveBucket"):
        assert audited in arns


def test_the_trail_bucket_is_locked_like_the_archive_and_live_means_compliance(
    translated: dict[str, Any],
) -> None:
    bucket = translated["Resources"]["TrailBucket"]["Properties"]
    retention = bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": {"Ref": "ObjectLockMode"}, "Days": {"Ref": "ArchiveRetentionDays"}}
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": ["TrailKey", "Arn"]
    }
    (rule,) = translated["Rules"].values()
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "PayPalEnvironment"}, "live"]}
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Equals": [{"Ref": "ObjectLockMode"}, "COMPLIANCE"]
    }


def test_every_change_rule_notifies_the_alarm_topic_which_lets_it(
    translated: dict[str, Any],
) -> None:
    resources = translated["Resources"]
    for name in CHANGE_RULES:
        assert resources[name]["Properties"]["Targets"][0]["Arn"] == {"Ref": "AlarmTopic"}
    statements = resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    by_principal = {json.dumps(s["Principal"]): s for s in statements}
    events = by_principal[json.dumps({"Service": "events.amazonaws.com"})]
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": [name, "Arn"]} for name in CHANGE_RULES
    ]
    # Replacing the default topic policy must not cut the alarms off.
    assert json.dumps({"Service": "cloudwatch.amazonaws.com"}) in by_principal
    key = resources["AlarmKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert {"Service": "events.amazonaws.com"} in [s["Principal"] for s in key]


@pytest.mark.parametrize(
    ("rule", "event"),
    [
        (
            "CdeCodeChangeRule",
            _event(
                "aws.lambda",
                "UpdateFunctionCode20150331v2",
                requestParameters={"functionName": "cardline-ChargeFunction-1"},
            ),
        ),
        (
            "CdeCodeChangeRule",
            _event(
                "aws.lambda",
                "UpdateFunctionConfiguration20150331v2",
                requestParameters={
                    "functionName": (
                        "arn:aws:lambda:eu-west-1:111122223333:function:cardline-IvrFunction-1"
                    )
                },
            ),
        ),
        (
            "CdeSecretChangeRule",
            _event(
                "aws.secretsmanager",
                "PutSecretValue",
                requestParameters={"secretId": "PayPal"},
                responseElements={
                    "arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:PayPal-AbCdEf"
                },
            ),
        ),
        (
            "CdeRoleChangeRule",
            _event(
                "aws.iam", "PutRolePolicy", requestParameters={"roleName": "cardline-IvrRole-1"}
            ),
        ),
    ],
)
def test_a_change_to_the_cde_matches_its_rule(
    patterns: dict[str, EventPattern], rule: str, event: dict[str, Any]
) -> None:
    assert patterns[rule].matches_event(event)


@pytest.mark.parametrize(
    ("rule", "event"),
    [
        (
            "CdeCodeChangeRule",
            _event(
                "aws.lambda",
                "UpdateFunctionCode20150331v2",
                requestParameters={"functionName": "cardline-BackofficeFunction-1"},
            ),
        ),
        (
            "CdeCodeChangeRule",
            _event(
                "aws.lambda",
                "GetFunction20150331v2",
                requestParameters={"functionName": "cardline-ChargeFunction-1"},
            ),
        ),
        (
            "CdeSecretChangeRule",
            _event(
                "aws.secretsmanager",
                "GetSecretValue",
                responseElements={
                    "arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:PayPal-AbCdEf"
                },
            ),
        ),
        (
            "CdeRoleChangeRule",
            _event(
                "aws.iam",
                "PutRolePolicy",
                requestParameters={"roleName": "cardline-BackofficeRole-1"},
            ),
        ),
    ],
)
def test_reads_and_other_functions_do_not_alert(
    patterns: dict[str, EventPattern], rule: str, event: dict[str, Any]
) -> None:
    assert not patterns[rule].matches_event(event)
