"""CdeEgress=firewall (PCI DSS 1.3.2): charge and ivr in private subnets whose only way out
is AWS Network Firewall's domain allow-list of PayPal's API host; AWS APIs through VPC
endpoints. Read from the template as CloudFormation receives it after the SAM transform."""

from __future__ import annotations

from typing import Any

import pytest

CDE_FUNCTIONS = ("ChargeFunction", "IvrFunction")
PAYPAL_HOSTS = {"api-m.paypal.com", "api-m.sandbox.paypal.com"}


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def _strings(value: Any) -> set[str]:
    """Every literal string inside ``value`` (through intrinsic functions)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return set().union(*map(_strings, value)) if value else set()
    if isinstance(value, dict):
        return set().union(*map(_strings, value.values())) if value else set()
    return set()


def _endpoint_index(route: dict[str, Any]) -> int:
    """Which of the firewall's EndpointIds a route targets (the Select/Split form)."""
    select = route["Properties"]["VpcEndpointId"]["Fn::Select"]
    assert select[0] == 1
    inner = select[1]["Fn::Split"][1]["Fn::Select"]
    assert inner[1] == {"Fn::GetAtt": ["CdeFirewall", "EndpointIds"]}
    index: int = inner[0]
    return index


def test_the_default_stack_is_unchanged_every_egress_resource_is_conditional(
    translated: dict[str, Any],
) -> None:
    parameter = translated["Parameters"]["CdeEgress"]
    assert parameter["Default"] == "open"
    assert set(parameter["AllowedValues"]) == {"open", "firewall"}
    egress_kinds = ("AWS::EC2::", "AWS::NetworkFirewall::")
    egress = {
        n: r for n, r in translated["Resources"].items() if r["Type"].startswith(egress_kinds)
    }
    assert len(egress) >= 30
    assert {r.get("Condition") for r in egress.values()} == {"CdeBehindFirewall"}


@pytest.mark.parametrize("name", CDE_FUNCTIONS)
def test_the_cde_functions_run_in_the_cde_subnets_behind_the_firewall(
    translated: dict[str, Any], name: str
) -> None:
    vpc = translated["Resources"][name]["Properties"]["VpcConfig"]
    condition, inside, otherwise = vpc["Fn::If"]
    assert condition == "CdeBehindFirewall"
    assert inside == {
        "SubnetIds": [{"Ref": "CdeSubnetA"}, {"Ref": "CdeSubnetB"}],
        "SecurityGroupIds": [{"Ref": "CdeFunctionSecurityGroup"}],
    }
    assert otherwise["Fn::If"][0] == "InVpc"  # else the SubnetIds parameter, as before


def test_the_allow_list_names_paypals_api_host_only_and_the_rest_is_dropped(
    translated: dict[str, Any],
) -> None:
    group = translated["Resources"]["CdeEgressAllowList"]["Properties"]
    assert group["Type"] == "STATEFUL"
    source = group["RuleGroup"]["RulesSource"]["RulesSourceList"]
    assert source["GeneratedRulesType"] == "ALLOWLIST"
    assert set(source["TargetTypes"]) == {"TLS_SNI", "HTTP_HOST"}
    named = _strings(source["Targets"])
    # PayPal's host for PayPalEnvironment; with Connect also Connect's API of the region.
    assert named >= PAYPAL_HOSTS
    assert named - PAYPAL_HOSTS - {"HasConnect", "IsLivePayPal"} == {
        "connect.${AWS::Region}.amazonaws.com"
    }
    assert group["RuleGroup"]["StatefulRuleOptions"]["RuleOrder"] == "STRICT_ORDER"
    policy = translated["Resources"]["CdeEgressPolicy"]["Properties"]["FirewallPolicy"]
    assert policy["StatefulEngineOptions"]["RuleOrder"] == "STRICT_ORDER"
    assert "aws:drop_established" in policy["StatefulDefaultActions"]
    assert policy["StatelessDefaultActions"] == ["aws:forward_to_sfe"]
    assert policy["StatefulRuleGroupReferences"] == [
        {"ResourceArn": {"Ref": "CdeEgressAllowList"}, "Priority": 1}
    ]
    firewall = translated["Resources"]["CdeFirewall"]["Properties"]
    assert firewall["FirewallPolicyArn"] == {"Ref": "CdeEgressPolicy"}
    logged = translated["Resources"]["CdeFirewallLogging"]["Properties"]["LoggingConfiguration"]
    assert {d["LogType"] for d in logged["LogDestinationConfigs"]} == {"ALERT", "FLOW"}


