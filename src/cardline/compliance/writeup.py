"""The original write-up's comparison tables (../shared/seed/), reproduced from the model
and judged: each claim of the write-up is set against what the templates declare and
found to hold, to hold in part, or to be wrong, with the reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cardline.compliance.architecture import Architecture
from cardline.compliance.facts import FUNCTION_TYPES, INSTANCE_TYPES, ssh_rules
from cardline.compliance.flows import SERVERLESS, TRADITIONAL
from cardline.compliance.matrix import Assignment
from cardline.compliance.scope import CDE

HOLDS, PARTLY, WRONG = "holds", "partly", "wrong"


@dataclass(frozen=True)
class Judgement:
    """What the model shows about one claim for one architecture, and the verdict."""

    shown: str
    verdict: str  # holds, partly, wrong
    reason: str


@dataclass(frozen=True)
class Check:
    """One line of a write-up table: what it says per kind, and the judgement per
    architecture (by name)."""

    item: str
    claims: dict[str, str]  # architecture kind -> the write-up's words
    judged: dict[str, Judgement]

    @property
    def derived(self) -> dict[str, str]:
        return {name: j.shown for name, j in self.judged.items()}


NO_INSTANCES = "no instances in scope: AWS runs the OS"


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
        judged = {}
        for a in architectures:
            n = count(a)
            listed = a.binding.kind in listed_for
            if (n > 0) == listed:
                judged[a.name] = Judgement(str(n), HOLDS, "the template has what the list says")
            elif listed:
                judged[a.name] = Judgement(str(n), WRONG, "listed, but the template has none")
            else:
                judged[a.name] = Judgement(str(n), WRONG, "not listed, but the template has it")
        claims = {
            kind: ("listed" if kind in listed_for else "-") for kind in (TRADITIONAL, SERVERLESS)
        }
        checks.append(Check(item, claims, judged))
    return checks


def _owner(a: Architecture, requirement: str) -> Assignment:
    return next(x for x in a.assignments if x.requirement.id == requirement)


def _workstations(a: Architecture) -> list[str]:
    return [i.name for i in a.inventory if i.kind == "workstation" and i.scope == CDE]


def _open_egress(a: Architecture) -> list[str]:
    """Security groups of the template whose egress reaches any address."""
    found = []
    for group in a.template.of_type("AWS::EC2::SecurityGroup"):
        rules = group.properties.get("SecurityGroupEgress")
        if rules is None:
            found.append(f"{group.id} (default: all traffic)")
            continue
        for rule in rules if isinstance(rules, list) else []:
            if isinstance(rule, dict) and rule.get("CidrIp") == "0.0.0.0/0":
                found.append(f"{group.id} (port {rule.get('FromPort')} to any address)")
    return found


def requirements_met(architectures: list[Architecture]) -> list[Check]:
    """The write-up's "how each architecture meets PCI requirements" table, then its claim
    that serverless hands requirements 2 and 5 over."""
    rows: list[Check] = []

    def row(item: str, claims: dict[str, str], judge: Callable[[Architecture], Judgement]) -> None:
        rows.append(Check(item, claims, {a.name: judge(a) for a in architectures}))

    def harden(a: Architecture) -> Judgement:
        ours = sorted(
            r for r in a.scope.in_scope() if a.template.resources[r].type in INSTANCE_TYPES
        )
        desks = _workstations(a)
        if ours:
            return Judgement(
                f"instances to harden: {', '.join(ours)}",
                HOLDS,
                "the instances' operating system is ours to harden (2.2)",
            )
        if desks:
            return Judgement(
                NO_INSTANCES,
                PARTLY,
                "AWS patches the functions' OS and runtime, but the agents' desktops "
                f"({'; '.join(desks)}) are in the CDE and ours to harden, and so are the "
                "functions' configuration and dependencies (2.2, 6.3)",
            )
        return Judgement(
            NO_INSTANCES,
            HOLDS,
            "no operating system of ours in scope; configuration and dependencies still are",
        )

    def incoming(a: Architecture) -> Judgement:
        groups, acls = _count(a, "AWS::EC2::SecurityGroup"), _count(a, "AWS::EC2::NetworkAcl")
        waf = "WAF on the CDE edge" if a.facts["waf"] else "no WAF"
        if groups or acls:
            return Judgement(
                f"{groups} security groups, {acls} network ACLs; {waf}",
                HOLDS if a.facts["waf"] else PARTLY,
                "security groups and ACLs are the network security controls of 1.3.1"
                + ("" if a.facts["waf"] else "; nothing inspects the HTTPS they let in"),
            )
        functions = _functions_outside_vpc(a)
        permissions = _count(a, "AWS::Lambda::Permission")
        return Judgement(
            f"{functions} functions outside any VPC; {permissions} Lambda permissions; {waf}",
            WRONG,
            "a function outside a VPC has no VPC, security group or listening port: it is "
            "reached only by an invocation that its resource policy (the Lambda permissions) "
            "and IAM allow, so the control is those policies and the API edge (WAF, "
            "authorizer), not a default VPC",
        )

    def outgoing(a: Architecture) -> Judgement:
        gateways = _count(a, "AWS::EC2::InternetGateway") + _count(a, "AWS::EC2::NatGateway")
        if gateways:
            open_egress = _open_egress(a)
            if open_egress:
                return Judgement(
                    f"{gateways} internet/NAT gateways; egress to any address: "
                    + ", ".join(open_egress),
                    PARTLY,
                    "the gateways and security groups are there, but egress reaches any "
                    "address on its port: 1.3.2 asks for only what is necessary (PayPal, "
                    "the AWS endpoints)",
                )
            return Judgement(f"{gateways} internet/NAT gateways", HOLDS, "egress is restricted")
        functions = _functions_outside_vpc(a)
        return Judgement(
            f"AWS-managed egress to the whole internet for {functions} functions",
            WRONG,
            "open outbound access from CDE functions is not a benefit: it is what 1.3.2 "
            "asks to restrict; it needs a written justification or the VPC option with "
            "egress limited to PayPal",
        )

    def direct(a: Architecture) -> Judgement:
        bastions = _bastions(a)
        if bastions:
            return Judgement(
                f"SSH through {', '.join(bastions)}",
                HOLDS,
                "the bastion is the one way in; it is connected-to the CDE and in scope",
            )
        if ssh_rules(a.template):
            return Judgement("SSH open without a bastion", WRONG, "port 22 is open")
        admins = [i.name for i in a.inventory if i.kind == "identity"]
        return Judgement(
            "no instances, no SSH",
            HOLDS,
            "no SSH; the way in is the AWS console and API"
            + (f" ({'; '.join(admins)}: inventory)" if admins else ""),
        )

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

    def handed(a: Architecture, requirement: str) -> Judgement:
        owner = _owner(a, requirement)
        claimed_ours = a.binding.kind == TRADITIONAL
        desks = _workstations(a)
        if claimed_ours:
            ok = owner.customer_owned
            return Judgement(
                owner.owner_label,
                HOLDS if ok else WRONG,
                "ours, as the write-up says" if ok else "the matrix hands it over",
            )
        if requirement == "5" and desks:
            return Judgement(
                owner.owner_label,
                WRONG,
                f"the agents' desktops are in the CDE ({'; '.join(desks)}): anti-malware "
                "on them is ours, whatever runs the functions",
            )
        if owner.customer_owned:
            return Judgement(
                owner.owner_label,
                WRONG if owner.owner == "us" else PARTLY,
                "the configuration of every in-scope component (API, functions, IAM) "
                "stays ours; AWS covers only what it runs",
            )
        return Judgement(owner.owner_label, HOLDS, "the matrix hands it to a provider")

    for requirement, words in (
        ("2", "Requirement 2 (vendor defaults)"),
        ("5", "Requirement 5 (anti-malware)"),
    ):
        rows.append(
            Check(
                f"{words} handed over",
                {TRADITIONAL: "ours", SERVERLESS: "totally ignored (handed to AWS)"},
                {a.name: handed(a, requirement) for a in architectures},
            )
        )
    return rows
