"""The original write-up's comparison tables (../shared/seed/), reproduced from the model
and checked: each claim of the write-up is set against what the templates declare."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cardline.compliance.architecture import Architecture
from cardline.compliance.facts import FUNCTION_TYPES, INSTANCE_TYPES, ssh_rules
from cardline.compliance.flows import SERVERLESS, TRADITIONAL
from cardline.compliance.matrix import Assignment


@dataclass(frozen=True)
class Check:
    """One line of a write-up table: what it says per kind, what the model shows, verdict."""

    item: str
    claims: dict[str, str]  # architecture kind -> the write-up's words
    derived: dict[str, str]  # architecture name -> what the model shows
    agrees: dict[str, bool]  # architecture name -> does the model bear the claim out


def _count(a: Architecture, *types: str) -> int:
    return len(a.template.of_type(*types))


def _functions_outside_vpc(a: Architecture) -> int:
    return sum(
        1 for r in a.template.of_type(*FUNCTION_TYPES) if a.template.placements[r.id].vpc is None
    )


def _bastions(a: Architecture) -> list[str]:
    rules = set(ssh_rules(a.template))
    hosts = set(a.binding.hosts.get("charge", ()))
    found = []
    for instance in a.template.of_type("AWS::EC2::Instance"):
        if instance.id in hosts:
            continue
        groups = {
            g
            for g in a.template.targets(instance.id)
            if a.template.resources[g].type == "AWS::EC2::SecurityGroup"
        }
        opened = groups & rules or {rule for rule in rules if a.template.targets(rule) & groups}
        if opened:
            found.append(instance.id)
    return found


def _archive_buckets(a: Architecture) -> int:
    return sum(
        1
        for r in a.binding.hosts.get("archive", ())
        if a.template.resources[r].type == "AWS::S3::Bucket"
    )


_COMPONENTS: list[tuple[str, tuple[str, ...], Callable[[Architecture], int]]] = [
    ("VPC", (TRADITIONAL,), lambda a: _count(a, "AWS::EC2::VPC")),
    (
        "public subnets",
        (TRADITIONAL,),
        lambda a: sum(s.public for s in a.template.subnets.values()),
    ),
    (
        "private subnets",
        (TRADITIONAL,),
        lambda a: sum(not s.public for s in a.template.subnets.values()),
    ),
    ("Internet gateway", (TRADITIONAL,), lambda a: _count(a, "AWS::EC2::InternetGateway")),
    ("NAT gateway", (TRADITIONAL,), lambda a: _count(a, "AWS::EC2::NatGateway")),
    ("availability zones (two)", (TRADITIONAL,), lambda a: len(a.template.zones())),
    ("Bastion host for SSH", (TRADITIONAL,), lambda a: len(_bastions(a))),
    ("Security groups", (TRADITIONAL,), lambda a: _count(a, "AWS::EC2::SecurityGroup")),
    ("ACLs", (TRADITIONAL,), lambda a: _count(a, "AWS::EC2::NetworkAcl")),
    ("Route tables", (TRADITIONAL,), lambda a: _count(a, "AWS::EC2::RouteTable")),
    ("S3 buckets for CloudWatch logs", (TRADITIONAL, SERVERLESS), _archive_buckets),
    ("Lambda (outside our VPCs)", (SERVERLESS,), _functions_outside_vpc),
    (
        "API gateway",
        (SERVERLESS,),
        lambda a: _count(a, "AWS::Serverless::Api", "AWS::ApiGateway::RestApi"),
    ),
]


def components_used(architectures: list[Architecture]) -> list[Check]:
    """The write-up's "AWS components used" lists, counted in each template."""
    checks = []
    for item, listed_for, count in _COMPONENTS:
        derived, agrees = {}, {}
        for a in architectures:
            n = count(a)
            derived[a.name] = str(n)
            agrees[a.name] = (n > 0) == (a.binding.kind in listed_for)
        claims = {
            kind: ("listed" if kind in listed_for else "-") for kind in (TRADITIONAL, SERVERLESS)
        }
        checks.append(Check(item, claims, derived, agrees))
    return checks


