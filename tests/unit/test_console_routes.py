"""The console's static routes, in process: what is served, with which headers."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

from cardline import audit
from cardline.http.app import App
from cardline.http.console_routes import CONSOLE_CSP, CONSOLE_FILES, console_routes
from cardline.http.messages import Request

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_DIR = ROOT / "src" / "cardline" / "console"


class _NoOne:
    def authenticate(self, request: Request) -> str:
        raise AssertionError("the console's static files need no authentication")


class _Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


@pytest.fixture
def app() -> App:
    return App(console_routes(), _NoOne(), _Events())


@pytest.mark.parametrize("path", sorted(CONSOLE_FILES))
def test_each_file_is_served_without_authentication_under_a_strict_csp(app: App, path: str) -> None:
    answer = app.handle(Request("GET", path))
    assert answer.status == 200
    assert answer.body == (CONSOLE_DIR / CONSOLE_FILES[path][0]).read_bytes()
    assert answer.headers["Content-Type"] == CONSOLE_FILES[path][1]
    assert answer.headers["Content-Security-Policy"] == CONSOLE_CSP
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"


def test_csp_allows_only_the_sites_own_script_style_and_connections() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONSOLE_CSP.split(";"))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "connect-src", "form-action"):
        assert directives[name] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONSOLE_CSP


def test_a_dot_in_a_route_matches_only_a_dot(app: App) -> None:
    assert app.handle(Request("GET", "/console/consoleXjs")).status == 404
    assert app.handle(Request("GET", "/console/../index.html")).status == 404


def test_the_page_has_no_inline_code_and_no_card_autocomplete() -> None:
    html = (CONSOLE_DIR / "index.html").read_text()
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert "<style" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers
    assert re.search(r'\sstyle="', html) is None
    assert "cc-" not in html  # no autocomplete="cc-number" and the like
    for field in ("card-number", "card-expiry", "card-cvv", "card-name"):
        tag = re.search(rf'<input id="{field}"[^>]*>', html)
        assert tag is not None
        assert 'autocomplete="off"' in tag.group(0)
        assert " name=" not in tag.group(0)  # a native submission could not carry it
    for form in re.findall(r"<form [^>]*>", html):
        assert 'method="post"' in form


def test_every_console_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["cardline"]
    for file in CONSOLE_DIR.iterdir():
        if file.suffix == ".py" or file.name == "__pycache__":
            continue
        name = f"console/{file.name}"
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
