"""The connections of one architecture (PCI DSS 1.2.3): network zones, the systems in them,
and every connection as initiator -> responder with its protocol, port and the controls it
crosses.

Read from the template: security groups (inline and standalone rules), network ACLs, route
tables (internet and NAT gateways, gateway endpoints), subnets, Lambda permissions (who may
invoke: principal and source ARN), the API's routes and authorizers, WAF associations,
VPC endpoints, and the AWS service endpoints each compute role may call. What no template
holds (the caller's phone, the call centre, the telephony provider, PayPal) comes from
``PARTIES`` and ``APPLICATION_CONNECTIONS`` below, bound to template resources through the
declared components of ``flows.yaml``.

IAM and log plumbing (roles, policies, log groups, subscriptions, archive delivery) are no
part of this picture: they are not network connections an assessor checks in 1.2.3.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cardline.compliance.architecture import Architecture
from cardline.compliance.facts import EXECUTE_API_DISABLED, execute_api_policy, resolved
from cardline.compliance.routes import (
    ANY,
    default_routes,
    firewall_allow_list,
    ref,
    route_table_of,
    sub_text,
    way_out,
)
from cardline.compliance.template import Template

_FUNCTIONS = ("AWS::Serverless::Function", "AWS::Lambda::Function")
_APIS = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
_SG_KEYS = {"SecurityGroups", "SecurityGroupIds", "GroupSet"}
_PROTOCOLS = {"6": "TCP", "17": "UDP", "-1": "any", "tcp": "TCP", "udp": "UDP", "all": "any"}

# IAM service prefix -> (endpoint name, host); the others (logs, X-Ray, STS, IAM) are plumbing.
SERVICE_ENDPOINTS = {
    "secretsmanager": ("Secrets Manager", "secretsmanager.<region>.amazonaws.com"),
    "kms": ("KMS", "kms.<region>.amazonaws.com"),
    "dynamodb": ("DynamoDB", "dynamodb.<region>.amazonaws.com"),
    "sqs": ("SQS", "sqs.<region>.amazonaws.com"),
    "sns": ("SNS", "sns.<region>.amazonaws.com"),
    "s3": ("S3", "s3.<region>.amazonaws.com"),
    "cognito-idp": ("Cognito user pools", "cognito-idp.<region>.amazonaws.com"),
    "connect": ("Amazon Connect API", "connect.<region>.amazonaws.com"),
    "ssm": ("Systems Manager", "ssm, ssmmessages, ec2messages.<region>.amazonaws.com"),
}
ENDPOINTS = "aws_endpoints"
# AWS managed policies that open connections of their own.
_MANAGED_POLICY_SERVICES = {"AmazonSSMManagedInstanceCore": ("ssm",)}

# Zones no template holds, and where they sit (None: top level).
ZONES: dict[str, tuple[str, str | None]] = {
    "pstn": ("Public telephone network (PSTN)", None),
    "callcentre": (
        "Call centre: LAN, Wi-Fi, remote agents (the merchant's; no template holds it)",
        None,
    ),
    "admin": ("Administrators' network (no template holds it)", None),
    "internet": ("Internet (untrusted)", None),
    "telephony": ("Telephony provider: service provider, own PCI DSS AOC", "internet"),
    "paypal": ("PayPal, over the Internet: service provider, own PCI DSS AOC", None),
    "aws": ("Our AWS account (one region)", None),
    "regional": ("AWS-managed regional services, in no VPC of ours", "aws"),
    "endpoints": ("AWS service endpoints (regional, HTTPS, SigV4)", None),
}


@dataclass(frozen=True)
class Party:
    """A system outside every template: ``component`` ties it to ``flows.yaml``."""

    key: str
    label: str
    zone: str
    component: str | None = None


PARTIES = (
    Party("caller_phone", "Cardholder's phone", "pstn", "cardholder"),
    Party("agent_browser", "Agent workstation: browser\n(agent console)", "callcentre", "agent"),
    Party("agent_softphone", "Agent softphone / headset", "callcentre", "agent"),
    Party("admins", "Administrators' hosts", "admin"),
    Party("anyone", "Any host on the Internet", "internet"),
    Party("telephony", "Telephony provider\n(voice; Twilio <Pay>)", "telephony", "telephony"),
    Party("paypal", "PayPal REST API\napi-m.paypal.com", "paypal", "paypal"),
)


# The inventory's items (infra/inventory.yaml, by id) that a drawn node or zone stands for;
# the diagram lists every other item of the architecture's under its legend.
INVENTORY_DRAWN = {
    "agent_browser": "agent-workstations",
    "agent_softphone": "agent-softphones",
    "callcentre": "call-centre-network",
    "connect_instance": "connect-instance",
}


@dataclass(frozen=True)
class AppConnection:
    """A connection the application opens (or receives) that no template declares."""

    source: str  # a party key, or a component key of flows.yaml (its hosts open it)
    target: str  # a party key, or ``edge`` / a component key (its hosts receive it)
    protocol: str
    port: str
    service: str
    what: str


APPLICATION_CONNECTIONS = (
    AppConnection("caller_phone", "telephony", "voice", "-", "PSTN call", "the caller rings"),
    AppConnection(
        "agent_softphone",
        "telephony",
        "TCP/UDP",
        "provider's",
        "softphone (SIP/WebRTC)",
        "the agent hears the caller",
    ),
    AppConnection(
        "agent_browser", "edge", "TCP", "443", "HTTPS", "agent console, POST /v1/payments"
    ),
    AppConnection("telephony", "edge", "TCP", "443", "HTTPS", "POST /v1/twilio/pay (basic auth)"),
    AppConnection("paypal", "edge", "TCP", "443", "HTTPS", "POST /v1/webhooks/paypal"),
    AppConnection("anyone", "edge", "TCP", "443", "HTTPS", "anyone may try the public endpoint"),
    AppConnection("charge", "paypal", "TCP", "443", "HTTPS", "orders (PAN, CVV)"),
    AppConnection("ivr", "paypal", "TCP", "443", "HTTPS", "orders (PAN, CVV)"),
    AppConnection("backoffice", "paypal", "TCP", "443", "HTTPS", "refunds, reconciliation"),
)
# Amazon Connect's agent softphone (CCP): signalling and API over TCP 443, media to the
# TURN servers over UDP 3478; the browser opens both, nothing listens at the agent.
_CONNECT_SOFTPHONE = (
    ("TCP", "443", "HTTPS (CCP, signalling)"),
    ("UDP", "3478", "SRTP media (TURN)"),
)


@dataclass(frozen=True)
class Zone:
    key: str
    label: str
    parent: str | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Node:
    """A system on the diagram; ``resource`` is its template resource, if any, and
    ``resources`` every resource it stands for (endpoints alike in every way drawn as one
    node: ``resource`` is the first of them)."""

    key: str
    label: str
    zone: str
    resource: str | None = None
    detail: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hop:
    """One drawn segment of a connection, and the controls applied where it crosses."""

    source: str
    target: str
    controls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Connection:
    """``source`` opens the connection to ``target`` (the initiator is always the source)."""

    number: int
    source: str
    target: str
    protocol: str
    port: str
    service: str
    what: str
    hops: tuple[Hop, ...]
    account_data: bool = False

    @property
    def controls(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for hop in self.hops for c in hop.controls))


@dataclass
class ConnectionMap:
    zones: dict[str, Zone] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)

    def inventory_drawn(self) -> set[str]:
        """The inventory items this map's nodes and zones stand for."""
        return {
            item for key, item in INVENTORY_DRAWN.items() if key in self.nodes or key in self.zones
        }

    def edges(self) -> dict[tuple[str, str], list[tuple[Connection, Hop]]]:
        """Every drawn segment, with the connections that use it, in a stable order."""
        out: dict[tuple[str, str], list[tuple[Connection, Hop]]] = defaultdict(list)
        for connection in self.connections:
            for hop in connection.hops:
                out[(hop.source, hop.target)].append((connection, hop))
        return dict(out)

    def zone_chain(self, zone: str) -> list[str]:
        """``zone`` and every zone around it, innermost first."""
        chain: list[str] = []
        current: str | None = zone
        while current is not None:
            chain.append(current)
            current = self.zones[current].parent
        return chain


