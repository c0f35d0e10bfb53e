"""The matrix holds every row issue 16 lists, keeps the owners honest (nothing agent
workstations need is handed to AWS), and each fact-driven row turns around when a fixture
template gains the control, without a change to the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture, analyse
from cardline.compliance.facts import FileFact, file_fact
from cardline.compliance.flows import Declaration
from cardline.compliance.matrix import AWS, Assignment, Requirements
from cardline.compliance.report import Report
from tests.compliance.conftest import FIXTURES

REQUIRED = (
    "1.3.2", "1.5.1", "3.3.1", "3.4.2", "3.6.1", "3.7.1", "3.7.2", "3.7.3", "3.7.4",
    "3.7.5", "3.7.6", "3.7.7", "3.7.8", "4.2.1", "4.2.1.1", "4.2.2", "5", "5.2.1",
    "5.2.2", "5.2.3", "5.3.1", "5.4.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "8.4.2",
    "9.4.x", "10.2.1.x", "10.3.4", "10.4.1", "10.4.1.1", "10.4.2", "10.4.2.1",
    "10.4.3", "10.7.2", "11.4.1", "11.4.2", "11.4.3", "11.4.4", "11.4.5", "11.6.1",
    "12.3.1", "12.6.1", "12.6.2", "12.6.3", "12.6.3.1", "12.6.3.2", "12.7.1", "12.8.2",
    "12.8.3", "12.8.4", "12.10.1", "12.10.2", "12.10.3", "12.10.4", "12.10.5", "12.10.6",
    "12.10.7",
)  # fmt: skip


def _row(a: Architecture, requirement: str) -> Assignment:
    return next(x for x in a.assignments if x.requirement.id == requirement)


def _covers(row: str, requirement: str) -> bool:
    """A row "9.4.x" covers 9.4.1; "8.4.2" covers 8.4.2 only."""
    return row == requirement or (row.endswith(".x") and requirement.startswith(row[:-1]))


def test_every_listed_row_is_in_the_matrix(requirements: Requirements) -> None:
    ids = [r.id for r in requirements.items]
    assert sorted(set(REQUIRED) - set(ids)) == []
    assert len(ids) == len(set(ids))


def test_nothing_agent_workstations_need_is_handed_to_aws(report: tuple[Report, Path]) -> None:
    built, _out = report
    for a in built.architectures:
        assert a.facts["agent_workstations"], a.name
        needed = {r for i in a.inventory if i.kind == "workstation" for r in i.requirements} | {
            "1.5.1",
            "5.4.1",
        }
        rows = [
            x
            for x in a.assignments
            if x.requirement.id.split(".")[0] == "5"
            or any(_covers(x.requirement.id, r) for r in needed)
        ]
        uncovered = [r for r in needed if not any(_covers(x.requirement.id, r) for x in rows)]
        assert uncovered == []
        for x in rows:
            assert x.owner != AWS, f"{a.name} {x.requirement.id}"
            assert x.customer_owned, f"{a.name} {x.requirement.id}"


def _edited(tmp_path: Path, additions: str, conditions: str = "") -> Path:
    text = (FIXTURES / "minimal.yaml").read_text()
    if conditions:
        text = text.replace("Resources:\n", f"Conditions:\n{conditions}Resources:\n", 1)
    path = tmp_path / "template.yaml"
    path.write_text(text.rstrip("\n") + "\n" + additions)
    return path


def _fixture(
    tmp_path: Path,
    declaration: Declaration,
    requirements: Requirements,
    additions: str = "",
    conditions: str = "",
) -> Architecture:
    return analyse("fixture", _edited(tmp_path, additions, conditions), declaration, requirements)


_FIREWALL = """  EgressAllowList:
    Type: AWS::NetworkFirewall::RuleGroup{condition}
    Properties:
      Capacity: 10
      RuleGroupName: paypal-only
      Type: STATEFUL
      RuleGroup:
        RulesSource:
          RulesSourceList:
            GeneratedRulesType: ALLOWLIST
            TargetTypes: [TLS_SNI]
            Targets: [api-m.paypal.com]
  EgressFirewall:
    Type: AWS::NetworkFirewall::Firewall{condition}
    Properties:
      FirewallName: cde-egress
      FirewallPolicyArn: arn:aws:network-firewall:us-east-1:123456789012:firewall-policy/p
      VpcId: vpc-1
      SubnetMappings: [{SubnetId: subnet-1}]
