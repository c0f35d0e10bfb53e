"""The responsibility matrix covers every requirement PCI.md lists, and all twelve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture
from cardline.compliance.matrix import Assignment, Requirements
from cardline.compliance.report import Report
from tests.compliance.conftest import ROOT
from tests.reference_docs import missing

PCI_MD = ROOT.parent / "shared" / "brief" / "PCI.md"


def pci_md_ids(text: str) -> list[str]:
    """Requirement ids from PCI.md's table: "3.3.1 / 3.3.1.2", "10.3.1–10.3.4" and such."""
    ids: list[str] = []
    for line in text.splitlines():
        match = re.match(r"\|\s*([0-9][0-9.x /–-]*?)\s*\|", line)
        if not match:
            continue
        for part in match.group(1).split("/"):
            part = part.strip()
            span = re.fullmatch(r"(\d+(?:\.\d+)*)\.(\d+)\s*[–-]\s*\1\.(\d+)", part)
            if span:
                stem, low, high = span.groups()
                ids += [f"{stem}.{n}" for n in range(int(low), int(high) + 1)]
            elif part:
                ids.append(part)
    return ids


def test_the_committed_copy_of_pci_md_ids_is_the_matrix_scope(requirements: Requirements) -> None:
    listed = {r.id for r in requirements.items}
    assert requirements.pci_md_ids
    assert sorted(set(requirements.pci_md_ids) - listed) == []


def test_the_committed_copy_matches_pci_md() -> None:
    if not PCI_MD.is_file():
        pytest.skip(missing(f"{PCI_MD} (the committed copy of its ids stands in)"))
    assert pci_md_ids(PCI_MD.read_text()) == list(_copy())


def _copy() -> tuple[str, ...]:
    from cardline.compliance.matrix import load_requirements

    return load_requirements().pci_md_ids


def test_all_twelve_principal_requirements_are_assigned(
    architectures: dict[str, Architecture],
) -> None:
    for a in architectures.values():
        principal = [x.requirement.id for x in a.assignments if x.requirement.principal]
        assert principal == [str(n) for n in range(1, 13)]
        assert all(x.how and x.owner_label for x in a.assignments)


def test_every_matrix_row_appears_in_the_written_matrix(
    report: tuple[Report, Path], requirements: Requirements
) -> None:
    _built, out = report
    matrix = (out / "matrix.md").read_text()
    for requirement in requirements.items:
        assert re.search(rf"^\| (\*\*)?{re.escape(requirement.id)}(\*\*)? \|", matrix, re.M)
    for owner in ("AWS", "PayPal", "telephony provider", "shared: us + AWS"):
        assert owner in matrix


def test_requirements_2_and_5_follow_the_operating_system(
    architectures: dict[str, Architecture],
) -> None:
    def owner(name: str, requirement: str) -> str:
        return next(
            x.owner for x in architectures[name].assignments if x.requirement.id == requirement
        )

    assert owner("traditional", "2") == "us"
    assert owner("traditional", "5") == "us"
    assert owner("serverless", "2") == "shared"  # AWS hardens the OS; service config is ours


def test_the_firewall_option_changes_the_outbound_row(
    architectures: dict[str, Architecture],
) -> None:
    firewall = architectures["serverless-firewall"]

    def row(a: Architecture) -> Assignment:
        return next(x for x in a.assignments if x.requirement.id == "1.3.2")

    open_egress = row(architectures["serverless"])
    assert architectures["serverless"].facts["cde_egress_firewall"] is False
    assert firewall.facts["cde_egress_firewall"] is True
    firewall_row = row(firewall)
    assert "unrestricted egress" in open_egress.how
    assert open_egress.finding
    assert open_egress.owner == "us"
    assert "`CdeBehindFirewall`" in open_egress.note
    assert "domain allow-list" in firewall_row.how
    assert not firewall_row.finding
    assert firewall_row.owner == "shared"
    assert "CdeFirewall" in " ".join(firewall_row.evidence)
    assert "CdeEgressAllowList" in " ".join(firewall_row.evidence)
    assert "CdeFirewall" not in " ".join(open_egress.evidence)