# ------------------------------------------------------------------ template readings


@dataclass(frozen=True)
class Rule:
    """One security-group rule: ``peer`` is a CIDR, a parameter name or a group id."""

    group: str
    ingress: bool
    protocol: str
    ports: str
    peer: str
    peer_group: str | None
    name: str

    def allows(self, protocol: str, port: str) -> bool:
        return self.protocol in ("any", protocol) and _in_range(port, self.ports)


def _in_range(port: str, ports: str) -> bool:
    if ports == "all" or not port.isdigit():
        return ports == "all" or port == ports
    low, _, high = ports.partition("-")
    return int(low) <= int(port) <= int(high or low)


def _ports(body: dict[str, Any]) -> str:
    low, high = body.get("FromPort"), body.get("ToPort")
    if isinstance(body.get("PortRange"), dict):
        low, high = body["PortRange"].get("From"), body["PortRange"].get("To")
    if low is None or str(low) == "-1" or (str(low) == "0" and str(high) == "65535"):
        return "all"
    return str(low) if str(low) == str(high) else f"{low}-{high}"


def _name(template: Template, value: Any) -> str:
    """A CIDR or the name of what ``value`` refers to (parameter, resource attribute)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Ref" in value:
            default = template.value(value)
            return str(default) if isinstance(default, str) and default else str(value["Ref"])
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list):
            return ".".join(map(str, attribute))
        if isinstance(attribute, str):
            return attribute
    return "?"


def _rule(template: Template, group: str, ingress: bool, body: dict[str, Any], name: str) -> Rule:
    peer_key = "SourceSecurityGroupId" if ingress else "DestinationSecurityGroupId"
    peer_group = ref(body.get(peer_key))
    cidr = body.get("CidrIp", body.get("CidrIpv6"))
    peer = peer_group or (_name(template, cidr) if cidr is not None else "?")
    protocol = _PROTOCOLS.get(
        str(body.get("IpProtocol", "-1")).lower(), str(body.get("IpProtocol"))
    )
    return Rule(group, ingress, protocol, _ports(body), peer, peer_group, name)


def security_group_rules(template: Template) -> list[Rule]:
    """Every rule of every security group, inline or a resource of its own."""
    rules: list[Rule] = []
    for group in template.of_type("AWS::EC2::SecurityGroup"):
        for key, ingress in (("SecurityGroupIngress", True), ("SecurityGroupEgress", False)):
            for body in group.properties.get(key) or ():
                if isinstance(body, dict):
                    rules.append(_rule(template, group.id, ingress, body, group.id))
    for kind, ingress in (("Ingress", True), ("Egress", False)):
        for standalone in template.of_type(f"AWS::EC2::SecurityGroup{kind}"):
            owner = ref(standalone.properties.get("GroupId"))
            if owner:
                rules.append(_rule(template, owner, ingress, standalone.properties, standalone.id))
    return rules


def _security_groups_of(template: Template, resource_id: str) -> tuple[str, ...]:
    found: set[str] = set()
    for reference in template.references:
        if reference.source != resource_id:
            continue
        target = template.resources[reference.target]
        keys = set(reference.path.split("."))
        if target.type == "AWS::EC2::SecurityGroup" and keys & _SG_KEYS:
            found.add(target.id)
        elif target.type == "AWS::EC2::LaunchTemplate":
            found.update(_security_groups_of(template, target.id))
    return tuple(sorted(found))


@dataclass(frozen=True)
class AclEntry:
    acl: str
    egress: bool
    number: int
    protocol: str
    ports: str
    cidr: str
    allow: bool

    def text(self) -> str:
        way = "out" if self.egress else "in"
        verb = "allow" if self.allow else "deny"
        return f"#{self.number} {way} {verb} {self.protocol} {self.ports} {self.cidr}"


def acl_of(template: Template, subnet: str) -> str | None:
    for association in template.of_type("AWS::EC2::SubnetNetworkAclAssociation"):
        if ref(association.properties.get("SubnetId")) == subnet:
            return ref(association.properties.get("NetworkAclId"))
    return None


def _acl_entries(template: Template, acl: str) -> list[AclEntry]:
    entries = []
    for entry in template.of_type("AWS::EC2::NetworkAclEntry"):
        p = entry.properties
        if ref(p.get("NetworkAclId")) != acl:
            continue
        entries.append(
            AclEntry(
                acl,
                bool(p.get("Egress")),
                int(p.get("RuleNumber", 0)),
                _PROTOCOLS.get(str(p.get("Protocol", "-1")), str(p.get("Protocol"))),
                _ports(p),
                _name(template, p.get("CidrBlock", p.get("Ipv6CidrBlock"))),
                str(p.get("RuleAction", "allow")).lower() == "allow",
            )
        )
    return sorted(entries, key=lambda e: (e.egress, e.number))


def _acl_control(
    template: Template, subnet: str, egress: bool, protocol: str, port: str, peer: str = "0.0.0.0/0"
) -> str:
    """The first entry of ``subnet``'s network ACL that lets ``port`` through from (or to)
    ``peer`` (a CIDR, or the name of the parameter or VPC attribute giving one)."""
    acl = acl_of(template, subnet)
    if acl is None:
        return "NACL: VPC default (allows all)"
    for entry in _acl_entries(template, acl):
        if entry.egress != egress or entry.protocol not in ("any", protocol):
            continue
        if (entry.cidr in ANY or entry.cidr == peer) and _in_range(port, entry.ports):
            return f"NACL {acl} #{entry.number} {'out' if egress else 'in'}"
    return f"NACL {acl}: no rule allows it (denied)"


def _vpc_peer(template: Template, resource_id: str) -> str:
    vpc = template.placements[resource_id].vpc
    return f"{vpc}.CidrBlock" if vpc else "0.0.0.0/0"


def _allowed(destination: str, prefix: str, domains: tuple[str, ...]) -> tuple[str, ...]:
    """The allow-listed domains that let a connection reach ``destination``."""
    if prefix:
        return tuple(d for d in domains if d.startswith(f"{prefix}."))
    if destination == "paypal":
        return tuple(d for d in domains if d == "paypal.com" or d.endswith(".paypal.com"))
    return ()


def _interface_endpoint(template: Template, resource_id: str, prefix: str) -> str | None:
    """An interface endpoint with private DNS in ``resource_id``'s VPC that answers for
    ``prefix``: calls to the service go to it, not out of the VPC."""
    vpc = template.placements[resource_id].vpc
    for endpoint in template.of_type("AWS::EC2::VPCEndpoint"):
        p = endpoint.properties
        if (
            vpc
            and template.placements[endpoint.id].vpc == vpc
            and p.get("VpcEndpointType") == "Interface"
            and p.get("PrivateDnsEnabled") is True
            and sub_text(p.get("ServiceName")).endswith(f".{prefix}")
        ):
            return endpoint.id
    return None


def _gateway_endpoint(template: Template, table: str | None, service: str) -> str | None:
    for endpoint in template.of_type("AWS::EC2::VPCEndpoint"):
        p = endpoint.properties
        tables = {ref(t) for t in p.get("RouteTableIds") or ()}
        name = str(p.get("ServiceName", {}).get("Fn::Sub", p.get("ServiceName", "")))
        if table in tables and name.endswith(f".{service}"):
            return endpoint.id
    return None


def _endpoint_policy(template: Template, endpoint: str) -> str:
    """What a VPC endpoint's policy lets through: its statements by Sid, or AWS's default
    (any action on any resource) when the template gives it none."""
    document = template.resources[endpoint].properties.get("PolicyDocument")
    if not isinstance(document, dict):
        return "endpoint policy: default (full access)"
    statements = document.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    names = [str(s.get("Sid") or f"#{n}") for n, s in enumerate(statements, 1)]
    return f"endpoint policy: {', '.join(names)}"


def _role_of(template: Template, resource_id: str) -> str | None:
    resource = template.resources[resource_id]
    if resource.type in _FUNCTIONS:
        return ref(resource.properties.get("Role")) or f"{resource_id}Role"
    for target in sorted(template.targets(resource_id)):
        kind = template.resources[target].type
        if kind == "AWS::EC2::LaunchTemplate":
            return _role_of(template, target)
        if kind == "AWS::IAM::InstanceProfile":
            roles = template.resources[target].properties.get("Roles") or ()
            return next((r for r in map(ref, roles) if r), None)
    return None


def _statements(template: Template, role: str) -> list[dict[str, Any]]:
    """The Allow statements of ``role``: its inline policies and the policies naming it."""
    documents: list[Any] = []
    body = template.resources.get(role)
    if body is not None:
        documents += [p.get("PolicyDocument") for p in body.properties.get("Policies") or ()]
    for policy in template.of_type("AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
        names = {ref(r) for r in policy.properties.get("Roles") or ()}
        names.add(ref(policy.properties.get("RoleName")))
        if role in names:
            documents.append(policy.properties.get("PolicyDocument"))
    statements: list[dict[str, Any]] = []
    for document in documents:
        for statement in (document or {}).get("Statement") or ():
            if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                statements.append(statement)
    return statements


def service_calls(template: Template, resource_id: str) -> dict[str, tuple[str, ...]]:
    """IAM service prefix -> the template resources this compute's role may call it on."""
    role = _role_of(template, resource_id)
    if role is None:
        return {}
    calls: dict[str, set[str]] = defaultdict(set)
    for statement in _statements(template, role):
        actions = statement.get("Action") or ()
        resources = statement.get("Resource") or ()
        targets = {
            r
            for item in (resources if isinstance(resources, list) else [resources])
            for r in _targets_named(template, item)
        }
        for action in actions if isinstance(actions, list) else [actions]:
            prefix = str(action).split(":", 1)[0]
            if prefix in SERVICE_ENDPOINTS:
                calls[prefix].update(targets)
    managed = (template.resources.get(role) or _EMPTY).properties.get("ManagedPolicyArns") or ()
    for arn in managed:
        text = str(arn.get("Fn::Sub", arn) if isinstance(arn, dict) else arn)
        for name, prefixes in _MANAGED_POLICY_SERVICES.items():
            if text.endswith(f"/{name}"):
                for prefix in prefixes:
                    calls[prefix].add(name)
    return {prefix: tuple(sorted(calls[prefix])) for prefix in sorted(calls)}


