"""One architecture, analysed: its template, the permissions it grants, the declared flows
bound to it through them, the derived PCI DSS scope, the facts read from both, and the
responsibility matrix they decide."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardline.compliance.facts import Facts, derive_facts
from cardline.compliance.flows import Binding, Declaration, bind
from cardline.compliance.inventory import EMPTY, Inventory, Item
from cardline.compliance.matrix import Assignment, Requirements, assign
from cardline.compliance.permissions import Permissions, derive_permissions
from cardline.compliance.scope import Scope, derive
from cardline.compliance.template import Template, parse


@dataclass(frozen=True)
class Architecture:
    name: str
    template: Template
    permissions: Permissions
    binding: Binding
    scope: Scope
    facts: Facts
    assignments: list[Assignment]
    inventory: tuple[Item, ...] = ()  # what the template does not hold (infra/inventory.yaml)
    description: str = ""  # what sets this deployment apart (its variant's description)

    def outside_template(self, zone: str | None = None) -> tuple[Item, ...]:
        """The inventory's items for this architecture (in ``zone``, if given), for the
        scope table and the diagrams."""
        return tuple(i for i in self.inventory if zone in (None, i.zone))


def analyse(
    name: str,
    path: Path,
    declaration: Declaration,
    requirements: Requirements,
    inventory: Inventory = EMPTY,
    parameters: dict[str, Any] | None = None,
) -> Architecture:
    """Parse ``path``, deployed with ``parameters`` (the rest at their defaults), and
    derive everything the report shows about it."""
    template = parse(path, parameters)
    permissions = derive_permissions(template)
    binding = bind(declaration, template, permissions)
    scope = derive(template, declaration, binding, permissions)
    items = inventory.for_kind(binding.kind)
    facts = derive_facts(
        template,
        scope,
        binding=binding,
        declaration=declaration,
        inventory=items,
        file_facts=requirements.file_facts,
    )
    return Architecture(
        name,
        template,
        permissions,
        binding,
        scope,
        facts,
        assign(requirements, template, facts, name),
        items,
    )
