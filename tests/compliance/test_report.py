"""The report as a whole: the committed sample in docs/compliance/ is in step with the
templates, the command runs on a user's own template, and index.html renders in Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cardline.cli import main
from cardline.compliance.report import Report
from tests.compliance.conftest import ARCHITECTURES, FIXTURES, ROOT
from tests.compliance.test_diagrams import svg_nodes

COMMITTED = ROOT / "docs" / "compliance"
STALE = "docs/compliance/ is out of step with the templates: run `make report`"


@pytest.mark.parametrize("name", ["report.md", "matrix.md"])
def test_the_committed_text_is_what_the_templates_give(
    name: str, report: tuple[Report, Path]
) -> None:
    _built, out = report
    assert (COMMITTED / name).read_text() == (out / name).read_text(), STALE


def test_the_committed_diagrams_show_the_same_nodes(report: tuple[Report, Path]) -> None:
    # Images differ byte for byte between Graphviz builds; their labelled nodes must not.
    _built, out = report
    fresh = sorted(p.name for p in out.glob("*.svg"))
    assert fresh == sorted(p.name for p in COMMITTED.glob("*.svg")), STALE
    for name in fresh:
        assert svg_nodes((COMMITTED / name).read_text()) == svg_nodes((out / name).read_text())
        assert (COMMITTED / name).with_suffix(".png").is_file()


def test_the_command_runs_on_a_users_own_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "ours" / "template.yaml"
    mine.parent.mkdir()
    shutil.copy(FIXTURES / "minimal.yaml", mine)
    out = tmp_path / "report"
    assert main(["compliance", "report", "--out", str(out), "--template", str(mine)]) == 0
    written = capsys.readouterr().out.split()
    assert str(out / "index.html") in written
    text = (out / "report.md").read_text()
    assert "| ours |" in text
    assert "ChargeFunction, PaymentsApi" in text
    assert {"ChargeFunction", "ServerlessRestApi"} <= svg_nodes(
        (out / "ours-connections.svg").read_text()
    )


def test_a_missing_template_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compliance", "report", "--out", str(tmp_path), "--template", "nope.yaml"])
    assert code == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_index_html_is_self_contained(report: tuple[Report, Path]) -> None:
    _built, out = report
    page = (out / "index.html").read_text()
    assert not re.search(r"""(src|href)=["'](https?:|//|file:)""", page)
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 2 * len(ARCHITECTURES)
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_index_html_renders_every_image_in_chromium(report: tuple[Report, Path]) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.chromium import launch

    _built, out = report
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto((out / "index.html").as_uri())
            widths = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"
            )
            headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
            page.screenshot(path=str(out / "index-screenshot.png"))
        finally:
            browser.close()
    assert len(widths) == 2 * len(ARCHITECTURES)
    assert all(w > 0 for w in widths)
    assert "Scope summary, side by side" in headings
    assert any("responsibility matrix" in h for h in headings)


def test_no_generated_file_names_a_path_of_the_machine_that_made_it(
    report: tuple[Report, Path],
) -> None:
    _, out = report
    machine = (str(ROOT), str(Path.home()), "site-packages", "/tmp/")
    for path in [*out.iterdir(), *(ROOT / "docs" / "compliance").iterdir()]:
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert not [m for m in machine if m in text], path.name