def test_the_functions_security_group_admits_nothing_and_sends_https_only(
    translated: dict[str, Any],
) -> None:
    group = translated["Resources"]["CdeFunctionSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    egress = [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in group["SecurityGroupEgress"]]
    assert egress == [("tcp", 443, 443)]
    endpoints = translated["Resources"]["CdeEndpointSecurityGroup"]["Properties"]
    assert [r["SourceSecurityGroupId"] for r in endpoints["SecurityGroupIngress"]] == [
        {"Ref": "CdeFunctionSecurityGroup"}
    ]


def test_every_way_out_of_the_cde_subnets_crosses_the_firewall_both_ways(
    translated: dict[str, Any],
) -> None:
    resources = translated["Resources"]
    routes = _resources(translated, "AWS::EC2::Route")
    tables = {
        a["Properties"]["SubnetId"]["Ref"]: a["Properties"]["RouteTableId"]["Ref"]
        for a in _resources(translated, "AWS::EC2::SubnetRouteTableAssociation").values()
    }
    by_table: dict[str, list[dict[str, Any]]] = {}
    for route in routes.values():
        by_table.setdefault(route["Properties"]["RouteTableId"]["Ref"], []).append(route)
    # Only the NAT gateways' subnets reach the internet gateway.
    to_internet = {
        subnet
        for subnet, table in tables.items()
        for route in by_table.get(table, [])
        if "GatewayId" in route["Properties"]
    }
    assert to_internet == {"NatSubnetA", "NatSubnetB"}
    outbound = {}
    for subnet in ("CdeSubnetA", "CdeSubnetB"):
        (route,) = by_table[tables[subnet]]  # one route: everything to the firewall
        assert route["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0"
        outbound[subnet] = _endpoint_index(route)
    assert sorted(outbound.values()) == [0, 1]
    for subnet in ("FirewallSubnetA", "FirewallSubnetB"):
        (route,) = by_table[tables[subnet]]
        assert set(route["Properties"]) == {"RouteTableId", "DestinationCidrBlock", "NatGatewayId"}
    # The answers come back through the endpoint the request left by.
    for nat_subnet in ("NatSubnetA", "NatSubnetB"):
        back = {
            r["Properties"]["DestinationCidrBlock"]["Fn::GetAtt"][0]: _endpoint_index(r)
            for r in by_table[tables[nat_subnet]]
            if "VpcEndpointId" in r["Properties"]
        }
        assert back == outbound
    for subnet in ("CdeSubnetA", "CdeSubnetB"):
        assert resources[subnet]["Properties"]["MapPublicIpOnLaunch"] is False


def test_the_aws_apis_the_cde_calls_are_vpc_endpoints_in_its_subnets(
    translated: dict[str, Any],
) -> None:
    endpoints = _resources(translated, "AWS::EC2::VPCEndpoint")
    services = {}
    for name, endpoint in endpoints.items():
        properties = endpoint["Properties"]
        service = properties["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1]
        services[service] = properties
        assert properties["VpcId"] == {"Ref": "CdeVpc"}, name
        assert "PolicyDocument" in properties, name
    assert set(services) == {"secretsmanager", "kms", "logs", "dynamodb"}
    for service in ("secretsmanager", "kms", "logs"):
        properties = services[service]
        assert properties["VpcEndpointType"] == "Interface"
        assert properties["PrivateDnsEnabled"] is True
        assert properties["SubnetIds"] == [{"Ref": "CdeSubnetA"}, {"Ref": "CdeSubnetB"}]
    assert services["dynamodb"]["VpcEndpointType"] == "Gateway"


def test_the_cde_vpc_keeps_flow_logs(translated: dict[str, Any]) -> None:
    (flow_log,) = _resources(translated, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["ResourceId"] == {"Ref": "CdeVpc"}
    assert flow_log["Properties"]["TrafficType"] == "ALL"