"""
_OPTION = """  CdeEgressOn: !Equals [!Ref CdeEgress, "true"]
"""


def test_open_egress_is_a_finding_until_the_cde_routes_through_an_allow_list(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    bare = _row(_fixture(tmp_path, declaration, requirements), "1.3.2")
    assert bare.finding
    assert bare.owner == "us"
    assert "allow-list" in bare.note

    optional = _FIREWALL.replace("{condition}", "\n    Condition: CdeEgressOn")
    params = "  CdeEgress:\n    Type: String\n    Default: {default}\n"

    def with_option(default: str, where: Path) -> Assignment:
        where.mkdir()
        path = _edited(where, optional, _OPTION)
        path.write_text(
            path.read_text().replace(
                "Parameters:\n", "Parameters:\n" + params.format(default=default), 1
            )
        )
        return _row(analyse("fixture", path, declaration, requirements), "1.3.2")

    off = with_option('"false"', tmp_path / "off")
    assert off.finding
    assert "`CdeEgressOn`" in off.note
    # Deployed, but no route of the CDE's goes through it: still a finding.
    on = with_option('"true"', tmp_path / "on")
    assert on.finding
    assert "ChargeFunction: egress not through a firewall's domain allow-list" in on.note


_TRAIL = """  TrailBucket:
    Type: AWS::S3::Bucket
    Properties:
      ObjectLockEnabled: true
      ObjectLockConfiguration:
        ObjectLockEnabled: Enabled
        Rule: {DefaultRetention: {Mode: COMPLIANCE, Days: 400}}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      IsLogging: true
      EnableLogFileValidation: true
      IsMultiRegionTrail: true
      S3BucketName: !Ref TrailBucket
"""


def test_a_locked_cloudtrail_turns_the_logging_rows_around(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    before = _fixture(tmp_path, declaration, requirements)
    assert _row(before, "10.2.1.x").finding
    assert _row(before, "10.3.4").finding
    assert "CloudTrail" in _row(before, "10.2.1.x").note
    (tmp_path / "after").mkdir()
    after = _fixture(tmp_path / "after", declaration, requirements, _TRAIL)
    assert not _row(after, "10.2.1.x").finding
    assert not _row(after, "10.3.4").finding
    assert "template.yaml#Trail" in _row(after, "10.3.4").evidence


def test_a_governance_mode_lock_is_a_10_3_4_finding_naming_the_bucket(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    governance = _TRAIL.replace("Mode: COMPLIANCE", "Mode: GOVERNANCE")
    row = _row(_fixture(tmp_path, declaration, requirements, governance), "10.3.4")
    assert row.finding
    assert "TrailBucket: Object Lock mode GOVERNANCE" in row.note


def test_an_api_without_a_tls_policy_is_a_4_2_1_finding_until_disabled_or_given_one(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    bare = _row(_fixture(tmp_path, declaration, requirements), "4.2.1")
    assert bare.finding
    assert "PaymentsApi" in bare.note
    assert "ServerlessRestApi" in bare.note  # SAM's implicit API is an endpoint too
    text = (
        (FIXTURES / "minimal.yaml")
        .read_text()
        .replace(
            "Properties: {Path: /v1/payments, Method: get}",
            "Properties: {RestApiId: !Ref PaymentsApi, Path: /v1/payments, Method: get}",
        )
    )
    for number, fix in enumerate(
        ("DisableExecuteApiEndpoint: true", "SecurityPolicy: SecurityPolicy_TLS13_1_3_2025_09")
    ):
        path = tmp_path / f"fixed{number}.yaml"
        path.write_text(
            text.replace("      StageName: prod\n", f"      StageName: prod\n      {fix}\n", 1)
        )
        row = _row(analyse("fixture", path, declaration, requirements), "4.2.1")
        assert not row.finding, fix


def test_requirement_5_without_instances_is_ours_and_aws_with_agents_in_the_cde(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    a = _fixture(tmp_path, declaration, requirements)
    assert a.facts["agent_workstations"]  # from the declared flows alone, no inventory
    assert _row(a, "5.2.1").owner == "us"
    assert set(_row(a, "5").parties) == {"us", "aws"}
    assert _row(a, "5.2.3").owner == "us"
    assert "5.2.3.1" in _row(a, "5.2.3").how


@pytest.mark.parametrize(
    ("page", "holds"),
    [
        ('<script type="module" src="a.js" integrity="sha384-abc"></script>', True),
        ('<script src="a.js" integrity="sha384-abc"></script><script src="b.js"></script>', False),
        ('<script type="module" src="a.js"></script>', False),
    ],
)
def test_the_sri_fact_needs_integrity_on_every_script(
    tmp_path: Path, requirements: Requirements, page: str, holds: bool
) -> None:
    (tmp_path / "console").mkdir()
    (tmp_path / "console" / "index.html").write_text(f"<html><head>{page}</head></html>")
    spec = requirements.file_facts["console_sri"]
    moved = FileFact(("console/*.html",), spec.matches, spec.nowhere, spec.missing)
    assert file_fact(moved, tmp_path).holds is holds