@dataclass(frozen=True)
class _Empty:
    properties: dict[str, Any] = field(default_factory=dict)


_EMPTY = _Empty()
_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)")


def _targets_named(template: Template, value: Any) -> list[str]:
    named = ref(value)
    if named:
        return [named] if named in template.resources else []
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        text = sub if isinstance(sub, str) else str(sub[0])
        return [n for n in _SUB_NAME.findall(text) if n in template.resources]
    return []


# ------------------------------------------------------------------ building the map


class _Builder:
    def __init__(self, architecture: Architecture) -> None:
        self.a = architecture
        self.t = architecture.template
        self.map = ConnectionMap()
        self.rules = security_group_rules(self.t)
        # (source, target, protocol, port, service, what, hops, owners of source and target)
        self.pending: list[
            tuple[str, str, str, str, str, str, tuple[Hop, ...], tuple[str, str] | None]
        ] = []
        self.endpoint_services: dict[str, set[str]] = {}
        # component key -> node keys that run it
        self.component_nodes: dict[str, list[str]] = defaultdict(list)

    # -- zones and nodes

    def zone(self, key: str, label: str, parent: str | None, notes: tuple[str, ...] = ()) -> str:
        self.map.zones.setdefault(key, Zone(key, label, parent, notes))
        return key

    def node(
        self,
        key: str,
        label: str,
        zone: str,
        resource: str | None = None,
        detail: tuple[str, ...] = (),
        resources: tuple[str, ...] = (),
    ) -> str:
        if resource and not resources:
            resources = (resource,)
        self.map.nodes.setdefault(key, Node(key, label, zone, resource, detail, resources))
        return key

    def party(self, key: str) -> str:
        party = next(p for p in PARTIES if p.key == key)
        zone_label, parent = ZONES[party.zone]
        if parent:
            self.zone(parent, ZONES[parent][0], ZONES[parent][1])
        self.zone(party.zone, zone_label, parent)
        return self.node(party.key, party.label, party.zone)

    def endpoint(self, prefix: str, serves: tuple[str, ...]) -> str:
        """The one node standing for AWS's regional service endpoints; each service it
        is called for, and the template resources behind it, become a line of its label."""
        self.zone("endpoints", *ZONES["endpoints"])
        name = SERVICE_ENDPOINTS[prefix][0]
        self.endpoint_services.setdefault(name, set()).update(serves)
        detail = tuple(
            f"{service}: {', '.join(sorted(held))}" if held else service
            for service, held in sorted(self.endpoint_services.items())
        )
        self.map.nodes[ENDPOINTS] = Node(
            ENDPOINTS,
            "AWS service endpoints\n<service>.<region>.amazonaws.com",
            "endpoints",
            None,
            detail,
        )
        return ENDPOINTS

    def connect(
        self,
        source: str,
        target: str,
        protocol: str,
        port: str,
        service: str,
        what: str,
        hops: tuple[Hop, ...],
        owners: tuple[str, str] | None = None,
    ) -> None:
        """``source`` opens a connection to ``target`` (nodes); ``owners``: the resources
        at its ends, where a node stands for more than one."""
        self.pending.append((source, target, protocol, port, service, what, hops, owners))

    def owner(self, node: str) -> str:
        """The resource (or party) a node draws: ``LoadBalancer@SubnetA`` -> ``LoadBalancer``."""
        return self.map.nodes[node].resource or node

    def finish(self) -> ConnectionMap:
        """One connection per (initiator, responder, protocol, port), its hops merged."""
        merged: dict[tuple[str, str, str, str], list[Any]] = {}
        pan_pairs = self._pan_pairs()
        for source, target, protocol, port, service, what, hops, owners in self.pending:
            ends = owners or (self.owner(source), self.owner(target))
            key = (*ends, protocol, port)
            entry = merged.setdefault(key, [service, [], [], False])
            if what not in entry[1]:
                entry[1].append(what)
            entry[2] += [h for h in hops if h not in entry[2]]
            entry[3] = entry[3] or (source, target) in pan_pairs
        for number, ((source, target, protocol, port), (service, whats, hops, pan)) in enumerate(
            merged.items(), start=1
        ):
            self.map.connections.append(
                Connection(
                    number,
                    source,
                    target,
                    protocol,
                    port,
                    service,
                    "; ".join(whats),
                    tuple(hops),
                    account_data=pan,
                )
            )
        return self.map

    def _pan_pairs(self) -> set[tuple[str, str]]:
        """Node pairs whose components exchange PAN/CVV in a declared flow (either way),
        and every segment of a connection between such components."""
        flows = self.a.binding.flows
        declaration_pan = {
            (f.source, f.sink) for f in flows if f.data and {"pan", "cvv"} & set(f.data)
        }
        owners: dict[str, set[str]] = defaultdict(set)
        for component, nodes in self.component_nodes.items():
            for node in nodes:
                owners[node].add(component)
        pairs: set[tuple[str, str]] = set()
        for source, target, *_rest in self.pending:
            ends = [(a, b) for a in owners[source] for b in owners[target]]
            if any(e in declaration_pan or e[::-1] in declaration_pan for e in ends):
                pairs.add((source, target))
        return pairs


