"""PCI DSS scope derived from the model: which template resources are in the cardholder
data environment, which are connected to it or can affect its security, and which are out.

The rules, in this order (each resource keeps the first category found; a later rule may
add requirements, such as 6.4.3 and 11.6.1 for the payment page's host):

1. **CDE**: a resource at an end of a flow carrying PAN or CVV (bound to the resources
   the template's permissions connect), and a system sharing a subnet with one where no
   security group stands between them.
2. **Connected-to**:
   - a data store or process a CDE resource may read, write or invoke, or that may invoke
     or write a CDE resource (derived permissions; secrets and keys come under rule 3);
   - a system that security groups let open a connection to a CDE system (security
     groups are segmentation controls: a system they keep apart is not connected), and
     the NAT gateways the CDE's subnets route through;
   - the host of a component exchanging a declared flow with a CDE resource;
   - whatever the CDE's audit stream reaches, followed through every write and
     invocation (log groups, subscriptions, streams, the archive bucket, the projector
     and the ledger it writes).
3. **Security-impacting**:
   - the host of the payment page (a flow carrying a ``payment_page`` data class): whoever
     changes that page reads every card keyed into it (6.4.3, 11.6.1);
   - every role a CDE or connected-to resource runs with, and every policy attached to
     such a role (inline, ``RolePolicy``, ``Policy``, ``ManagedPolicy``): a grant to a CDE
     role changes what the CDE can reach;
   - whoever may read a secret or decrypt with a key the CDE uses, or may change a CDE
     resource (``lambda:Update*``, ``iam:PassRole``, ``*``), and the roles that let it;
   - the secrets and keys the CDE reads or decrypts with;
   - the segmentation controls of a VPC holding a CDE or connected-to system: security
     groups and their rules, network ACLs and their entries, route tables, routes and
     their associations, gateways;
   - anything an in-scope resource depends on (the references it makes, followed to the
     end, but not into another system's own dependencies), and every attachment that
     changes an in-scope resource.
Everything else is out of scope: nothing connects it to the CDE.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from cardline.compliance.flows import Binding, Declaration
from cardline.compliance.permissions import (
    CHANGE,
    DECRYPT,
    INVOKE,
    READ,
    WRITE,
    Permissions,
)
from cardline.compliance.template import Template

CDE = "CDE"
CONNECTED = "connected-to"
IMPACTING = "security-impacting"
OUT = "out of scope"
CATEGORIES = (CDE, CONNECTED, IMPACTING, OUT)
PAYMENT_PAGE_REQUIREMENTS = ("6.4.3", "11.6.1")

# Resources that put a network interface into their subnet(s).
SYSTEMS = {
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
    "AWS::IAM::RolePolicy",
    "AWS::IAM::InstanceProfile",
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
    "AWS::SQS::QueuePolicy",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::KMS::Alias",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Authorizer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::Logs::SubscriptionFilter",
    "AWS::EC2::VPCEndpoint",
    "AWS::WAFv2::LoggingConfiguration",
    "AWS::ApiGateway::BasePathMapping",
    "AWS::ApiGateway::BasePathMappingV2",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::Connect::IntegrationAssociation",
}
# Segmentation controls (PCI DSS 1.2, 1.3, 1.4): they decide what reaches what in a VPC.
SEGMENTATION = {
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::NetworkAcl",
    "AWS::EC2::NetworkAclEntry",
    "AWS::EC2::SubnetNetworkAclAssociation",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::NetworkFirewall::Firewall",
    "AWS::NetworkFirewall::FirewallPolicy",
    "AWS::NetworkFirewall::RuleGroup",
}
# Systems that carry others' traffic but open no connection of their own.
_RELAYS = {"AWS::EC2::NatGateway", "AWS::EC2::VPCEndpoint"}
_CREDENTIALS = {"AWS::SecretsManager::Secret", "AWS::KMS::Key"}
_SG_RULE_KEYS = {"SourceSecurityGroupId", "SourceSecurityGroupName"}


@dataclass(frozen=True)
class Verdict:
    resource: str
    category: str
    reason: str
    requirements: tuple[str, ...] = ()  # requirements this resource is in scope for, by name


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


@dataclass
class _Marks:
    template: Template
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    def mark(self, resource: str, category: str, reason: str) -> bool:
        if resource in self.verdicts or resource not in self.template.resources:
            return False
        self.verdicts[resource] = Verdict(resource, category, reason)
        return True

    def require(self, resource: str, requirements: tuple[str, ...], reason: str) -> None:
        """At least security-impacting, and named for ``requirements``."""
        if not self.mark(resource, IMPACTING, reason):
            old = self.verdicts[resource]
            joined = old.reason if reason in old.reason else f"{old.reason}; {reason}"
            extra = tuple(r for r in requirements if r not in old.requirements)
            self.verdicts[resource] = Verdict(
                resource, old.category, joined, old.requirements + extra
            )
        else:
            self.verdicts[resource] = Verdict(resource, IMPACTING, reason, requirements)

    def of(self, *categories: str) -> set[str]:
        return {r for r, v in self.verdicts.items() if v.category in categories}


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


def _cidr_ingress(template: Template) -> list[tuple[str, object, str]]:
    """(destination group, CIDR value, rule) for every CIDR ingress rule."""
    rules: list[tuple[str, object, str]] = []
    for security_group in template.of_type("AWS::EC2::SecurityGroup"):
        for inline in security_group.properties.get("SecurityGroupIngress") or []:
            if isinstance(inline, dict) and "CidrIp" in inline:
                rules.append(
                    (security_group.id, inline["CidrIp"], f"{security_group.id} inline rule")
                )
    for rule in template.of_type("AWS::EC2::SecurityGroupIngress"):
        if "CidrIp" in rule.properties:
            for group in template.targets(rule.id):
                if template.resources[group].type == "AWS::EC2::SecurityGroup":
                    rules.append((group, rule.properties["CidrIp"], rule.id))
    return rules


def _subnet_cidr(
    template: Template, subnet: str
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    value = template.resources[subnet].properties.get("CidrBlock")
    try:
        return ipaddress.ip_network(str(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _admits(template: Template, cidr: object, system: str) -> bool:
    """Whether an ingress CIDR covers the subnets ``system`` sits in."""
    vpc = template.placements[system].vpc
    if isinstance(cidr, dict) and "Fn::GetAtt" in cidr:
        target = cidr["Fn::GetAtt"]
        name = target[0] if isinstance(target, list) else str(target).split(".")[0]
        return name == vpc
    value = template.value(cidr)
    if not isinstance(value, str):
        return False  # a parameter without a default: an address outside the template
    try:
        network = ipaddress.ip_network(value)
    except ValueError:
        return False
    if network.prefixlen == 0:
        return True
    subnets = [_subnet_cidr(template, s) for s in template.placements[system].subnets]
    return any(s is not None and s.subnet_of(network) for s in subnets)  # type: ignore[arg-type]


def derive(
    template: Template, declaration: Declaration, binding: Binding, permissions: Permissions
) -> Scope:
    """Apply the scoping rules of this module to one template."""
    marks = _Marks(template)
    mark = marks.mark
    kinds = {rid: r.type for rid, r in template.resources.items()}
    groups = {rid: _security_groups(template, rid, set()) for rid in template.resources}

    # 1. CDE: the ends of the flows carrying PAN/CVV, then unsegmented subnet neighbours.
    account_flows = [f for f in binding.flows if declaration.carries_account_data(f)]
    for flow in account_flows:
        for host, key in [(s, flow.source) for s in flow.source_hosts] + [
            (t, flow.sink) for t in flow.sink_hosts
        ]:
            name = declaration.components[key].name
            mark(host, CDE, f"runs {name}, which handles PAN/CVV (flow {flow.number})")
    seeds = sorted(marks.of(CDE))
    cidr_rules = _cidr_ingress(template)
    group_rules = _sg_ingress(template)
    for seed in seeds:
        for subnet in template.placements[seed].subnets:
            for rid, placement in sorted(template.placements.items()):
                if subnet not in placement.subnets or kinds[rid] not in SYSTEMS:
                    continue
                if not groups[seed]:  # nothing filters what reaches the seed: one segment
                    mark(rid, CDE, f"shares subnet {subnet} with {seed}, no security group")
    cde = marks.of(CDE)
    cde_components = tuple(
        key for key, hosts in binding.hosts.items() if hosts and set(hosts) & cde
    ) + tuple(
        key
        for key, c in declaration.components.items()
        if not c.hosted and any(key in (f.source, f.sink) for f in account_flows)
    )

    # 2. Connected-to.
    for rid in sorted(cde):
        for access in permissions.of(rid):
            if (
                access.verb in (READ, WRITE, INVOKE)
                and kinds.get(access.target) not in _CREDENTIALS
            ):
                mark(access.target, CONNECTED, f"{rid} (CDE) may {access.verb} it ({access.via})")
        for access in permissions.to(rid):
            if access.verb in (WRITE, INVOKE):
                mark(access.principal, CONNECTED, f"may {access.verb} {rid} (CDE) ({access.via})")
    systems = sorted(r for r in template.resources if kinds[r] in SYSTEMS - _RELAYS)
    for rid in sorted(cde):
        for source_group, destination_group, rule in group_rules:
            if destination_group in groups[rid]:
                for other in systems:
                    if source_group in groups[other]:
                        mark(other, CONNECTED, f"may connect to {rid} ({rule})")
        for destination_group, cidr, rule in cidr_rules:
            if destination_group in groups[rid]:
                for other in systems:
                    if (
                        other != rid
                        and template.placements[other].vpc
                        and _admits(template, cidr, other)
                    ):
                        mark(other, CONNECTED, f"may connect to {rid} ({rule})")
        for gateway in _relays(template, rid):
            mark(gateway, CONNECTED, f"carries {rid}'s (CDE) traffic (its subnets' routes)")
    for flow in binding.flows:
        for a, b in flow.pairs:
            for here, there in ((a, b), (b, a)):
                if here in cde and there is not None and kinds[there] not in _CREDENTIALS:
                    mark(there, CONNECTED, f"flow {flow.number} with {here} (CDE)")
    trail = _follow_audit_trail(template, permissions, cde, mark)

    # 3. Security-impacting.
    for flow in binding.flows:
        if any(declaration.data[d].payment_page for d in flow.data):
            for host in flow.source_hosts:
                marks.require(
                    host,
                    PAYMENT_PAGE_REQUIREMENTS,
                    f"serves the payment page (flow {flow.number}): in scope for "
                    + " and ".join(PAYMENT_PAGE_REQUIREMENTS),
                )
    _identity_rules(template, permissions, marks, cde)
    _segmentation_rules(template, marks)
    changed = True
    while changed:
        changed = False
        roots = cde | trail | {r for r in marks.verdicts if kinds[r] in ATTACHMENTS}
        stack, visited = sorted(roots), set()
        while stack:
            rid = stack.pop()
            if rid in visited:
                continue
            visited.add(rid)
            if rid not in roots and kinds[rid] in SYSTEMS:
                continue  # another system's own dependencies are not the CDE's
            for target in sorted(template.targets(rid)):
                changed |= mark(target, IMPACTING, f"{rid} depends on it")
                stack.append(target)
        for rid in sorted(template.resources):
            if rid in marks.verdicts or kinds[rid] not in ATTACHMENTS:
                continue
            touched = sorted(template.targets(rid) & marks.verdicts.keys())
            if touched:
                changed |= mark(rid, IMPACTING, f"changes the configuration of {touched[0]}")
        if _segmentation_rules(template, marks):
            changed = True
    for rid in template.resources:
        mark(rid, OUT, "no permission, flow, network path or dependency reaches the CDE")
    return Scope(marks.verdicts, cde_components, tuple(f.number for f in account_flows))


def _relays(template: Template, system: str) -> list[str]:
    """The NAT gateways and gateway endpoints the route tables of ``system``'s subnets
    send traffic through."""
    subnets = set(template.placements[system].subnets)
    tables = {
        t
        for a in template.of_type("AWS::EC2::SubnetRouteTableAssociation")
        if template.targets(a.id) & subnets
        for t in template.targets(a.id)
        if template.resources[t].type == "AWS::EC2::RouteTable"
    }
    gateways = {
        g
        for route in template.of_type("AWS::EC2::Route")
        if template.targets(route.id) & tables
        for g in template.targets(route.id)
        if template.resources[g].type == "AWS::EC2::NatGateway"
    }
    endpoints = {
        e.id for e in template.of_type("AWS::EC2::VPCEndpoint") if template.targets(e.id) & tables
    }
    return sorted(gateways | endpoints)


def _identity_rules(
    template: Template, permissions: Permissions, marks: _Marks, cde: set[str]
) -> None:
    """Roles and policies behind in-scope systems; whoever can read the CDE's secrets,
    decrypt with its keys or change it."""
    in_scope = sorted(marks.of(CDE, CONNECTED))
    for rid in in_scope:
        for role in permissions.runs_as.get(rid, ()):
            what = "CDE" if rid in cde else "connected-to"
            marks.mark(
                role, IMPACTING, f"{rid} ({what}) runs with it: it decides what {rid} may reach"
            )
    for role in sorted(
        r for r, v in marks.verdicts.items() if template.resources[r].type == "AWS::IAM::Role"
    ):
        for policy in permissions.policies.get(role, ()):
            marks.mark(policy, IMPACTING, f"grants {role} (in scope) permissions")
    secrets: dict[str, str] = {}
    for rid in sorted(cde):
        for access in permissions.of(rid):
            if (
                access.verb in (READ, DECRYPT)
                and template.resources[access.target].type in _CREDENTIALS
            ):
                secrets.setdefault(access.target, rid)
    for target, user in sorted(secrets.items()):
        marks.mark(target, IMPACTING, f"{user} (CDE) reads or decrypts with it")
    for access in permissions.accesses:
        reason = None
        if access.target in secrets and access.verb in (READ, DECRYPT):
            reason = f"may {access.verb} {access.target}, which the CDE uses ({access.via})"
        elif access.target in cde and access.verb == CHANGE:
            reason = f"may change {access.target} (CDE) ({access.via})"
        if reason is None:
            continue
        marks.mark(access.principal, IMPACTING, reason)
        if access.role:
            marks.mark(access.role, IMPACTING, reason)
            for policy in permissions.policies.get(access.role, ()):
                marks.mark(policy, IMPACTING, f"grants {access.role} {reason}")


def _segmentation_rules(template: Template, marks: _Marks) -> bool:
    """Segmentation controls of every VPC holding an in-scope system."""
    vpcs = {
        template.placements[r].vpc
        for r in marks.of(CDE, CONNECTED)
        if template.resources[r].type in SYSTEMS and template.placements[r].vpc
    }
    changed = False
    for rid, resource in sorted(template.resources.items()):
        if resource.type in SEGMENTATION and template.placements[rid].vpc in vpcs:
            vpc = template.placements[rid].vpc
            changed |= marks.mark(
                rid, IMPACTING, f"segmentation control of {vpc}, which holds the CDE"
            )
    return changed


def _follow_audit_trail(
    template: Template,
    permissions: Permissions,
    cde: set[str],
    mark: Callable[[str, str, str], bool],
) -> set[str]:
    """Mark what the CDE's writes reach, through every write and invocation; return it.
    (A bucket's own server access logs are about the bucket, not the stream: not followed.)"""
    reached: set[str] = set()
    frontier = sorted(cde)
    while frontier:
        here = frontier.pop()
        if template.resources[here].type == "AWS::S3::Bucket":
            continue
        for access in permissions.of(here):
            if access.target in cde or access.target not in template.resources:
                continue
            if access.verb != WRITE and not (access.verb == INVOKE and here not in cde):
                continue  # the stream starts with what the CDE writes
            if access.target not in reached:
                reached.add(access.target)
                frontier.append(access.target)
                mark(
                    access.target,
                    CONNECTED,
                    f"receives the CDE's audit stream from {here} ({access.via})",
                )
    return reached
