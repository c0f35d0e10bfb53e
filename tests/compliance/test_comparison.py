"""The comparison is counted from the templates: the counts move when a template moves,
and the write-up's claims are judged with a reason. No test here says which architecture
should come out ahead."""

from __future__ import annotations

from pathlib import Path

from cardline.compliance.architecture import Architecture, analyse
from cardline.compliance.comparison import by_owner, in_scope_by_kind, kinds_table
from cardline.compliance.flows import Declaration
from cardline.compliance.inventory import load_inventory
from cardline.compliance.matrix import Requirements
from cardline.compliance.scope import CONNECTED, IMPACTING
from cardline.compliance.writeup import HOLDS, PARTLY, WRONG, requirements_met
from tests.compliance.conftest import FIXTURES, ROOT

EXTRA_READER = """  ReportsFunction:
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
                Action: dynamodb:Query
                Resource: !GetAtt LedgerTable.Arn
              - Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: !Ref PayPalSecret
"""


def test_the_counts_change_when_a_fixture_template_changes(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    before = analyse("fixture", FIXTURES / "permissions.yaml", declaration, requirements)
    path = tmp_path / "template.yaml"
    path.write_text((FIXTURES / "permissions.yaml").read_text() + EXTRA_READER)
    after = analyse("fixture", path, declaration, requirements)
    grown = in_scope_by_kind(after) - in_scope_by_kind(before)
    assert grown == {("compute", IMPACTING): 1, ("identity and permissions", IMPACTING): 1}
    _, rows_before = kinds_table([before])
    _, rows_after = kinds_table([after])
    assert rows_before != rows_after


def test_the_inventory_counts_in_the_comparison(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "items:\n  - {id: desks, name: desks, kind: workstation, zone: call-centre,"
        " scope: CDE, why: agents key cards}\n"
        "  - {id: trail, name: trail, kind: logging, zone: aws-account,"
        " scope: connected-to, why: the account's trail, architectures: [traditional]}\n"
    )
    a = analyse(
        "fixture",
        FIXTURES / "permissions.yaml",
        declaration,
        requirements,
        load_inventory(inventory),
    )
    counts = in_scope_by_kind(a)
    assert counts[("outside the template: workstation", "CDE")] == 1
    assert ("outside the template: logging", CONNECTED) not in counts  # serverless only
    assert [i.id for i in a.outside_template("call-centre")] == ["desks"]


def test_every_matrix_row_is_counted_by_owner(architectures: dict[str, Architecture]) -> None:
    for a in architectures.values():
        assert sum(by_owner(a).values()) == len(a.assignments)


def test_every_claim_is_judged_with_a_reason(architectures: dict[str, Architecture]) -> None:
    checks = requirements_met(list(architectures.values()))
    for check in checks:
        for judged in check.judged.values():
            assert judged.verdict in (HOLDS, PARTLY, WRONG)
            assert judged.reason


def test_a_lambda_outside_a_vpc_is_not_judged_a_default_vpc_firewall_nor_open_egress_a_benefit(
    declaration: Declaration, requirements: Requirements
) -> None:
    a = analyse("fixture", FIXTURES / "permissions.yaml", declaration, requirements)
    judged = {c.item: c.judged["fixture"] for c in requirements_met([a])}
    assert judged["Incoming firewall"].verdict == WRONG
    assert "Lambda permissions" in judged["Incoming firewall"].reason
    assert judged["Outgoing internet access"].verdict == WRONG
    assert "1.3.2" in judged["Outgoing internet access"].reason


def test_the_repository_inventory_loads_and_covers_what_the_templates_miss() -> None:
    inventory = load_inventory(ROOT / "infra" / "inventory.yaml")
    kinds = {i.kind for i in inventory.items}
    assert {"workstation", "network", "telephony", "data", "identity", "logging", "dns"} <= kinds
    assert {"connect-instance", "call-recordings", "cloudtrail", "ci-deploy-identity"} <= {
        i.id for i in inventory.items
    }
