"""The parameter values each template is analysed with: a ``variants.yaml`` beside a
template lists them (its header documents the schema), one architecture of the report per
variant; a template without one is analysed once, at its parameters' defaults.

Adding a variant is an edit of that file, not of the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FILE = "variants.yaml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Variant:
    """One way of deploying a template: a name for the report and the parameter values
    that differ from the defaults (``None``: the name comes from the template's folder)."""

    name: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""


DEFAULTS = (Variant(),)


def variants_file(template: Path) -> Path:
    return template.parent / FILE


def load_variants(template: Path) -> tuple[Variant, ...]:
    """The variants declared beside ``template``, or one at the defaults."""
    path = variants_file(template)
    if not path.is_file():
        return DEFAULTS
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = raw.get("variants") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a non-empty `variants:` list")
    found: list[Variant] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: variant {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"{where}: needs a name")
        name = entry["name"]
        if not _NAME.match(name) or name in {v.name for v in found}:
            raise ValueError(f"{where}: bad or duplicate name {name!r}")
        parameters = entry.get("parameters") or {}
        if not isinstance(parameters, dict) or not all(
            isinstance(v, str | int | float | bool) for v in parameters.values()
        ):
            raise ValueError(f"{where}: parameters must map names to values")
        found.append(
            Variant(
                name,
                {str(k): v for k, v in parameters.items()},
                " ".join(str(entry.get("description", "")).split()),
            )
        )
    return tuple(found)
