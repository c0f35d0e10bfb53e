"""PCI DSS scope derived from the model: which template resources are in the cardholder
data environment, which are connected to it or can affect its security, and which are out.

The rules, applied until nothing changes (each resource keeps the first reason found):

1. CDE: a resource that runs a component sending or receiving PAN or CVV in a declared flow.
2. CDE: a system placed in a subnet that holds a rule-1 resource (same network segment).
3. Connected-to: one reference away from a CDE resource (either direction), the host of
   a component exchanging a flow with a CDE component, a system whose security group may
   open connections into a CDE system's security group, or a store that keeps the CDE's
   audit trail (PCI DSS 10).
4. Security-impacting: anything that a CDE resource, a keeper of its audit trail or an
   in-scope attachment depends on (the references it makes, followed to the end), and
   every attachment (policy, security group rule, route, association, ACL entry, flow log,
   log subscription) that changes an in-scope resource.
Everything else is out of scope: nothing connects it to the CDE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cardline.compliance.flows import Binding, Declaration
from cardline.compliance.template import Template

CDE = "CDE"
CONNECTED = "connected-to"
IMPACTING = "security-impacting"
OUT = "out of scope"
CATEGORIES = (CDE, CONNECTED, IMPACTING, OUT)

# Resources that put a network interface into their subnet(s).
_SYSTEMS = {
    "AWS::EC2::Instance",
    "AWS::EC2::NatGateway",
    "AWS::EC2::NetworkInterface",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::RDS::DBInstance",
    "AWS::Lambda::Function",
    "AWS::Serverless::Function",
    "AWS::EC2::VPCEndpoint",
    "AWS::ECS::Service",
}
# Resources whose whole purpose is to change the configuration of what they reference.
ATTACHMENTS = {
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::SubnetNetworkAclAssociation",
    "AWS::EC2::NetworkAclEntry",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::FlowLog",
    "AWS::Lambda::Permission",
    "AWS::WAFv2::WebACLAssociation",
    "AWS::S3::BucketPolicy",
    "AWS::KMS::Alias",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Authorizer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::Logs::SubscriptionFilter",
    "AWS::EC2::VPCEndpoint",
    "AWS::WAFv2::LoggingConfiguration",
    "AWS::ApiGateway::BasePathMapping",
    "AWS::ApiGateway::BasePathMappingV2",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
}
_SG_RULE_KEYS = {"SourceSecurityGroupId", "SourceSecurityGroupName"}


@dataclass(frozen=True)
class Verdict:
    resource: str
    category: str
    reason: str


@dataclass(frozen=True)
class Scope:
    """Each resource's category with the reason, and the components that are in the CDE."""

    verdicts: dict[str, Verdict]
    cde_components: tuple[str, ...]
    account_data_flows: tuple[int, ...]

    def of(self, category: str) -> list[str]:
        return sorted(r for r, v in self.verdicts.items() if v.category == category)

    def in_scope(self) -> list[str]:
        return sorted(r for r, v in self.verdicts.items() if v.category != OUT)


def _security_groups(template: Template, resource_id: str, seen: set[str]) -> set[str]:
    """The security groups a resource runs with, through a launch template if it uses one."""
    seen.add(resource_id)
    groups: set[str] = set()
    for target in template.targets(resource_id):
        kind = template.resources[target].type
        if kind == "AWS::EC2::SecurityGroup":
            groups.add(target)
        elif kind == "AWS::EC2::LaunchTemplate" and target not in seen:
            groups |= _security_groups(template, target, seen)
    return groups


def _sg_ingress(template: Template) -> list[tuple[str, str, str]]:
    """(source group, destination group, rule) for every group-to-group ingress rule."""
    rules: list[tuple[str, str, str]] = []
    for reference in template.references:
        if not set(reference.path.split(".")) & _SG_RULE_KEYS:
            continue
        source = template.resources[reference.source]
        if source.type == "AWS::EC2::SecurityGroup":
            rules.append((reference.target, source.id, f"{source.id} inline rule"))
        elif source.type == "AWS::EC2::SecurityGroupIngress":
            for group in template.targets(source.id) - {reference.target}:
                rules.append((reference.target, group, source.id))
    return rules


