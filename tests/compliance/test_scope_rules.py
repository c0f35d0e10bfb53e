"""The scoping rules, each shown on a small fixture template (not on the repository's
templates: what those give is derived, and a test must not fix it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture, analyse
from cardline.compliance.flows import Declaration, load_declaration
from cardline.compliance.matrix import Requirements
from cardline.compliance.scope import CDE, CONNECTED, IMPACTING, OUT
from tests.compliance.conftest import FIXTURES

IN_SCOPE = (CDE, CONNECTED, IMPACTING)


def _analyse(
    path: Path, declaration: Declaration, requirements: Requirements, name: str = "fixture"
) -> Architecture:
    return analyse(name, path, declaration, requirements)


def _edited(tmp_path: Path, fixture: str, old: str, new: str) -> Path:
    text = (FIXTURES / fixture).read_text()
    assert old in text
    path = tmp_path / fixture
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.fixture
def fixture(declaration: Declaration, requirements: Requirements) -> Architecture:
    return _analyse(FIXTURES / "permissions.yaml", declaration, requirements)


def test_a_role_policy_granting_a_cde_role_anything_is_security_impacting(
    fixture: Architecture,
) -> None:
    verdict = fixture.scope.verdicts["IvrSessionsPolicy"]
    assert verdict.category == IMPACTING
    assert "IvrRole" in verdict.reason


@pytest.mark.parametrize(
    ("kind", "attach"),
    [
        ("AWS::IAM::Policy", "Roles: [!Ref IvrRole]"),
        ("AWS::IAM::ManagedPolicy", "Roles: [!Ref IvrRole]"),
    ],
)
def test_policies_of_every_kind_attached_to_a_cde_role_are_security_impacting(
    tmp_path: Path,
    declaration: Declaration,
    requirements: Requirements,
    kind: str,
    attach: str,
) -> None:
    path = _edited(
        tmp_path,
        "permissions.yaml",
        "    Type: AWS::IAM::RolePolicy\n    Condition: HasIvr\n    Properties:\n"
        "      RoleName: !Ref IvrRole\n      PolicyName: ivr-sessions\n",
        f"    Type: {kind}\n    Condition: HasIvr\n    Properties:\n      {attach}\n",
    )
    a = _analyse(path, declaration, requirements)
    assert a.scope.verdicts["IvrSessionsPolicy"].category == IMPACTING
    assert a.permissions.can("IvrFunction", "write", "IvrSessionsTable")


def test_a_secret_reaches_only_the_functions_whose_role_may_read_it(
    fixture: Architecture,
) -> None:
    into = {f.sink: set(f.source_hosts) for f in fixture.binding.flows if f.source == "secrets"}
    assert into["charge"] == {"PayPalSecret"}  # the IVR keys are not drawn into charge
    assert into["ivr"] == {"PayPalSecret", "IvrKeysSecret"}
    assert into["backoffice"] == {"PayPalSecret"}


def test_each_function_writes_only_the_log_groups_its_role_names(fixture: Architecture) -> None:
    writes = {
        f.source: {b for _, b in f.pairs} for f in fixture.binding.flows if f.sink == "audit_log"
    }
    assert writes == {
        "charge": {"ChargeLogGroup"},
        "ivr": {"IvrLogGroup"},
        "backoffice": {"BackofficeLogGroup"},
    }


def test_a_flow_no_permission_allows_is_not_there(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    path = _edited(
        tmp_path,
        "permissions.yaml",
        "                Action: dynamodb:PutItem\n",
        "                Action: dynamodb:GetItem\n",
    )
    before = _analyse(FIXTURES / "permissions.yaml", declaration, requirements)
    after = _analyse(path, declaration, requirements)
    assert any((f.source, f.sink) == ("projector", "ledger") for f in before.binding.flows)
    assert not any((f.source, f.sink) == ("projector", "ledger") for f in after.binding.flows)


def test_a_function_on_sams_default_role_may_write_every_log_group(
    declaration: Declaration, requirements: Requirements
) -> None:
    a = _analyse(FIXTURES / "minimal.yaml", declaration, requirements)
    assert a.permissions.can("ChargeFunction", "write", "ChargeLogGroup")
    assert a.permissions.runs_as["ChargeFunction"] == ("ChargeFunctionRole",)


def test_an_fn_if_grants_its_chosen_branch_or_both_when_undecided(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    decided = _edited(
        tmp_path,
        "permissions.yaml",
        "                Action: secretsmanager:GetSecretValue\n"
        "                Resource: !Ref PayPalSecret\n              - Effect: Allow\n"
        "                Action: kms:Decrypt",
        "                Action: secretsmanager:GetSecretValue\n"
        "                Resource: !If [HasIvr, !Ref IvrKeysSecret, !Ref PayPalSecret]\n"
        "              - Effect: Allow\n                Action: kms:Decrypt",
    )
    a = _analyse(decided, declaration, requirements)
    reads = {(x.target, x.conditions) for x in a.permissions.of("ChargeFunction", "read")}
    assert reads == {("IvrKeysSecret", ())}  # HasIvr holds in the fixture
    # A condition on the region is not decided by the template: both branches count.
    text = decided.read_text().replace(
        'HasIvr: !Equals ["yes", "yes"]', 'HasIvr: !Equals [!Ref "AWS::Region", eu-west-1]'
    )
    path = tmp_path / "undecided.yaml"
    path.write_text(text)
    a = _analyse(path, declaration, requirements)
    reads = {(x.target, x.conditions) for x in a.permissions.of("ChargeFunction", "read")}
    assert reads == {("IvrKeysSecret", ("HasIvr",)), ("PayPalSecret", ("!HasIvr",))}
    assert "AWS::Region" in a.template.evaluation.undecided["HasIvr"]


def test_whoever_can_read_a_cde_secret_is_security_impacting(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    extra = """  ReportsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: reports.handler
      Runtime: python3.13
      CodeUri: build/reports.zip
      Role: !GetAtt ReportsRole.Arn
  ReportsRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}
      Policies:
        - PolicyName: reports
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: "*"
"""
    path = tmp_path / "template.yaml"
    path.write_text((FIXTURES / "permissions.yaml").read_text() + extra)
    a = _analyse(path, declaration, requirements)
    for rid in ("ReportsFunction", "ReportsRole"):
        verdict = a.scope.verdicts[rid]
        assert verdict.category == IMPACTING, rid
        assert "PayPalSecret" in verdict.reason or "IvrKeysSecret" in verdict.reason


def test_whoever_may_change_cde_code_is_security_impacting(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    extra = """  DeployRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}
  DeployPolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles: [!Ref DeployRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: lambda:UpdateFunctionCode
            Resource: !GetAtt ChargeFunction.Arn
"""
    path = tmp_path / "template.yaml"
    path.write_text((FIXTURES / "permissions.yaml").read_text() + extra)
    a = _analyse(path, declaration, requirements)
    assert a.scope.verdicts["DeployRole"].category == IMPACTING
    assert "may change ChargeFunction" in a.scope.verdicts["DeployRole"].reason
    assert a.scope.verdicts["DeployPolicy"].category == IMPACTING


def test_the_payment_page_host_is_in_scope_for_6_4_3_and_11_6_1(fixture: Architecture) -> None:
    verdict = fixture.scope.verdicts["BackofficeFunction"]
    assert verdict.category in IN_SCOPE
    assert verdict.requirements == ("6.4.3", "11.6.1")
    assert "payment page" in verdict.reason


def test_the_ledger_receiving_the_cde_audit_stream_is_connected_to(
    fixture: Architecture,
) -> None:
    assert fixture.scope.verdicts["ProjectorFunction"].category == CONNECTED
    verdict = fixture.scope.verdicts["LedgerTable"]
    assert verdict.category == CONNECTED
    assert "audit stream" in verdict.reason


def test_roles_of_cde_functions_are_security_impacting_and_unrelated_things_out(
    fixture: Architecture,
) -> None:
    assert fixture.scope.verdicts["ChargeRole"].category == IMPACTING
    assert fixture.scope.verdicts["SecretsKey"].category == IMPACTING
    assert fixture.scope.verdicts["AlarmTopic"].category == OUT


# A declaration where only the instance named Charge* handles cards.
_SEGMENT_FLOWS = """
data:
  pan: {name: PAN, account_data: true}
components:
  agent: {name: agent, kind: actor}
  charge:
    name: charge
    kind: process
    hosts: [{type: AWS::EC2::Instance, id: "charge*"}]
flows:
  - {from: agent, to: charge, data: [pan], what: card, protocol: HTTPS, encryption: TLS}
"""


def test_security_groups_segment_systems_that_share_a_subnet(
    tmp_path: Path, requirements: Requirements
) -> None:
    declaration = load_declaration(_SEGMENT_FLOWS)
    a = _analyse(FIXTURES / "segments.yaml", declaration, requirements)
    assert a.scope.verdicts["ChargeInstance"].category == CDE
    assert a.scope.verdicts["AdminInstance"].category == CONNECTED  # its group is let in
    assert "ChargeFromAdmin" in a.scope.verdicts["AdminInstance"].reason
    assert a.scope.verdicts["OtherInstance"].category == OUT  # same subnet, kept apart
    for control in ("ChargeSecurityGroup", "OtherSecurityGroup", "ChargeFromAdmin"):
        assert a.scope.verdicts[control].category == IMPACTING, control
    # Without its security group nothing separates the neighbours: one segment, all CDE.
    bare = _edited(
        tmp_path, "segments.yaml", "      SecurityGroupIds: [!Ref ChargeSecurityGroup]\n", ""
    )
    flat = _analyse(bare, declaration, requirements)
    assert flat.scope.verdicts["OtherInstance"].category == CDE
    assert "no security group" in flat.scope.verdicts["OtherInstance"].reason


def test_an_open_ingress_rule_connects_every_neighbour(
    tmp_path: Path, requirements: Requirements
) -> None:
    declaration = load_declaration(_SEGMENT_FLOWS)
    path = _edited(
        tmp_path,
        "segments.yaml",
        "      GroupDescription: charge - from the admin group only\n",
        "      GroupDescription: charge - from the VPC\n      SecurityGroupIngress:\n"
        "        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.0.0.0/16}\n",
    )
    a = _analyse(path, declaration, requirements)
    assert a.scope.verdicts["OtherInstance"].category == CONNECTED
