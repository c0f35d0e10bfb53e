"""Resolve the responsibility matrix's evidence references to what they name.

A reference is a repository path (``code``), a test (``tests/x.py::test_name``), a
document heading (``docs/x.md#Heading``), a file the report writes (``artefacts``,
``report.md#Heading``, ``{name}`` standing for the architecture) or a template resource
(``template.yaml#LogicalId`` in an assignment). :func:`unresolved` lists every one that
names nothing, so a renamed heading, test or resource fails a test instead of leaving the
assessor a dead reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from cardline.compliance.architecture import Architecture
from cardline.compliance.matrix import Requirements

PATH_KINDS = ("code", "tests", "docs")


def _has_heading(path: Path, heading: str) -> bool:
    pattern = re.compile(rf"^#{{1,6}} {re.escape(heading)}\s*$", re.M)
    return bool(pattern.search(path.read_text("utf-8")))


def _has_test(path: Path, name: str) -> bool:
    pattern = re.compile(rf"^\s*(async\s+)?def {re.escape(name)}\(", re.M)
    return bool(pattern.search(path.read_text("utf-8")))


def resolve_path(reference: str, root: Path) -> str | None:
    """None when ``reference`` (``path``, ``path::test`` or ``path#Heading``) names
    something under ``root``; else why not."""
    if "::" in reference:
        file, test = reference.split("::", 1)
        path = root / file
        if not path.is_file():
            return f"{reference}: no file {file}"
        return None if _has_test(path, test) else f"{reference}: no test {test} in {file}"
    file, _, heading = reference.partition("#")
    path = root / file
    if not path.exists():
        return f"{reference}: no file {file}"
    if heading and not _has_heading(path, heading):
        return f"{reference}: no heading {heading!r} in {file}"
    return None


def resolve_artefact(reference: str, out_dir: Path, name: str) -> str | None:
    """None when the report written into ``out_dir`` holds ``reference`` for the
    architecture ``name``; else why not."""
    return resolve_path(reference.replace("{name}", name), out_dir)


def unresolved(
    requirements: Requirements,
    architectures: Iterable[Architecture],
    root: Path,
    out_dir: Path | None = None,
) -> list[str]:
    """Every evidence reference of the matrix that names nothing: paths, tests and
    headings under ``root``; artefacts in ``out_dir`` (when given) for each architecture;
    logical ids that none of the architectures' templates hold; and every template
    reference an assignment shows."""
    architectures = list(architectures)
    problems: list[str] = []
    for requirement in requirements.items:
        sources = [requirement.evidence, *(rule.evidence for rule in requirement.rules)]
        for evidence in sources:
            for kind in PATH_KINDS:
                problems += [
                    f"{requirement.id}: {p}"
                    for ref in evidence.get(kind, ())
                    if (p := resolve_path(ref, root))
                ]
            for logical_id in evidence.get("resource_ids", ()):
                if not any(
                    logical_id in a.template.resources or logical_id in a.template.unmade
                    for a in architectures
                ):
                    problems.append(f"{requirement.id}: no template holds {logical_id}")
            if out_dir is not None:
                problems += [
                    f"{requirement.id} ({a.name}): {p}"
                    for ref in evidence.get("artefacts", ())
                    for a in architectures
                    if (p := resolve_artefact(ref, out_dir, a.name))
                ]
    for a in architectures:
        for assignment in a.assignments:
            for item in assignment.evidence:
                file, _, logical_id = item.partition("#")
                if file == a.template.path.name and logical_id not in a.template.resources:
                    problems.append(f"{assignment.requirement.id} ({a.name}): {item}")
    return problems
