"""What the templates do not hold (``infra/inventory.yaml``, edited by the merchant): the
agents' desktops and softphones, the call-centre network, the Amazon Connect instance and
its recordings, the admin and CI identities, CloudTrail, DNS and certificates. The schema
is documented in that file's header; :func:`load_inventory` checks it.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cardline.compliance.scope import CATEGORIES, OUT

KINDS = (
    "workstation",
    "network",
    "telephony",
    "data",
    "identity",
    "logging",
    "dns",
    "certificate",
)
ZONES = (
    "internet",
    "pstn",
    "call-centre",
    "aws-account",
    "aws-services",
    "telephony-provider",
    "paypal",
)
ARCHITECTURES = ("serverless", "traditional")
DEFAULT_PATH = Path("infra/inventory.yaml")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_COMPONENT = re.compile(r"^[a-z][a-z0-9_]*$")  # a key of flows.yaml's components
# The kinds whose items hold or carry data an assessor follows: the data-flow diagram draws
# them as nodes; the others (identities, logging, DNS, certificates) it lists.
DATA_KINDS = ("workstation", "network", "telephony", "data")


@dataclass(frozen=True)
class Item:
    """One thing outside the templates, with the scope its owner gives it and why."""

    id: str
    name: str
    kind: str
    zone: str
    scope: str
    why: str
    connects_to: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ARCHITECTURES
    requirements: tuple[str, ...] = ()
    evidence: str = ""
    component: str = ""  # the flows.yaml component it is, drawn as one with it


@dataclass(frozen=True)
class Inventory:
    path: Path | None
    items: tuple[Item, ...]

    def for_kind(self, architecture_kind: str) -> tuple[Item, ...]:
        """The items that apply to an architecture of this kind (serverless, traditional):
        the binding's kind, read from what hosts the charge, so every variant of a template
        (serverless with CdeEgress=firewall, say) has its template's items whatever its
        name."""
        return tuple(i for i in self.items if architecture_kind in i.architectures)


EMPTY = Inventory(None, ())


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ValueError(f"{where}: expected a list")
    return tuple(str(v) for v in value)


def load_inventory(path: Path) -> Inventory:
    """Read and check an inventory file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items: list[Item] = []
    seen: set[str] = set()
    for number, entry in enumerate(raw.get("items") or [], start=1):
        where = f"{path}: item {number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: not a mapping")
        missing = [k for k in ("id", "name", "kind", "zone", "scope", "why") if not entry.get(k)]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        item_id = str(entry["id"])
        checks = (
            (_ID.match(item_id) is not None, "id", item_id),
            (item_id not in seen, "duplicate id", item_id),
            (entry["kind"] in KINDS, "kind", entry["kind"]),
            (entry["zone"] in ZONES, "zone", entry["zone"]),
            (entry["scope"] in CATEGORIES, "scope", entry["scope"]),
            (
                _COMPONENT.match(str(entry.get("component", "x"))) is not None,
                "component",
                entry.get("component"),
            ),
        )
        for ok, field, value in checks:
            if not ok:
                raise ValueError(f"{where}: bad {field} {value!r}")
        architectures = _strings(entry.get("architectures"), where) or ARCHITECTURES
        if not set(architectures) <= set(ARCHITECTURES):
            raise ValueError(f"{where}: bad architectures {architectures}")
        seen.add(item_id)
        items.append(
            Item(
                id=item_id,
                name=str(entry["name"]),
                kind=str(entry["kind"]),
                zone=str(entry["zone"]),
                scope=str(entry["scope"]),
                why=" ".join(str(entry["why"]).split()),
                connects_to=_strings(entry.get("connects_to"), where),
                architectures=architectures,
                requirements=_strings(entry.get("requirements"), where),
                evidence=str(entry.get("evidence", "")),
                component=str(entry.get("component", "")),
            )
        )
    return Inventory(path, tuple(items))


def find_inventory(templates: list[Path]) -> Inventory:
    """The inventory beside the templates (an ``inventory.yaml`` in a template's folder or
    above it, ``infra/inventory.yaml`` included), or an empty one."""
    for start in (p.resolve().parent for p in templates):
        for directory in (start, *start.parents):
            for candidate in (directory / "inventory.yaml", directory / DEFAULT_PATH):
                if candidate.is_file():
                    return load_inventory(candidate)
    return EMPTY


def legend_note(items: Sequence[Item], width: int) -> list[str]:
    """The lines a diagram writes under its legend for the inventory's items it draws no
    box for: those in scope, then those out of it, each with its scope."""
    lines: list[str] = []
    for heading, chosen in (
        ("Also in scope", [i for i in items if i.scope != OUT]),
        ("Out of scope", [i for i in items if i.scope == OUT]),
    ):
        if chosen:
            named = "; ".join(f"{i.name} ({i.scope})" for i in chosen)
            lines += textwrap.wrap(f"{heading}, from {DEFAULT_PATH}: {named}.", width)
    return lines