_KINDS = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::AutoScaling::AutoScalingGroup": "EC2 Auto Scaling group",
    "AWS::EC2::Instance": "EC2 instance",
    "AWS::EC2::NatGateway": "NAT gateway",
    "AWS::EC2::InternetGateway": "internet gateway",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::Serverless::Function": "Lambda function",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::Serverless::Api": "API Gateway REST API",
    "AWS::ApiGateway::RestApi": "API Gateway REST API",
    "AWS::Events::Rule": "EventBridge rule",
}


def _node_label(template: Template, resource_id: str, extra: str = "") -> str:
    kind = template.resources[resource_id].type
    return f"{resource_id}{extra}\n{_KINDS.get(kind, kind.split('::', 1)[-1])}"


def build(architecture: Architecture) -> ConnectionMap:
    """The connection map of ``architecture``, from its template and the parties above."""
    b = _Builder(architecture)
    t = b.t
    b.zone("aws", *ZONES["aws"])
    # Where each compute resource sits: one node per subnet it spans.
    placed: dict[str, list[str]] = {}
    for vpc in sorted({p.vpc for p in t.placements.values() if p.vpc}):
        b.zone(f"vpc_{vpc}", _vpc_label(t, vpc), "aws")
    for subnet in sorted(t.subnets.values(), key=lambda s: (s.zone, not s.public, s.id)):
        if subnet.vpc is None:
            continue
        az = b.zone(
            f"az_{subnet.vpc}_{subnet.zone}",
            f"Availability zone: {subnet.zone}",
            f"vpc_{subnet.vpc}",
        )
        b.zone(f"subnet_{subnet.id}", _subnet_label(t, subnet.id), az, _subnet_notes(t, subnet.id))
    alike = _alike_endpoints(t)
    for resource in sorted(t.resources.values(), key=lambda r: r.id):
        if not _drawn(resource.type):
            continue
        placement = t.placements[resource.id]
        if resource.id in alike:
            placed[resource.id] = _endpoint_set(b, alike[resource.id])
        elif placement.subnets:
            keys = []
            for subnet_id in placement.subnets:
                key = resource.id if len(placement.subnets) == 1 else f"{resource.id}@{subnet_id}"
                suffix = "" if len(placement.subnets) == 1 else f" ({t.subnets[subnet_id].zone})"
                keys.append(
                    b.node(
                        key,
                        _node_label(t, resource.id, suffix),
                        f"subnet_{subnet_id}",
                        resource.id,
                        (*_sg_detail(t, resource.id), *_firewall_detail(t, resource.id)),
                    )
                )
            placed[resource.id] = keys
        elif placement.vpc:
            placed[resource.id] = [
                b.node(
                    resource.id, _node_label(t, resource.id), f"vpc_{placement.vpc}", resource.id
                )
            ]
        else:
            b.zone("regional", *ZONES["regional"])
            placed[resource.id] = [
                b.node(
                    resource.id,
                    _node_label(t, resource.id),
                    "regional",
                    resource.id,
                    _regional_detail(t, resource.id),
                )
            ]
    for component, hosts in architecture.binding.hosts.items():
        for host in hosts:
            b.component_nodes[component] += placed.get(host, [])
    for party in PARTIES:
        if party.component:
            b.component_nodes[party.component].append(party.key)
    _inbound(b, placed)
    _security_group_peers(b, placed)
    _invocations(b, placed)
    _outbound(b, placed)
    return _unconnected_together(b.finish())


