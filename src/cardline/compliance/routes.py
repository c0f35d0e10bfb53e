"""The routes of a template's subnets: the route table each subnet is associated with,
where that table's default routes (0.0.0.0/0 and ::/0) send traffic leaving the VPC, and
the domain allow-list of a Network Firewall such a route passes.

One reading for everything that asks where a subnet's traffic goes out: the connection
model draws the way out, the facts decide whether every way out passes a firewall.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cardline.compliance.template import Template, names_in

ANY = ("0.0.0.0/0", "::/0")
# The properties of AWS::EC2::Route naming where it sends traffic.
_TARGET_KEYS = (
    "NatGatewayId",
    "GatewayId",
    "EgressOnlyInternetGatewayId",
    "TransitGatewayId",
    "VpcEndpointId",
    "NetworkInterfaceId",
    "InstanceId",
    "VpcPeeringConnectionId",
    "CarrierGatewayId",
    "LocalGatewayId",
    "CoreNetworkArn",
)


@dataclass(frozen=True)
class DefaultRoute:
    """A route table's route to anywhere: ``gateway`` is the template resource it sends
    to (None: a target the template does not hold, such as a parameter's id)."""

    route: str
    table: str
    destination: str  # 0.0.0.0/0 or ::/0
    gateway: str | None


def ref(value: Any) -> str | None:
    """The resource a ``Ref`` or ``Fn::GetAtt`` names."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute:
            return str(attribute[0])
        if isinstance(attribute, str):
            return attribute.split(".", 1)[0]
    return None


def named_resource(template: Template, value: Any) -> str | None:
    """The resource ``value`` refers to: a Ref, or the one resource an expression names (a
    Network Firewall endpoint is ``!Select``-ed out of the firewall's ``EndpointIds``)."""
    found = ref(value)
    if found:
        return found
    named = sorted(n for n in names_in(value) if n in template.resources)
    return named[0] if len(named) == 1 else None


def route_table_of(template: Template, subnet: str) -> str | None:
    """The route table ``subnet`` is associated with (None: the VPC's main table)."""
    for association in template.of_type("AWS::EC2::SubnetRouteTableAssociation"):
        if ref(association.properties.get("SubnetId")) == subnet:
            return ref(association.properties.get("RouteTableId"))
    return None


def default_routes(template: Template, table: str | None) -> tuple[DefaultRoute, ...]:
    """Every route of ``table`` to 0.0.0.0/0 or ::/0, in template order."""
    if table is None:
        return ()
    found = []
    for route in template.of_type("AWS::EC2::Route"):
        p = route.properties
        if ref(p.get("RouteTableId")) != table:
            continue
        destination = p.get("DestinationCidrBlock", p.get("DestinationIpv6CidrBlock"))
        if destination not in ANY:
            continue
        gateway = next(
            (g for g in (named_resource(template, p.get(k)) for k in _TARGET_KEYS if k in p) if g),
            None,
        )
        found.append(DefaultRoute(route.id, table, str(destination), gateway))
    return tuple(found)


def way_out(template: Template, subnet: str) -> DefaultRoute | None:
    """The default route of ``subnet`` the connection model follows: the first one that
    sends to a resource of the template."""
    routes = default_routes(template, route_table_of(template, subnet))
    return next((r for r in routes if r.gateway), None)


def sub_text(value: Any) -> str:
    """A literal, or an ``Fn::Sub`` with its pseudo parameters written as placeholders."""
    text = value.get("Fn::Sub") if isinstance(value, dict) else value
    text = text[0] if isinstance(text, list) and text else text
    return str(text).replace("${AWS::Region}", "<region>") if isinstance(text, str) else "?"


def firewall_allow_list(template: Template, firewall: str) -> tuple[str, str, tuple[str, ...]]:
    """(policy, rule group, domains) of the stateful domain allow-lists a Network Firewall's
    policy references."""
    policy = named_resource(
        template, template.resources[firewall].properties.get("FirewallPolicyArn")
    )
    body = template.resources.get(policy or "")
    settings = (body.properties.get("FirewallPolicy") or {}) if body is not None else {}
    groups, domains = [], []
    for reference in settings.get("StatefulRuleGroupReferences") or ():
        group = named_resource(template, (reference or {}).get("ResourceArn"))
        if group not in template.resources:
            continue
        source = (template.resources[group].properties.get("RuleGroup") or {}).get("RulesSource")
        listed = (source or {}).get("RulesSourceList") or {}
        if listed.get("GeneratedRulesType") == "ALLOWLIST":
            groups.append(group)
            domains += [sub_text(t) for t in listed.get("Targets") or ()]
    return policy or "?", ", ".join(groups), tuple(domains)
