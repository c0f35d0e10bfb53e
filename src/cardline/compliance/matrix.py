"""The PCI DSS v4.0.1 responsibility matrix (``requirements.yaml``) applied to one
architecture: each requirement's owner, how it is met, and where the evidence is."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Any

import yaml

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


@dataclass(frozen=True)
class Rule:
    owner: str
    how: str
    parties: tuple[str, ...] = ()
    fact: str | None = None


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


def _rule(raw: dict[str, Any]) -> Rule:
    owner = str(raw["owner"])
    parties = tuple(str(p) for p in raw.get("parties") or ())
    if owner not in OWNERS or any(p not in PARTY_NAMES for p in parties):
        raise ValueError(f"requirements.yaml: unknown owner in {raw}")
    if owner == SHARED and len(parties) < 2:
        raise ValueError(f"requirements.yaml: a shared rule names its parties: {raw}")
    return Rule(owner, str(raw["how"]), parties, raw.get("if"))


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
            evidence={
                key: tuple(str(v) for v in values)
                for key, values in (item.get("evidence") or {}).items()
            },
        )
        for item in raw["requirements"]
    )
    return Requirements(items, tuple(str(i) for i in raw["pci_md_ids"]))


def _resources(template: Template, types: tuple[str, ...]) -> list[str]:
    found = sorted(r.id for r in template.resources.values() if r.type in types)
    shown = [f"{template.path.name}#{r}" for r in found[:_MAX_RESOURCES]]
    if len(found) > _MAX_RESOURCES:
        shown.append(f"+{len(found) - _MAX_RESOURCES} more")
    return shown


def assign(
    requirements: Requirements, template: Template, facts: dict[str, bool]
) -> list[Assignment]:
    """Apply every requirement's first matching rule to this architecture."""
    assignments: list[Assignment] = []
    for requirement in requirements.items:
        for rule in requirement.rules:
            if rule.fact is not None and rule.fact not in facts:
                raise ValueError(f"requirements.yaml: {requirement.id} names no fact {rule.fact}")
            if rule.fact is None or facts[rule.fact]:
                break
        else:
            raise ValueError(f"requirements.yaml: {requirement.id} has no default rule")
        evidence = _resources(template, requirement.evidence.get("resources", ()))
        for key in ("code", "tests", "docs"):
            evidence.extend(requirement.evidence.get(key, ()))
        assignments.append(
            Assignment(requirement, rule.owner, rule.parties, rule.how, tuple(evidence))
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
