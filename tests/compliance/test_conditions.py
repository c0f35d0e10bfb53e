"""A template read for given parameter values: conditions decided, resources under a
false condition left out, every Fn::If taking its branch; what cannot be decided is said."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardline.compliance.conditions import evaluate
from cardline.compliance.template import parse

TEMPLATE = """\
Parameters:
  Mode: {Type: String, Default: open, AllowedValues: [open, firewall]}
  Arn: {Type: String, Default: ""}
  Subnets: {Type: CommaDelimitedList, Default: ""}
Conditions:
  Firewalled: !Equals [!Ref Mode, firewall]
  HasArn: !Not [!Equals [!Ref Arn, ""]]
  InVpc: !Not [!Equals [!Join ["", !Ref Subnets], ""]]
  Both: !And [!Condition Firewalled, !Condition HasArn]
  Either: !Or [!Condition Firewalled, !Condition InVpc]
  InRegion: !Equals [!Ref "AWS::Region", eu-west-1]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Condition: Firewalled
    Properties: {CidrBlock: 10.0.0.0/16}
  Subnet:
    Type: AWS::EC2::Subnet
    Condition: Firewalled
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24}
  Regional:
    Type: AWS::SNS::Topic
    Condition: InRegion
  Function:
    Type: AWS::Serverless::Function
    Properties:
      VpcConfig: !If [Firewalled, {SubnetIds: [!Ref Subnet]}, !Ref AWS::NoValue]
      Layers: [!If [HasArn, !Ref Arn, !Ref AWS::NoValue], layer-b]
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "template.yaml"
    p.write_text(TEMPLATE)
    return p


def test_defaults_decide_every_condition_on_parameters(path: Path) -> None:
    t = parse(path)
    assert t.evaluation.conditions == {
        "Firewalled": False,
        "HasArn": False,
        "InVpc": False,
        "Both": False,
        "Either": False,
    }
    assert sorted(t.dropped) == ["Subnet", "Vpc"]
    function = t.resources["Function"].properties
    assert "VpcConfig" not in function  # AWS::NoValue removes the property
    assert function["Layers"] == ["layer-b"]  # and the list item
    assert t.placements["Function"].vpc is None


def test_given_values_change_what_is_deployed(path: Path) -> None:
    t = parse(path, {"Mode": "firewall", "Arn": "arn:layer"})
    assert t.evaluation.conditions["Both"] is True
    assert t.evaluation.conditions["Either"] is True
    assert {"Vpc", "Subnet"} <= set(t.resources)
    assert t.placements["Function"].vpc == "Vpc"
    assert t.resources["Function"].properties["Layers"] == [{"Ref": "Arn"}, "layer-b"]
    assert t.value({"Ref": "Mode"}) == "firewall"


def test_what_the_values_do_not_decide_is_said_and_kept(path: Path) -> None:
    t = parse(path)
    assert "AWS::Region" in t.evaluation.undecided["InRegion"]
    assert t.resources["Regional"].condition == "InRegion"
    assert parse(path, {"AWS::Region": "eu-west-1"}).resources["Regional"].condition is None
    assert "Regional" in parse(path, {"AWS::Region": "us-east-1"}).dropped


def test_a_value_the_template_does_not_allow_is_an_error(path: Path) -> None:
    with pytest.raises(ValueError, match="Mode"):
        parse(path, {"Mode": "closed"})
    with pytest.raises(ValueError, match="Nope"):
        parse(path, {"Nope": "x"})


def test_an_undefined_condition_is_undecided() -> None:
    evaluation = evaluate({"Conditions": {"A": {"Condition": "Missing"}}, "Resources": {}})
    assert evaluation.holds("A") is None
    assert "Missing" in evaluation.undecided["A"]