def _unconnected_together(model: ConnectionMap) -> ConnectionMap:
    """Systems of one kind in one zone with no connection at all (rules that alert on
    changes) drawn as one node naming each: nothing to draw to them, so one box says it."""
    ends = {end for pair in model.edges() for end in pair}
    alike: dict[tuple[str, str], list[Node]] = defaultdict(list)
    for node in model.nodes.values():
        if node.key not in ends and node.resource and "\n" in node.label:
            alike[(node.zone, node.label.split("\n", 1)[1])].append(node)
    for (zone, kind), nodes in alike.items():
        if len(nodes) < 2:
            continue
        for node in nodes:
            del model.nodes[node.key]
        key = "+".join(n.key for n in nodes)
        label = "\n".join([f"{kind}s, no connection", *(n.label.split("\n", 1)[0] for n in nodes)])
        resources = tuple(r for n in nodes for r in n.resources)
        model.nodes[key] = Node(key, label, zone, resources[0], (), resources)
    return model


def _drawn(resource_type: str) -> bool:
    """Systems that open or receive connections, and the gateways they pass through."""
    return resource_type in {
        *_FUNCTIONS,
        *_APIS,
        "AWS::EC2::Instance",
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::EC2::NatGateway",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::VPCEndpoint",
        "AWS::EC2::NetworkFirewall",
        "AWS::NetworkFirewall::Firewall",
        "AWS::Events::Rule",
    }


def _vpc_label(template: Template, vpc: str) -> str:
    cidr = template.resources[vpc].properties.get("CidrBlock")
    return f"VPC {vpc} {cidr}" if isinstance(cidr, str) else f"VPC {vpc}"


def _subnet_label(template: Template, subnet: str) -> str:
    kind = "public" if template.subnets[subnet].public else "private"
    cidr = template.resources[subnet].properties.get("CidrBlock")
    return f"{kind} subnet {subnet} {cidr}" if isinstance(cidr, str) else f"{kind} subnet {subnet}"


def _subnet_notes(template: Template, subnet: str) -> tuple[str, ...]:
    """The routes and the network ACL of ``subnet``, shown on its box."""
    vpc_cidrs = {f"{v}.CidrBlock" for v in (r.id for r in template.of_type("AWS::EC2::VPC"))}

    def peer(cidr: str) -> str:
        return "any" if cidr in ANY else "VPC" if cidr in vpc_cidrs else cidr

    notes: list[tuple[str, str]] = []  # (what, its entries)
    table = route_table_of(template, subnet)
    if table:
        routes = ", ".join(
            f"{r.destination} -> {r.gateway or '?'}" for r in default_routes(template, table)
        )
        notes.append((f"route table {table}:", routes or "0.0.0.0/0 -> none"))
    acl = acl_of(template, subnet)
    if acl:
        entries = _acl_entries(template, acl)
        for egress in (False, True):
            rules = ", ".join(
                f"{'all' if e.ports == 'all' else e.ports} {'to' if egress else 'from'} "
                f"{peer(e.cidr)}"
                for e in entries
                if e.egress == egress and e.allow
            )
            notes.append((f"NACL {acl} {'out' if egress else 'in'}:", rules or "none"))
    else:
        notes.append(("NACL: the VPC's default", "allows all"))
    # A narrow column: each heading on a line of its own, its entries indented below it.
    return tuple(
        line
        for head, body in notes
        for line in (head, *textwrap.wrap(body, 30, initial_indent="  ", subsequent_indent="  "))
    )


def _sg_detail(template: Template, resource_id: str) -> tuple[str, ...]:
    return tuple(f"SG {g}" for g in _security_groups_of(template, resource_id))


def _firewall_detail(template: Template, resource_id: str) -> tuple[str, ...]:
    """A Network Firewall's allow-list, written once on its node (the connections through
    it name the policy and the list)."""
    if template.resources[resource_id].type != "AWS::NetworkFirewall::Firewall":
        return ()
    policy, groups, domains = firewall_allow_list(template, resource_id)
    if not domains:
        return (f"policy {policy}: no domain allow-list",)
    return (f"policy {policy}", f"allow-list {groups}", "passes only (TLS SNI):", *domains)


def _alike_endpoints(template: Template) -> dict[str, tuple[str, ...]]:
    """Interface VPC endpoints in the same subnets behind the same security groups, two
    or more: each endpoint -> its set. A connection reaches each of them the same way (the
    rules of those groups, the ACLs of those subnets), so the drawing gives each set one
    node per subnet; the connections stay one per endpoint."""
    sets: dict[tuple[tuple[str, ...], tuple[str, ...], Any], list[str]] = defaultdict(list)
    for endpoint in sorted(template.of_type("AWS::EC2::VPCEndpoint"), key=lambda r: r.id):
        p = endpoint.properties
        subnets = template.placements[endpoint.id].subnets
        if p.get("VpcEndpointType") != "Interface" or not subnets:
            continue
        groups = _security_groups_of(template, endpoint.id)
        sets[(subnets, groups, p.get("PrivateDnsEnabled"))].append(endpoint.id)
    return {e: tuple(ids) for ids in sets.values() if len(ids) > 1 for e in ids}


def _endpoint_set(b: _Builder, endpoints: tuple[str, ...]) -> list[str]:
    """The nodes of a set of alike interface endpoints: one in each of their subnets."""
    t = b.t
    subnets = t.placements[endpoints[0]].subnets
    keys = []
    for subnet in subnets:
        key = "+".join(endpoints) + (f"@{subnet}" if len(subnets) > 1 else "")
        where = f" ({t.subnets[subnet].zone})" if len(subnets) > 1 else ""
        label = f"VPC interface endpoints{where}\n" + "\n".join(endpoints)
        keys.append(
            b.node(
                key,
                label,
                f"subnet_{subnet}",
                endpoints[0],
                ("private DNS", *_sg_detail(t, endpoints[0])),
                endpoints,
            )
        )
    return keys


def _regional_detail(template: Template, resource_id: str) -> tuple[str, ...]:
    resource = template.resources[resource_id]
    if resource.type in _FUNCTIONS:
        if resource.properties.get("VpcConfig"):
            return ("VpcConfig set",)
        return ("no VPC: egress unfiltered",)
    if resource.type in _APIS:
        kind = (resource.properties.get("EndpointConfiguration") or {}).get("Type", "EDGE")
        return (f"{kind} endpoint (public)",)
    return ()


