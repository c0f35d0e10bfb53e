"""The report, built once for the session from the repository's templates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture, analyse
from cardline.compliance.flows import Declaration, load_declaration
from cardline.compliance.matrix import Requirements, load_requirements
from cardline.compliance.report import Report, build

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATES = {
    "serverless": Path("infra/serverless/template.yaml"),
    "traditional": Path("infra/traditional/template.yaml"),
}


@pytest.fixture(scope="session")
def declaration() -> Declaration:
    return load_declaration()


@pytest.fixture(scope="session")
def requirements() -> Requirements:
    return load_requirements()


@pytest.fixture(scope="session")
def architectures(declaration: Declaration, requirements: Requirements) -> dict[str, Architecture]:
    return {
        name: analyse(name, ROOT / path, declaration, requirements)
        for name, path in TEMPLATES.items()
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
