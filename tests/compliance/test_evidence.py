"""Every evidence reference of the matrix resolves to a file, test, heading, generated
artefact or template resource that exists."""

from __future__ import annotations

from pathlib import Path

from cardline.compliance.evidence import resolve_path, unresolved
from cardline.compliance.matrix import Requirements, load_requirements
from cardline.compliance.report import Report
from tests.compliance.conftest import ROOT


def test_every_evidence_reference_resolves(
    report: tuple[Report, Path], requirements: Requirements
) -> None:
    built, out = report
    assert unresolved(requirements, built.architectures, ROOT, out) == []


def test_every_row_with_files_for_evidence_shows_them(report: tuple[Report, Path]) -> None:
    built, _out = report
    for a in built.architectures:
        for x in a.assignments:
            declared = [
                ref
                for kind in ("code", "tests", "docs", "artefacts")
                for ref in x.requirement.evidence.get(kind, ())
            ]
            shown = {e.replace(a.name, "{name}") for e in x.evidence}
            assert set(declared) <= shown, f"{a.name} {x.requirement.id}"


def test_a_missing_test_heading_or_file_is_reported() -> None:
    assert (
        resolve_path(
            "tests/ivr/test_flow.py::test_the_walk_reaches_every_block_of_both_flows", ROOT
        )
        is None
    )
    assert resolve_path("docs/ivr.md#Call recording", ROOT) is None
    assert resolve_path("tests/ivr/test_flow.py::test_no_such_thing", ROOT)
    assert resolve_path("docs/ivr.md#No such heading", ROOT)
    assert resolve_path("docs/no-such-file.md", ROOT)


def test_a_dead_reference_in_the_rules_fails_the_check(
    report: tuple[Report, Path],
) -> None:
    built, out = report
    text = (ROOT / "src/cardline/compliance/requirements.yaml").read_text()
    broken = text.replace("docs/ivr.md#Call recording", "docs/ivr.md#Call recordings", 1).replace(
        "resource_ids: [OperatorPool]", "resource_ids: [OperatorsPool]", 1
    )
    problems = unresolved(load_requirements(broken), built.architectures, ROOT, out)
    assert any("Call recordings" in p for p in problems)
    assert any("OperatorsPool" in p for p in problems)