def _owner(a: Architecture, requirement: str) -> Assignment:
    return next(x for x in a.assignments if x.requirement.id == requirement)


def requirements_met(architectures: list[Architecture]) -> list[Check]:
    """The write-up's "how each architecture meets PCI requirements" table, then its claim
    that serverless hands requirements 2 and 5 over."""
    rows: list[Check] = []

    def row(
        item: str, claims: dict[str, str], show: Callable[[Architecture], tuple[str, bool]]
    ) -> None:
        shown = {a.name: show(a) for a in architectures}
        rows.append(
            Check(
                item,
                claims,
                {k: v[0] for k, v in shown.items()},
                {k: v[1] for k, v in shown.items()},
            )
        )

    def harden(a: Architecture) -> tuple[str, bool]:
        ours = sorted(
            r for r in a.scope.in_scope() if a.template.resources[r].type in INSTANCE_TYPES
        )
        if ours:
            return f"instances to harden: {', '.join(ours)}", a.binding.kind == TRADITIONAL
        return "no instances in scope: AWS runs the OS", a.binding.kind == SERVERLESS

    def incoming(a: Architecture) -> tuple[str, bool]:
        groups, acls = _count(a, "AWS::EC2::SecurityGroup"), _count(a, "AWS::EC2::NetworkAcl")
        if groups or acls:
            return f"{groups} security groups, {acls} network ACLs", a.binding.kind == TRADITIONAL
        waf = "WAF on the CDE edge" if a.facts["waf"] else "no WAF"
        functions = _functions_outside_vpc(a)
        text = f"{functions} functions outside any VPC, reachable only through API Gateway; {waf}"
        return text, a.binding.kind == SERVERLESS

    def outgoing(a: Architecture) -> tuple[str, bool]:
        gateways = _count(a, "AWS::EC2::InternetGateway") + _count(a, "AWS::EC2::NatGateway")
        if gateways:
            return f"{gateways} internet/NAT gateways", a.binding.kind == TRADITIONAL
        functions = _functions_outside_vpc(a)
        return f"AWS-managed egress for {functions} functions", a.binding.kind == SERVERLESS

    def direct(a: Architecture) -> tuple[str, bool]:
        bastions = _bastions(a)
        if bastions:
            return f"SSH through {', '.join(bastions)}", a.binding.kind == TRADITIONAL
        if ssh_rules(a.template):
            return "SSH open without a bastion", False
        return "no instances, no SSH", a.binding.kind == SERVERLESS

    row(
        "Harden operating system",
        {
            TRADITIONAL: "Hardened AMIs, remove unused applications, lock down ports",
            SERVERLESS: "No instances (AWS takes care of runtime)",
        },
        harden,
    )
    row(
        "Incoming firewall",
        {
            TRADITIONAL: "DMZ to prevent unauthorized access, Security Group on VPC",
            SERVERLESS: "Lambda comes with default VPC",
        },
        incoming,
    )
    row(
        "Outgoing internet access",
        {
            TRADITIONAL: "Internet gateway, NAT gateway, Security groups and/or ACLs",
            SERVERLESS: "Default Lambda VPC has outgoing internet access",
        },
        outgoing,
    )
    row(
        "Do not provide direct access to instances",
        {
            TRADITIONAL: "Use a bastion host to allow SSH access",
            SERVERLESS: "No instances, so no SSH required",
        },
        direct,
    )
    for requirement, words in (
        ("2", "Requirement 2 (vendor defaults)"),
        ("5", "Requirement 5 (anti-malware)"),
    ):

        def handed(a: Architecture, requirement: str = requirement) -> tuple[str, bool]:
            owner = _owner(a, requirement)
            handed_over = not owner.customer_owned
            expected = a.binding.kind == SERVERLESS
            return owner.owner_label, handed_over == expected

        row(
            f"{words} handed over",
            {TRADITIONAL: "ours", SERVERLESS: "totally ignored (handed to AWS)"},
            handed,
        )
    return rows