def _edge_controls(b: _Builder, entry: str, node: str, port: str) -> tuple[str, ...]:
    """What guards a connection arriving at the API edge ``entry`` (API or load balancer)."""
    t = b.t
    resource = t.resources[entry]
    controls: list[str] = []
    for association in t.of_type("AWS::WAFv2::WebACLAssociation"):
        if entry in t.targets(association.id):
            acl = ref(association.properties.get("WebACLArn")) or "?"
            controls.append(f"WAF {acl}")
    if resource.type in _APIS:
        controls += [
            f"{resolved(t, d.properties.get('SecurityPolicy')) or 'TLS_1_0'} ({d.id})"
            for d in t.of_type("AWS::ApiGateway::DomainName")
        ]
        policy = execute_api_policy(t, resource)
        if policy == EXECUTE_API_DISABLED:
            controls.append("execute-api endpoint disabled")
        else:
            controls.append(f"execute-api {policy or 'TLS_1_0 (no policy stated)'}")
    else:
        for listener in t.of_type("AWS::ElasticLoadBalancingV2::Listener"):
            if entry in t.targets(listener.id) and str(listener.properties.get("Port")) == port:
                controls.append(f"TLS {listener.properties.get('SslPolicy', 'default')}")
        controls += [
            f"SG {r.name} in {r.ports} from {r.peer}"
            for r in b.rules
            if r.ingress
            and r.group in _security_groups_of(t, entry)
            and r.allows("TCP", port)
            and r.peer_group is None
        ]
        subnet = node.split("@", 1)[1] if "@" in node else None
        if subnet:
            controls.append(_acl_control(t, subnet, False, "TCP", port))
    return tuple(controls)


def _inbound(b: _Builder, placed: dict[str, list[str]]) -> None:
    """Parties reaching the API edge: through WAF and the API, or the IGW and the ALB."""
    t = b.t
    edges = [h for h in b.a.binding.hosts.get("edge", ()) if h in placed]
    gateways = [r.id for r in t.of_type("AWS::EC2::InternetGateway")]
    for app in APPLICATION_CONNECTIONS:
        source_party = any(p.key == app.source for p in PARTIES)
        target_party = any(p.key == app.target for p in PARTIES)
        if source_party and target_party:
            if app.source == "agent_softphone" and _has_connect(t):
                continue  # the softphone talks to Connect (below), not the provider
            b.connect(
                b.party(app.source),
                b.party(app.target),
                app.protocol,
                app.port,
                app.service,
                app.what,
                (Hop(app.source, app.target),),
            )
            continue
        if app.target != "edge" or not source_party:
            continue
        source = b.party(app.source)
        for edge in edges:
            for node in placed[edge]:
                controls = _edge_controls(b, edge, node, app.port)
                if t.resources[edge].type in _APIS or not gateways:
                    hops: tuple[Hop, ...] = (Hop(source, node, controls),)
                else:
                    gateway = gateways[0]
                    hops = (Hop(source, gateway), Hop(gateway, node, controls))
                b.connect(source, node, app.protocol, app.port, app.service, app.what, hops)
    if _has_connect(t):
        connect = _connect_node(b)
        b.connect(
            b.party("caller_phone"),
            connect,
            "voice",
            "-",
            "PSTN call",
            "the caller rings the contact centre",
            (Hop("caller_phone", connect),),
        )
        softphone = b.party("agent_softphone")
        for protocol, port, service in _CONNECT_SOFTPHONE:
            b.connect(
                softphone,
                connect,
                protocol,
                port,
                service,
                "Connect CCP softphone",
                (Hop(softphone, connect, ("TLS 1.2+ (Connect)",)),),
            )
    # The console signs agents in from their browsers, straight to the user pool.
    clients = t.of_type("AWS::Cognito::UserPoolClient")
    if clients:
        pools = tuple(sorted({ref(c.properties.get("UserPoolId")) or "?" for c in clients}))
        browser, endpoint = b.party("agent_browser"), b.endpoint("cognito-idp", pools)
        b.connect(
            browser,
            endpoint,
            "TCP",
            "443",
            "HTTPS",
            "agents sign in (SRP, MFA)",
            (Hop(browser, endpoint, ("TLS 1.2+ (AWS endpoint)",)),),
        )
    # Every other ingress rule open to an address range: who may connect from outside.
    for resource_id, nodes in sorted(placed.items()):
        is_edge = resource_id in edges
        for rule in b.rules:
            if (
                not rule.ingress
                or rule.peer_group
                or rule.group not in _security_groups_of(t, resource_id)
            ):
                continue
            if is_edge and rule.allows("TCP", "443"):
                continue  # the application's parties above
            source = b.party("anyone" if rule.peer in ANY else "admins")
            for node in nodes:
                subnets = t.placements[resource_id].subnets
                subnet = node.split("@", 1)[1] if "@" in node else subnets[0] if subnets else None
                checks = [f"SG {rule.name} in {rule.ports} from {rule.peer}"]
                if subnet:
                    checks.append(
                        _acl_control(t, subnet, False, rule.protocol, rule.ports, rule.peer)
                    )
                hops = (
                    (Hop(source, gateways[0]), Hop(gateways[0], node, tuple(checks)))
                    if gateways
                    else (Hop(source, node, tuple(checks)),)
                )
                b.connect(
                    source,
                    node,
                    rule.protocol,
                    rule.ports,
                    _service_name(rule.ports),
                    f"from {rule.peer}",
                    hops,
                    (source, resource_id),
                )


def _service_name(port: str) -> str:
    return {"22": "SSH", "443": "HTTPS", "80": "HTTP", "8080": "HTTP", "3389": "RDP"}.get(
        port, f"port {port}"
    )


def _has_connect(template: Template) -> bool:
    return any(
        p.properties.get("Principal") == "connect.amazonaws.com"
        for p in template.of_type("AWS::Lambda::Permission")
    )


def _connect_node(b: _Builder) -> str:
    b.zone("regional", *ZONES["regional"])
    return b.node(
        "connect_instance",
        "Amazon Connect instance\n(ConnectInstanceArn:\nnot in the template)",
        "regional",
    )


