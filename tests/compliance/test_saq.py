"""The SAQ and validation statement: in the report, and derived from the model (a fixture
whose CDE changes changes the statement)."""

from __future__ import annotations

from pathlib import Path

from cardline.compliance.architecture import analyse
from cardline.compliance.flows import Declaration
from cardline.compliance.inventory import DEFAULT_PATH, load_inventory
from cardline.compliance.matrix import Requirements
from cardline.compliance.report import Report
from cardline.compliance.saq import SAQ_D, statement
from tests.compliance.conftest import FIXTURES, ROOT

_IVR = """  IvrFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: cardline.ivr.lambda_handler.handler
      Runtime: python3.13
      CodeUri: build/ivr.zip
"""


def test_the_report_states_the_saq_for_each_architecture(report: tuple[Report, Path]) -> None:
    built, out = report
    text = (out / "report.md").read_text()
    section = text.split("## SAQ and validation statement\n", 1)[1].split("\n## ", 1)[0]
    for a in built.architectures:
        assert f"**{a.name}**: the CDE holds" in section
    assert SAQ_D in section
    assert "Why not SAQ A:" in section
    assert "Why not SAQ C-VT:" in section
    assert "DTMF-masking" in section
    assert "PayPal-hosted card fields" in section


def test_the_statement_names_the_merchants_components_that_receive_the_pan(
    declaration: Declaration, requirements: Requirements
) -> None:
    a = analyse("fixture", FIXTURES / "minimal.yaml", declaration, requirements)
    s = statement(a, declaration)
    assert s.validation.startswith(SAQ_D)
    assert {r.key for r in s.receiving} == {"agent", "edge", "charge"}
    assert "charge (ChargeFunction)" in s.why_not_a
    assert "BackofficeFunction" in s.why_not_c_vt  # the console's host
    assert "telephone" not in s.why_not_c_vt


def test_an_ivr_in_the_template_adds_a_receiver_and_changes_the_statement(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    before = statement(
        analyse("fixture", FIXTURES / "minimal.yaml", declaration, requirements), declaration
    )
    path = tmp_path / "template.yaml"
    path.write_text((FIXTURES / "minimal.yaml").read_text().rstrip("\n") + "\n" + _IVR)
    after = statement(analyse("fixture", path, declaration, requirements), declaration)
    assert len(after.receiving) == len(before.receiving) + 1
    assert "ivr (IvrFunction)" in after.why_not_a
    assert "cards keyed on the telephone reach ivr (IvrFunction)" in after.why_not_c_vt
    assert after.why_not_a != before.why_not_a


def test_the_inventorys_cde_items_join_the_statement(
    report: tuple[Report, Path], declaration: Declaration, requirements: Requirements
) -> None:
    inventory = load_inventory(ROOT / DEFAULT_PATH)
    a = analyse(
        "fixture", FIXTURES / "minimal.yaml", declaration, requirements, inventory=inventory
    )
    s = statement(a, declaration)
    expected = {
        i.id for i in a.inventory if i.scope == "CDE" and i.zone in {"call-centre", "aws-account"}
    }
    assert "call-recordings" in expected
    assert {r.key for r in s.outside} == expected
    # The report's table and paragraph say the same.
    text = (report[1] / "report.md").read_text()
    section = text.split("## SAQ and validation statement\n", 1)[1].split("\n## ", 1)[0]
    assert "0: none" not in section
    assert f"and {len(expected)} more items of the inventory" in section
