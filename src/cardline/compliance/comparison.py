"""The side-by-side comparison, counted rather than asserted: in-scope components by kind
(template resources and the inventory's items), requirements by owner over every row of
the matrix, and the like-for-like controls each template has. No rule here prefers an
architecture; the counts follow the templates, and change when they do.
"""

from __future__ import annotations

from collections import Counter

from cardline.compliance.architecture import Architecture
from cardline.compliance.matrix import OWNERS, PARTY_NAMES, SHARED
from cardline.compliance.scope import CDE, CONNECTED, IMPACTING

# Resource type prefix -> kind of component (the first match wins).
_KINDS: tuple[tuple[str, str], ...] = (
    ("AWS::Serverless::Function", "compute"),
    ("AWS::Lambda::Function", "compute"),
    ("AWS::EC2::Instance", "compute"),
    ("AWS::AutoScaling::", "compute"),
    ("AWS::EC2::LaunchTemplate", "compute"),
    ("AWS::ECS::", "compute"),
    ("AWS::Serverless::Api", "edge and sign-in"),
    ("AWS::ApiGateway::", "edge and sign-in"),
    ("AWS::ElasticLoadBalancingV2::", "edge and sign-in"),
    ("AWS::WAFv2::", "edge and sign-in"),
    ("AWS::Cognito::", "edge and sign-in"),
    ("AWS::EC2::", "network and segmentation"),
    ("AWS::NetworkFirewall::", "network and segmentation"),
    ("AWS::IAM::", "identity and permissions"),
    ("AWS::Lambda::Permission", "identity and permissions"),
    ("AWS::KMS::", "keys and secrets"),
    ("AWS::SecretsManager::", "keys and secrets"),
    ("AWS::DynamoDB::", "data stores"),
    ("AWS::Serverless::SimpleTable", "data stores"),
    ("AWS::RDS::", "data stores"),
    ("AWS::SQS::", "data stores"),
    ("AWS::Logs::", "logs and archive"),
    ("AWS::KinesisFirehose::", "logs and archive"),
    ("AWS::S3::", "logs and archive"),
    ("AWS::Connect::", "telephony"),
    ("AWS::Events::", "schedules and alarms"),
    ("AWS::CloudWatch::", "schedules and alarms"),
    ("AWS::SNS::", "schedules and alarms"),
)
IN_SCOPE = (CDE, CONNECTED, IMPACTING)


def kind_of(resource_type: str) -> str:
    return next((k for prefix, k in _KINDS if resource_type.startswith(prefix)), "other")


def in_scope_by_kind(a: Architecture) -> Counter[tuple[str, str]]:
    """(kind, category) -> how many in-scope components; inventory kinds are prefixed
    with "outside the template:"."""
    counts: Counter[tuple[str, str]] = Counter()
    for rid, verdict in a.scope.verdicts.items():
        if verdict.category in IN_SCOPE:
            counts[(kind_of(a.template.resources[rid].type), verdict.category)] += 1
    for item in a.inventory:
        if item.scope in IN_SCOPE:
            counts[(f"outside the template: {item.kind}", item.scope)] += 1
    return counts


def kinds_table(architectures: list[Architecture]) -> tuple[list[str], list[list[str]]]:
    counts = {a.name: in_scope_by_kind(a) for a in architectures}
    kinds = sorted({k for c in counts.values() for k, _ in c})
    header = ["kind of component"] + [
        f"{a.name}: CDE / connected / impacting" for a in architectures
    ]
    rows = []
    for kind in kinds:
        row = [kind]
        for a in architectures:
            row.append(" / ".join(str(counts[a.name][(kind, c)]) for c in IN_SCOPE))
        rows.append(row)
    totals = ["**total**"]
    for a in architectures:
        totals.append(
            " / ".join(
                str(sum(n for (_, c), n in counts[a.name].items() if c == cat)) for cat in IN_SCOPE
            )
        )
    rows.append(totals)
    return header, rows


def owner_label(owner: str, parties: tuple[str, ...]) -> str:
    if owner == SHARED:
        ordered = sorted(parties, key=OWNERS.index)
        return "shared: " + " + ".join(PARTY_NAMES[p] for p in ordered)
    return PARTY_NAMES[owner]


def by_owner(a: Architecture) -> Counter[str]:
    """Every matrix row's owner (shared ones by their parties)."""
    return Counter(owner_label(x.owner, x.parties) for x in a.assignments)


def owners_table(architectures: list[Architecture]) -> tuple[list[str], list[list[str]]]:
    counts = {a.name: by_owner(a) for a in architectures}
    order = {PARTY_NAMES.get(o, o): i for i, o in enumerate(OWNERS)}
    labels = sorted({k for c in counts.values() for k in c}, key=lambda k: (order.get(k, 9), k))
    header = ["owner (all matrix rows)"] + [a.name for a in architectures]
    rows = [[label] + [str(counts[a.name][label]) for a in architectures] for label in labels]
    rows.append(["**rows**"] + [str(len(a.assignments)) for a in architectures])
    return header, rows


CONTROLS: tuple[tuple[str, str], ...] = (
    ("waf", "WAF on the CDE's edge"),
    ("mfa", "MFA for operators (Cognito)"),
    ("object_lock", "audit archive under S3 Object Lock"),
    ("key_rotation", "every KMS key rotated"),
    ("log_retention", "every log group kept 365 days or more"),
    ("ssh", "SSH port open (a finding, not a control)"),
)


def controls_table(architectures: list[Architecture]) -> tuple[list[str], list[list[str]]]:
    header = ["control (fact read from the template)"] + [a.name for a in architectures]
    rows = []
    for fact, label in CONTROLS:
        values = [a.facts.get(fact) for a in architectures]
        same = len(set(values)) == 1
        rows.append(
            [label + ("" if same else " **(not like for like)**")]
            + ["yes" if v else "no" for v in values]
        )
    return header, rows