def _security_group_peers(b: _Builder, placed: dict[str, list[str]]) -> None:
    """Ingress rules naming another security group: every member of the source group may
    open a connection to every member of the target group."""
    t = b.t
    members: dict[str, list[str]] = defaultdict(list)
    for resource_id in placed:
        for group in _security_groups_of(t, resource_id):
            members[group].append(resource_id)
    for rule in b.rules:
        if not rule.ingress or rule.peer_group is None:
            continue
        egress = [
            r.name
            for r in b.rules
            if not r.ingress
            and r.group == rule.peer_group
            and r.peer_group == rule.group
            and r.allows(rule.protocol, rule.ports)
        ]
        for source_id in members.get(rule.peer_group, []):
            for target_id in members.get(rule.group, []):
                for source, target in _pairs(t, placed[source_id], placed[target_id]):
                    controls = [f"SG {name} out" for name in egress]
                    controls.append(f"SG {rule.name} in")
                    subnet = (
                        target.split("@", 1)[1]
                        if "@" in target
                        else (
                            t.placements[target_id].subnets[0]
                            if t.placements[target_id].subnets
                            else None
                        )
                    )
                    if subnet:
                        controls.append(
                            _acl_control(
                                t, subnet, False, rule.protocol, rule.ports, _vpc_peer(t, source_id)
                            )
                        )
                    b.connect(
                        source,
                        target,
                        rule.protocol,
                        rule.ports,
                        _service_name(rule.ports),
                        f"{source_id} to {target_id}"
                        + (" (also across zones)" if "@" in source else ""),
                        (Hop(source, target, tuple(controls)),),
                        (source_id, target_id),
                    )


def _zone_of(template: Template, node: str) -> str | None:
    return template.subnets[node.split("@", 1)[1]].zone if "@" in node else None


def _pairs(template: Template, sources: list[str], targets: list[str]) -> list[tuple[str, str]]:
    """Which drawn nodes of two resources to join. Two resources spread over the same
    availability zones are joined zone by zone (a load balancer's node in one zone and the
    instances there): the connection is the same one across zones, drawn once per zone."""
    zones = {_zone_of(template, n) for n in sources}
    if None not in zones and zones == {_zone_of(template, n) for n in targets}:
        return [
            (s, d)
            for s in sources
            for d in targets
            if _zone_of(template, s) == _zone_of(template, d)
        ]
    return [(s, d) for s in sources for d in targets]


def _invocations(b: _Builder, placed: dict[str, list[str]]) -> None:
    """Lambda permissions: who may invoke each function (log subscriptions excepted)."""
    t = b.t
    for permission in sorted(t.of_type("AWS::Lambda::Permission"), key=lambda r: r.id):
        p = permission.properties
        function = ref(p.get("FunctionName"))
        principal = str(p.get("Principal", "?"))
        if function not in placed or principal.startswith("logs."):
            continue
        source_arn = p.get("SourceArn")
        caller: str | None = None
        if principal.startswith("apigateway."):
            caller = next((n for n in _targets_named(t, source_arn) if n in placed), None)
        elif principal.startswith("connect."):
            caller = _connect_node(b)
        elif principal.startswith("events."):
            caller = next((n for n in _targets_named(t, source_arn) if n in placed), None)
        if caller is None:
            continue
        route = _route_of(source_arn)
        control = f"{permission.id}" + (f" ({route})" if route else f" ({principal})")
        what = route or f"invoke by {principal}"
        for target in placed[function]:
            controls = (control, *_route_auth(t, caller, route))
            b.connect(
                caller,
                target,
                "TCP",
                "443",
                "Lambda Invoke (inside AWS)",
                what,
                (Hop(caller, target, controls),),
            )
    # SAM Api events: SAM adds the permission for the API (the implicit one without RestApiId).
    for fn in sorted(t.of_type(*_FUNCTIONS), key=lambda r: r.id):
        events = fn.properties.get("Events") or {}
        for _name, event in sorted(events.items()) if isinstance(events, dict) else []:
            if not isinstance(event, dict) or event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            api = ref(props.get("RestApiId")) or "ServerlessRestApi"
            route = f"{str(props.get('Method', '*')).upper()} {props.get('Path', '/')}"
            for source in placed.get(api, []):
                for target in placed.get(fn.id, []):
                    b.connect(
                        source,
                        target,
                        "TCP",
                        "443",
                        "Lambda Invoke (inside AWS)",
                        route,
                        (Hop(source, target, (f"SAM-made permission ({route})",)),),
                    )
    # SAM schedule events: an implicit EventBridge rule invokes the function.
    for fn in sorted(t.of_type(*_FUNCTIONS), key=lambda r: r.id):
        events = fn.properties.get("Events") or {}
        for name, event in sorted(events.items()) if isinstance(events, dict) else []:
            if isinstance(event, dict) and event.get("Type") == "Schedule":
                b.zone("regional", *ZONES["regional"])
                rule = b.node(
                    f"{fn.id}{name}",
                    f"{fn.id}\n{name}\nEventBridge schedule (SAM)",
                    "regional",
                )
                for target in placed.get(fn.id, []):
                    b.connect(
                        rule,
                        target,
                        "TCP",
                        "443",
                        "Lambda Invoke (inside AWS)",
                        "scheduled run",
                        (Hop(rule, target, ("SAM-made permission: events",)),),
                    )


def _route_of(source_arn: Any) -> str:
    text = source_arn.get("Fn::Sub") if isinstance(source_arn, dict) else None
    if isinstance(text, list):
        text = text[0]
    if not isinstance(text, str) or "execute-api" not in text:
        return ""
    parts = text.split("/")
    return " ".join([parts[2], "/" + "/".join(parts[3:])]) if len(parts) > 3 else ""


def _route_auth(template: Template, api: str, route: str) -> tuple[str, ...]:
    """The authorizer on ``route`` ("POST /v1/payments"), read from the API's definition."""
    if not route or template.resources[api].type not in _APIS:
        return ()
    method, _, path = route.partition(" ")
    body = template.resources[api].properties.get("DefinitionBody") or {}
    default = body.get("security")
    found: set[str] = set()
    for api_path, operations in (body.get("paths") or {}).items():
        if not re.fullmatch(
            re.escape(path).replace(r"\*", "[^ ]*"), api_path.replace("{", "").replace("}", "")
        ) and not _path_match(path, api_path):
            continue
        for verb, operation in (operations or {}).items():
            if not isinstance(operation, dict) or (method != "*" and verb.upper() != method):
                continue
            security = operation.get("security", default)
            names = sorted({k for s in security or () for k in s}) if security else []
            found.add(("auth: " + ", ".join(names)) if names else "no authorizer")
    return tuple(sorted(found))


def _path_match(pattern: str, api_path: str) -> bool:
    pattern_parts = pattern.strip("/").split("/")
    path_parts = api_path.strip("/").split("/")
    if pattern_parts and pattern_parts[-1] == "*" and len(pattern_parts) == 1:
        return True
    if len(pattern_parts) != len(path_parts):
        return (
            pattern_parts[-1] == "*" and path_parts[: len(pattern_parts) - 1] == pattern_parts[:-1]
        )
    return all(
        a == "*" or a == b or b.startswith("{")
        for a, b in zip(pattern_parts, path_parts, strict=True)
    )


