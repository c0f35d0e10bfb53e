"""One reading of a subnet's default routes for the connection model and the facts: the
model draws the first way out, the 1.3.2 fact needs every way out to pass the firewall."""

from __future__ import annotations

from pathlib import Path

from cardline.compliance.facts import egress_through_firewall
from cardline.compliance.routes import default_routes, route_table_of, way_out
from cardline.compliance.template import parse

_TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
  CdeSubnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24}
  CdeRoutes:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  CdeSubnetRoutes:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref CdeSubnet, RouteTableId: !Ref CdeRoutes}
  AllowList:
    Type: AWS::NetworkFirewall::RuleGroup
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
  Policy:
    Type: AWS::NetworkFirewall::FirewallPolicy
    Properties:
      FirewallPolicyName: egress
      FirewallPolicy:
        StatelessDefaultActions: ["aws:forward_to_sfe"]
        StatelessFragmentDefaultActions: ["aws:forward_to_sfe"]
        StatefulRuleGroupReferences: [{ResourceArn: !Ref AllowList}]
  Firewall:
    Type: AWS::NetworkFirewall::Firewall
    Properties:
      FirewallName: egress
      FirewallPolicyArn: !Ref Policy
      VpcId: !Ref Vpc
      SubnetMappings: [{SubnetId: !Ref CdeSubnet}]
  OutThroughFirewall:
    Type: AWS::EC2::Route
    Properties:
      RouteTableId: !Ref CdeRoutes
      DestinationCidrBlock: 0.0.0.0/0
      VpcEndpointId: !Select [1, !Split [":", !Select [0, !GetAtt Firewall.EndpointIds]]]
{ipv6}  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Code: {ZipFile: "def handler(e, c): pass"}
      Role: arn:aws:iam::123456789012:role/r
      VpcConfig: {SubnetIds: [!Ref CdeSubnet], SecurityGroupIds: []}
"""
_IPV6_OUT = """  Ipv6Gateway:
    Type: AWS::EC2::EgressOnlyInternetGateway
    Properties: {VpcId: !Ref Vpc}
  Ipv6Out:
    Type: AWS::EC2::Route
    Properties:
      RouteTableId: !Ref CdeRoutes
      DestinationIpv6CidrBlock: ::/0
      EgressOnlyInternetGatewayId: !Ref Ipv6Gateway
"""


def _template(tmp_path: Path, ipv6: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(_TEMPLATE.replace("{ipv6}", ipv6))
    return path


def test_a_second_default_route_past_the_firewall_is_egress_not_through_it(
    tmp_path: Path,
) -> None:
    template = parse(_template(tmp_path, _IPV6_OUT))
    routes = default_routes(template, route_table_of(template, "CdeSubnet"))
    assert [(r.destination, r.gateway) for r in routes] == [
        ("0.0.0.0/0", "Firewall"),
        ("::/0", "Ipv6Gateway"),
    ]
    first = way_out(template, "CdeSubnet")
    assert first is not None
    assert first.gateway == "Firewall"  # the connection model draws this one
    assert not egress_through_firewall(template, "Function")


def test_with_every_default_route_through_the_firewall_egress_passes_it(tmp_path: Path) -> None:
    template = parse(_template(tmp_path, ""))
    assert [r.gateway for r in default_routes(template, "CdeRoutes")] == ["Firewall"]
    assert egress_through_firewall(template, "Function")