def derive(template: Template, declaration: Declaration, binding: Binding) -> Scope:
    """Apply the scoping rules of this module to one template."""
    verdicts: dict[str, Verdict] = {}

    def mark(resource: str, category: str, reason: str) -> bool:
        if resource in verdicts or resource not in template.resources:
            return False
        verdicts[resource] = Verdict(resource, category, reason)
        return True

    account_flows = [f for f in binding.flows if declaration.carries_account_data(f)]
    for flow in account_flows:
        for end in (flow.source, flow.sink):
            for host in binding.hosts[end]:
                name = declaration.components[end].name
                mark(host, CDE, f"runs {name}, which handles PAN/CVV (flow {flow.number})")
    seeds = [r for r, v in verdicts.items() if v.category == CDE]
    for seed in seeds:
        for subnet in template.placements[seed].subnets:
            for rid, placement in sorted(template.placements.items()):
                if subnet in placement.subnets and template.resources[rid].type in _SYSTEMS:
                    mark(rid, CDE, f"shares subnet {subnet} with {seed} (no segmentation)")
    cde = {r for r, v in verdicts.items() if v.category == CDE}
    cde_components = tuple(
        key for key, hosts in binding.hosts.items() if hosts and set(hosts) & cde
    ) + tuple(
        key
        for key, c in declaration.components.items()
        if not c.hosted and any(key in (f.source, f.sink) for f in account_flows)
    )

    for rid in sorted(cde):
        for target in sorted(template.targets(rid)):
            mark(target, CONNECTED, f"referenced by {rid} (CDE)")
        for source in sorted(template.sources(rid)):
            mark(source, CONNECTED, f"references {rid} (CDE)")
    for flow in binding.flows:
        for here, there in ((flow.source, flow.sink), (flow.sink, flow.source)):
            if here in cde_components:
                for host in binding.hosts.get(there, ()):
                    mark(host, CONNECTED, f"flow {flow.number} with {here} (CDE)")
    rules = _sg_ingress(template)
    groups = {rid: _security_groups(template, rid, set()) for rid in template.resources}
    for rid in sorted(cde):
        for source_group, destination_group, rule in rules:
            if destination_group in groups[rid]:
                systems = (r for r in template.resources if template.resources[r].type in _SYSTEMS)
                for other in sorted(r for r in systems if source_group in groups[r]):
                    mark(other, CONNECTED, f"may connect to {rid} ({rule})")
    trail = _follow_audit_trail(declaration, binding, cde_components, mark)

    changed = True
    while changed:
        changed = False
        roots = cde | trail | {r for r in verdicts if template.resources[r].type in ATTACHMENTS}
        stack, visited = sorted(roots), set()
        while stack:
            rid = stack.pop()
            if rid in visited:
                continue
            visited.add(rid)
            if rid not in roots and template.resources[rid].type in _SYSTEMS:
                continue  # another system's own dependencies are not the CDE's
            for target in sorted(template.targets(rid)):
                changed |= mark(target, IMPACTING, f"{rid} depends on it")
                stack.append(target)
        for rid in sorted(template.resources):
            if rid in verdicts or template.resources[rid].type not in ATTACHMENTS:
                continue
            touched = sorted(template.targets(rid) & verdicts.keys())
            if touched:
                changed |= mark(rid, IMPACTING, f"changes the configuration of {touched[0]}")
    for rid in template.resources:
        mark(rid, OUT, "no reference, flow or network path to the CDE")
    return Scope(verdicts, cde_components, tuple(f.number for f in account_flows))


def _follow_audit_trail(
    declaration: Declaration,
    binding: Binding,
    cde_components: tuple[str, ...],
    mark: Callable[[str, str, str], bool],
) -> set[str]:
    """Mark the hosts that audit events from the CDE flow into; return them."""
    reached = set(cde_components)
    frontier = list(cde_components)
    hosts: set[str] = set()
    while frontier:
        here = frontier.pop()
        for flow in binding.flows:
            sink = declaration.components[flow.sink]
            if flow.source != here or "audit" not in flow.data or sink.kind != "datastore":
                continue
            if flow.sink not in reached:
                reached.add(flow.sink)
                frontier.append(flow.sink)
                for host in binding.hosts.get(flow.sink, ()):
                    mark(host, CONNECTED, f"keeps the CDE's audit trail (flow {flow.number})")
                    hosts.add(host)
    return hosts