def _outbound(b: _Builder, placed: dict[str, list[str]]) -> None:
    """Connections compute opens: to AWS service endpoints (from its role) and to the
    parties the application calls, through the routes of its subnet."""
    t = b.t
    for resource_id in sorted(placed):
        kind = t.resources[resource_id].type
        if kind not in {*_FUNCTIONS, "AWS::EC2::Instance", "AWS::AutoScaling::AutoScalingGroup"}:
            continue
        targets: list[tuple[str, str, str]] = []  # (destination node, what, service prefix)
        for prefix, serves in service_calls(t, resource_id).items():
            if _interface_endpoint(t, resource_id, prefix):
                continue  # drawn as the connection to that endpoint (security groups)
            name = SERVICE_ENDPOINTS[prefix][0]
            what = f"{name} ({', '.join(serves)})" if serves else name
            targets.append((b.endpoint(prefix, serves), what, prefix))
        components = [c for c, hosts in b.a.binding.hosts.items() if resource_id in hosts]
        for app in APPLICATION_CONNECTIONS:
            if app.source in components:
                targets.append((b.party(app.target), app.what, ""))
        for node in placed[resource_id]:
            for destination, what, prefix in targets:
                hops = _egress_path(b, resource_id, node, destination, prefix)
                b.connect(node, destination, "TCP", "443", "HTTPS", what, hops)


def _egress_path(
    b: _Builder, resource_id: str, node: str, destination: str, prefix: str
) -> tuple[Hop, ...]:
    t = b.t
    subnets = t.placements[resource_id].subnets
    if not subnets:
        if t.resources[resource_id].properties.get("VpcConfig"):
            control = "VpcConfig (subnets and groups given at deploy time)"
        else:
            control = "no egress control (no VPC)"
        tls = "TLS, SigV4" if prefix else "TLS 1.2+, cert. verified"
        return (Hop(node, destination, (control, tls)),)
    subnet = node.split("@", 1)[1] if "@" in node else subnets[0]
    groups = _security_groups_of(t, resource_id)
    egress = [
        r
        for r in b.rules
        if not r.ingress and r.group in groups and r.allows("TCP", "443") and r.peer_group is None
    ]
    first = [f"SG {r.name} out {r.ports} to {r.peer}" for r in egress] or [
        "SG: no egress rule allows it"
    ]
    first.append(_acl_control(t, subnet, True, "TCP", "443"))
    table = route_table_of(t, subnet)
    endpoint = _gateway_endpoint(t, table, prefix) if prefix else None
    if endpoint:
        return (
            Hop(node, endpoint, (*first, f"route {table} (prefix list)")),
            Hop(endpoint, destination, (_endpoint_policy(t, endpoint),)),
        )
    route = way_out(t, subnet)
    if route is None or route.gateway is None:
        return (Hop(node, destination, (*first, "no default route")),)
    gateway = route.gateway
    if t.resources[gateway].type == "AWS::NetworkFirewall::Firewall":
        return _through_firewall(
            b, node, subnet, gateway, destination, prefix, (*first, f"route {table}")
        )
    hops = (Hop(node, gateway, (*first, f"route {table}")),)
    return (*hops, *_onward(t, gateway, destination, prefix))


def _onward(t: Template, gateway: str, destination: str, prefix: str) -> tuple[Hop, ...]:
    """From the gateway a route sent the connection to: through a NAT gateway by its
    subnet's default route (the internet gateway), then to ``destination``."""
    hops: list[Hop] = []
    if t.resources[gateway].type == "AWS::EC2::NatGateway":
        nat_subnet = t.placements[gateway].subnets[0]
        nat_route = way_out(t, nat_subnet)
        if nat_route and nat_route.gateway:
            hops.append(
                Hop(
                    gateway,
                    nat_route.gateway,
                    (f"route {nat_route.table}", _acl_control(t, nat_subnet, True, "TCP", "443")),
                )
            )
            gateway = nat_route.gateway
    tls = "TLS, SigV4" if prefix else "TLS 1.2+, cert. verified"
    return (*hops, Hop(gateway, destination, (tls,)))


def _through_firewall(
    b: _Builder,
    node: str,
    subnet: str,
    fw: str,
    destination: str,
    prefix: str,
    first: tuple[str, ...],
) -> tuple[Hop, ...]:
    """The way out of a subnet whose default route is the Network Firewall ``fw``: to the
    firewall's endpoint in the same zone, past its domain allow-list, then on by the route
    table of the firewall's subnet (a NAT gateway, then the internet gateway)."""
    t = b.t
    subnets = t.placements[fw].subnets
    zone = t.subnets[subnet].zone if subnet in t.subnets else None
    fw_subnet = next((s for s in subnets if t.subnets[s].zone == zone), subnets[0])
    fw_node = fw if len(subnets) == 1 else f"{fw}@{fw_subnet}"
    policy, groups, domains = firewall_allow_list(t, fw)
    allowed = _allowed(destination, prefix, domains)
    # The drawing names the policy and the list (short_control drops the parenthesis);
    # the domains are on the firewall's node, and here for the report's table.
    check = (
        f"Network Firewall {policy}",
        f"allow-list {groups} (passes {', '.join(allowed)} by TLS SNI; all else dropped)"
        if allowed
        else f"allow-list {groups}: drops it (not listed)",
    )
    hops = [Hop(node, fw_node, first)]
    onward = way_out(t, fw_subnet)
    if onward is None or onward.gateway is None:
        return (*hops, Hop(fw_node, destination, (*check, "no default route")))
    hops.append(Hop(fw_node, onward.gateway, (*check, f"route {onward.table}")))
    return (*hops, *_onward(t, onward.gateway, destination, prefix))


def connection_table(architecture: Architecture) -> tuple[list[str], list[list[str]]]:
    """The connections of ``architecture`` as the report's table: one row each."""
    model = build(architecture)

    def name(key: str) -> str:
        node = model.nodes.get(key)
        return node.label.split("\n", 1)[0] if node else key

    def owner(key: str) -> str:
        node = model.nodes[key]
        return node.resource or name(key)

    rows = []
    for c in model.connections:
        via = [owner(h.target) for h in c.hops[:-1] if h.target != c.target]
        rows.append(
            [
                f"**{c.number}**" if c.account_data else str(c.number),
                name(c.source),
                name(c.target),
                f"{c.protocol} {c.port}".strip() if c.port not in ("-", "") else c.protocol,
                c.service,
                ", ".join(dict.fromkeys(via)) or "direct",
                "; ".join(c.controls) or "-",
                c.what,
                "**PAN/CVV**" if c.account_data else "",
            ]
        )
    header = [
        "#",
        "initiator (from)",
        "to",
        "protocol/port",
        "service",
        "via",
        "controls",
        "what",
        "account data",
    ]
    return header, rows
