"""The PCI DSS v4.0.1 responsibility matrix (``requirements.yaml``) applied to one
architecture: each requirement's owner, how it is met, and where the evidence is.

Evidence references (resolved by :mod:`cardline.compliance.evidence`): ``resources``
(template resource types, shown per template as ``template.yaml#LogicalId``),
``resource_ids`` (logical ids, shown where the template has them), ``code`` (paths),
``tests`` (``path`` or ``path::test_name``), ``docs`` (``path`` or ``path#Heading``) and
``artefacts`` (files the report writes, ``name#Heading``; ``{name}`` is the architecture).
A rule may carry evidence of its own, and a rule marked ``finding`` is a gap to close.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from importlib import resources as package_files
from typing import Any

import yaml

from cardline.compliance.facts import Facts, FileFact
from cardline.compliance.template import Template

US, AWS, PAYPAL, TELEPHONY, SHARED = "us", "aws", "paypal", "telephony", "shared"
OWNERS = (US, AWS, PAYPAL, TELEPHONY, SHARED)
PARTY_NAMES = {
    US: "us",
    AWS: "AWS",
    PAYPAL: "PayPal",
    TELEPHONY: "telephony provider",
}
_MAX_RESOURCES = 4
EVIDENCE_KINDS = ("resources", "resource_ids", "code", "tests", "docs", "artefacts")


@dataclass(frozen=True)
class Rule:
    owner: str
    how: str
    parties: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()  # every one must hold (none: the rule always holds)
    finding: bool = False
    evidence: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def fact(self) -> str | None:
        return self.facts[0] if self.facts else None


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    rules: tuple[Rule, ...]
    evidence: dict[str, tuple[str, ...]]

    @property
    def principal(self) -> bool:
        return "." not in self.id


@dataclass(frozen=True)
class Assignment:
    requirement: Requirement
    owner: str
    parties: tuple[str, ...]
    how: str
    evidence: tuple[str, ...]
    finding: bool = False
    note: str = ""  # what is missing, and what would turn the row around

    @property
    def owner_label(self) -> str:
        if self.owner == SHARED:
            return "shared: " + " + ".join(PARTY_NAMES[p] for p in self.parties)
        return PARTY_NAMES[self.owner]

    @property
    def customer_owned(self) -> bool:
        """True when the business must meet (part of) it itself."""
        return self.owner == US or (self.owner == SHARED and US in self.parties)


@dataclass(frozen=True)
class Requirements:
    items: tuple[Requirement, ...]
    pci_md_ids: tuple[str, ...]
    file_facts: dict[str, FileFact] = field(default_factory=dict)
    # the requirements the brief (issue 16) asks the matrix to hold, checked by a test
    required_ids: tuple[str, ...] = ()


def _evidence(raw: dict[str, Any] | None, where: str) -> dict[str, tuple[str, ...]]:
    evidence = {key: tuple(str(v) for v in values) for key, values in (raw or {}).items()}
    unknown = set(evidence) - set(EVIDENCE_KINDS)
    if unknown:
        raise ValueError(f"requirements.yaml: {where}: unknown evidence kinds {sorted(unknown)}")
    return evidence


def _rule(raw: dict[str, Any]) -> Rule:
    owner = str(raw["owner"])
    parties = tuple(str(p) for p in raw.get("parties") or ())
    if owner not in OWNERS or any(p not in PARTY_NAMES for p in parties):
        raise ValueError(f"requirements.yaml: unknown owner in {raw}")
    if owner == SHARED and len(parties) < 2:
        raise ValueError(f"requirements.yaml: a shared rule names its parties: {raw}")
    facts = raw.get("if")
    names = tuple(str(f) for f in facts) if isinstance(facts, list) else (facts,) if facts else ()
    return Rule(
        owner,
        " ".join(str(raw["how"]).split()),
        parties,
        names,
        bool(raw.get("finding", False)),
        _evidence(raw.get("evidence"), str(raw.get("how", ""))[:40]),
    )


def load_requirements(text: str | None = None) -> Requirements:
    """Read the packaged ``requirements.yaml`` (or ``text``)."""
    if text is None:
        source = package_files.files("cardline.compliance") / "requirements.yaml"
        text = source.read_text("utf-8")
    raw = yaml.safe_load(text)
    items = tuple(
        Requirement(
            id=str(item["id"]),
            title=str(item["title"]),
            rules=tuple(_rule(r) for r in item["owner"]),
            evidence=_evidence(item.get("evidence"), str(item["id"])),
        )
        for item in raw["requirements"]
    )
    file_facts = {
        str(name): FileFact(
            tuple(str(p) for p in spec["paths"]),
            spec.get("matches"),
            spec.get("nowhere"),
            " ".join(str(spec.get("missing", "")).split()),
        )
        for name, spec in (raw.get("file_facts") or {}).items()
    }
    return Requirements(
        items,
        tuple(str(i) for i in raw["pci_md_ids"]),
        file_facts,
        tuple(str(i) for i in raw.get("required_ids") or ()),
    )


def _resources(template: Template, types: tuple[str, ...], ids: tuple[str, ...] = ()) -> list[str]:
    found = sorted(r.id for r in template.resources.values() if r.type in types)
    shown = [f"{template.path.name}#{r}" for r in found[:_MAX_RESOURCES]]
    if len(found) > _MAX_RESOURCES:
        shown.append(f"+{len(found) - _MAX_RESOURCES} more")
    shown += [
        f"{template.path.name}#{r}"
        for r in ids
        if r in template.resources and f"{template.path.name}#{r}" not in shown
    ]
    return shown


def _gap(rules: tuple[Rule, ...], chosen: Rule, facts: dict[str, bool], *, finding: bool) -> str:
    """What each better rule's facts miss (for a finding), and the template conditions
    (options off by default) under which they would hold."""
    detail = facts.detail if isinstance(facts, Facts) else {}
    missing: list[str] = []
    options: list[str] = []
    for rule in rules[: rules.index(chosen)]:
        for name in rule.facts:
            fact = detail.get(name)
            if fact is None or fact.holds:
                continue
            missing += [m for m in fact.missing if m not in missing]
            options += [c for c in fact.conditions if c not in options]
    note = "Missing: " + "; ".join(missing) + "." if missing and finding else ""
    if options:
        note += (
            " The template has it under condition "
            + ", ".join(f"`{c}`" for c in options)
            + ", off by default: "
            + (
                "turn that option on to close it."
                if finding
                else "with it on, a better rule holds."
            )
        )
    return note.strip()


def assign(
    requirements: Requirements, template: Template, facts: dict[str, bool], name: str = ""
) -> list[Assignment]:
    """Apply every requirement's first matching rule to this architecture (``name``
    stands in for ``{name}`` in artefact evidence)."""
    assignments: list[Assignment] = []
    detail = facts.detail if isinstance(facts, Facts) else {}
    for requirement in requirements.items:
        for rule in requirement.rules:
            unknown = [f for f in rule.facts if f not in facts]
            if unknown:
                raise ValueError(f"requirements.yaml: {requirement.id} names no fact {unknown}")
            if all(facts[f] for f in rule.facts):
                break
        else:
            raise ValueError(f"requirements.yaml: {requirement.id} has no default rule")
        merged = {
            kind: requirement.evidence.get(kind, ()) + rule.evidence.get(kind, ())
            for kind in EVIDENCE_KINDS
        }
        shown = [f for f in rule.facts if f in detail]
        files = [e for f in shown if f in requirements.file_facts for e in detail[f].evidence]
        ids = tuple(
            e for f in shown if f not in requirements.file_facts for e in detail[f].evidence
        )
        evidence = _resources(template, merged["resources"], merged["resource_ids"] + ids)
        evidence += files
        for key in ("code", "tests", "docs"):
            evidence.extend(e for e in merged[key] if e not in evidence)
        evidence.extend(e.replace("{name}", name or "{name}") for e in merged["artefacts"])
        assignments.append(
            Assignment(
                requirement,
                rule.owner,
                rule.parties,
                rule.how,
                tuple(evidence),
                rule.finding,
                _gap(requirement.rules, rule, facts, finding=rule.finding),
            )
        )
    return assignments


def ownership(assignments: list[Assignment], *, principal: bool) -> Counter[str]:
    """How many requirements (principal ones, or all) each kind of owner holds."""
    counts: Counter[str] = Counter()
    for a in assignments:
        if a.requirement.principal == principal or not principal:
            counts["customer" if a.customer_owned else "handed over"] += 1
            counts[a.owner] += 1
    return counts
