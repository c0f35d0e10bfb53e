"""The report, built once for the session from the repository's templates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture, analyse
from cardline.compliance.flows import Declaration, load_declaration
from cardline.compliance.inventory import find_inventory
from cardline.compliance.matrix import Requirements, load_requirements
from cardline.compliance.report import Report, build
from cardline.compliance.variants import load_variants

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATES = {
    "serverless": Path("infra/serverless/template.yaml"),
    "traditional": Path("infra/traditional/template.yaml"),
}
# Every architecture the report analyses: each variant of each template (variants.yaml).
ARCHITECTURES = {
    variant.name or path.parent.name: (path, variant.parameters)
    for path in TEMPLATES.values()
    for variant in load_variants(ROOT / path)
}


@pytest.fixture(scope="session")
def declaration() -> Declaration:
    return load_declaration()


@pytest.fixture(scope="session")
def requirements() -> Requirements:
    return load_requirements()


@pytest.fixture(scope="session")
def architectures(declaration: Declaration, requirements: Requirements) -> dict[str, Architecture]:
    """Each architecture as the report analyses it, with the inventory beside the templates."""
    inventory = find_inventory([ROOT / path for path in TEMPLATES.values()])
    return {
        name: analyse(
            name, ROOT / path, declaration, requirements, inventory=inventory, parameters=parameters
        )
        for name, (path, parameters) in ARCHITECTURES.items()
    }


@pytest.fixture(scope="session")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Path]:
    """`cardline compliance report` from the repository root, as `make report` runs it."""
    out = tmp_path_factory.mktemp("compliance-report")
    here = Path.cwd()
    os.chdir(ROOT)  # the report names templates relative to where it runs
    try:
        built = build(list(TEMPLATES.values()), out)
    finally:
        os.chdir(here)
    return built, out
