"""PCI DSS 6.4.3 / 11.6.1: the console's script inventory is generated from its files, the
page carries their hashes, the CSP allows exactly the page's import map, and `verify`
tells a served console that differs from the inventory."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.cde.http.app import App, Caller
from cardline.cde.http.messages import Request
from cardline.cli import main as cli
from cardline.http import console_integrity
from cardline.http.console_integrity import WHY, Fetch, csp_source, generated, sri, verify
from cardline.http.console_routes import CONSOLE_FILES, console_routes

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "src" / "cardline" / "console"
URL = "https://pay.example.com/"


class _NoOne:
    def authenticate(self, request: Request) -> Caller:
        raise AssertionError("the console's files need no authentication")


class _Events:
    def emit(self, event: audit.AuditEvent) -> None:
        pass


def _served(changed: Mapping[str, bytes] | None = None, csp: str | None = None) -> Fetch:
    """A fetch answering from the console's routes in process, ``changed`` bodies swapped in."""
    app = App(console_routes(), _NoOne(), _Events())

    def fetch(url: str) -> tuple[int, Mapping[str, str], bytes]:
        path = "/" + url.removeprefix(URL)
        answer = app.handle(Request("GET", path))
        headers = dict(answer.headers)
        if csp is not None:
            headers["Content-Security-Policy"] = csp
        return answer.status, headers, (changed or {}).get(path, answer.body)

    return fetch


def test_the_page_and_inventory_are_current() -> None:
    page, document = generated(CONSOLE_DIR)
    assert page == (CONSOLE_DIR / "index.html").read_text(encoding="utf-8"), (
        "stale: python -m cardline.http.console_integrity --write"
    )
    assert document == (CONSOLE_DIR / "inventory.json").read_text(encoding="utf-8")


def test_every_script_and_style_sheet_served_is_listed_with_its_reason() -> None:
    served = {
        name for name, media in CONSOLE_FILES.values() if "javascript" in media or "css" in media
    }
    assert served == set(WHY)
    inventory = json.loads((CONSOLE_DIR / "inventory.json").read_text())
    for item in inventory["scripts"]:
        name = item["path"].removeprefix("console/")
        assert item["integrity"] == sri((CONSOLE_DIR / name).read_bytes()), name
        assert len(item["why"]) >= 20, name
        assert item["loaded_by"] != "nothing (unused)", name


def test_the_page_checks_every_module_and_the_csp_allows_only_its_import_map() -> None:
    html = (CONSOLE_DIR / "index.html").read_text(encoding="utf-8")
    (text,) = re.findall(r'<script type="importmap">(.*?)</script>', html)
    modules = json.loads(text)["integrity"]
    on_disk = {f"./console/{f.name}" for f in CONSOLE_DIR.glob("*.js")}
    assert set(modules) == on_disk
    for tag in re.findall(
        r"<(?:script|link)\b[^>]*\b(?:src|href)=\"console/[^\"]+\.(?:js|css)\"[^>]*>", html
    ):
        assert 'integrity="sha384-' in tag, tag
    inventory = json.loads((CONSOLE_DIR / "inventory.json").read_text())
    assert inventory["importmap_csp_source"] == csp_source(text)
    served = App(console_routes(), _NoOne(), _Events()).handle(Request("GET", "/"))
    assert f"script-src 'self' {csp_source(text)};" in served.headers["Content-Security-Policy"]


def test_verify_accepts_the_console_as_this_checkout_serves_it() -> None:
    assert verify(URL, _served()) == []


@pytest.mark.parametrize("path", ["/", "/console/checks.js", "/console/console.css"])
def test_verify_names_a_file_that_differs(path: str) -> None:
    original = _served()(URL + path.lstrip("/"))[2]
    problems = verify(URL, _served({path: original + b"\n"}))
    assert len(problems) == 1
    assert "differs" in problems[0]
    assert (path.lstrip("/") or URL) in problems[0]


def test_verify_names_a_weakened_script_policy() -> None:
    weak = "default-src 'none'; script-src 'self' 'unsafe-inline'"
    (problem,) = verify(URL, _served(csp=weak))
    assert "script-src" in problem


def test_verify_refuses_plain_http_to_another_host() -> None:
    with pytest.raises(ValueError, match="https"):
        console_integrity._fetch("http://pay.example.com/")


def test_the_generator_rewrites_a_stale_page(tmp_path: Path) -> None:
    folder = tmp_path / "console"
    shutil.copytree(CONSOLE_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with open(folder / "checks.js", "a", encoding="utf-8") as script:
        script.write("\n// changed\n")
    assert console_integrity.main(["--check", "--folder", str(folder)]) == 1
    assert console_integrity.main(["--write", "--folder", str(folder)]) == 0
    assert console_integrity.main(["--check", "--folder", str(folder)]) == 0
    assert sri((folder / "checks.js").read_bytes()) in (folder / "index.html").read_text()


def test_the_command_verifies_a_served_console(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(console_integrity, "_fetch", _served({"/console/api.js": b"tampered"}))
    assert cli(["console", "verify", "--url", URL]) == 1
    assert "console/api.js: its hash differs" in capsys.readouterr().out
