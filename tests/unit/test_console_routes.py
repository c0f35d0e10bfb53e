"""The console's static routes, in process: what is served, with which headers."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.cde.http.app import App, Caller
from cardline.cde.http.messages import Request
from cardline.http.console_routes import (
    CONFIG_PATH,
    CONSOLE_FILES,
    CognitoSignIn,
    console_csp,
    console_routes,
)

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_DIR = ROOT / "src" / "cardline" / "console"
# Written out, not read from the code: a weakened policy must fail here.
# The page's one inline script, its import map, by the hash the inventory records
# (tests/unit/test_console_integrity.py checks that hash against the page).
IMPORTMAP = json.loads((CONSOLE_DIR / "inventory.json").read_text())["importmap_csp_source"]
LOCAL_CSP = (
    f"default-src 'none'; script-src 'self' {IMPORTMAP}; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
COGNITO_CSP = (
    f"default-src 'none'; script-src 'self' {IMPORTMAP}; style-src 'self'; img-src 'self'; "
    "connect-src 'self' https://cognito-idp.eu-central-1.amazonaws.com; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class _NoOne:
    def authenticate(self, request: Request) -> Caller:
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
    assert answer.headers["Content-Security-Policy"] == LOCAL_CSP
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"


def test_csp_allows_only_the_sites_own_script_style_and_connections(app: App) -> None:
    served = app.handle(Request("GET", "/")).headers["Content-Security-Policy"]
    directives = _directives(served)
    assert directives["default-src"] == "'none'"
    for name in ("style-src", "img-src", "connect-src", "form-action"):
        assert directives[name] == "'self'"
    assert directives["script-src"] == f"'self' {IMPORTMAP}"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe" not in served


def _directives(csp: str) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in csp.split(";"))


def test_locally_the_config_says_operator_key_and_the_page_connects_to_itself(app: App) -> None:
    answer = app.handle(Request("GET", CONFIG_PATH))
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    assert json.loads(answer.body) == {"auth": "operator-key"}
    assert answer.headers["Content-Security-Policy"] == LOCAL_CSP


def test_a_host_serving_ivr_sessions_says_so_in_the_config() -> None:
    app = App(console_routes(ivr_sessions=True), _NoOne(), _Events())
    answer = app.handle(Request("GET", CONFIG_PATH))
    assert json.loads(answer.body) == {"auth": "operator-key", "ivrSessions": True}


def test_on_aws_the_config_names_the_app_client_and_the_csp_allows_exactly_its_endpoint() -> None:
    cognito = CognitoSignIn("eu-central-1", "1abc2def3ghi4jkl5mno6pqr7s")
    app = App(console_routes(cognito), _NoOne(), _Events())
    config = app.handle(Request("GET", CONFIG_PATH))
    assert json.loads(config.body) == {
        "auth": "cognito",
        "region": "eu-central-1",
        "userPoolClientId": "1abc2def3ghi4jkl5mno6pqr7s",
        "endpoint": "https://cognito-idp.eu-central-1.amazonaws.com/",
    }
    for path in [*CONSOLE_FILES, CONFIG_PATH]:
        csp = app.handle(Request("GET", path)).headers["Content-Security-Policy"]
        assert csp == COGNITO_CSP
        directives = _directives(csp)
        assert directives["connect-src"] == "'self' https://cognito-idp.eu-central-1.amazonaws.com"
        # Everything else as strict as locally.
        local = _directives(LOCAL_CSP)
        assert {k: v for k, v in directives.items() if k != "connect-src"} == {
            k: v for k, v in local.items() if k != "connect-src"
        }


def test_a_loopback_stand_in_for_cognito_is_allowed_over_plain_http() -> None:
    cognito = CognitoSignIn("us-east-1", "client", "http://127.0.0.1:5123")
    assert cognito.endpoint == "http://127.0.0.1:5123/"
    assert _directives(console_csp(cognito))["connect-src"] == "'self' http://127.0.0.1:5123"


@pytest.mark.parametrize(
    ("region", "client_id", "endpoint"),
    [
        ("eu-central-1; script-src *", "client", ""),  # would widen the policy
        ("us-east-1", "client id", ""),
        ("us-east-1", "client", "http://cognito.example.com/"),  # plain HTTP off loopback
        ("us-east-1", "client", "https://cognito.example.com/path"),
        ("us-east-1", "client", "https://user@cognito.example.com/"),
        ("us-east-1", "client", "ftp://127.0.0.1/"),
        ("", "client", ""),
    ],
)
def test_a_malformed_sign_in_setting_is_refused(region: str, client_id: str, endpoint: str) -> None:
    with pytest.raises(ValueError, match="Cognito"):
        CognitoSignIn(region, client_id, endpoint)


def test_the_sign_in_settings_come_from_the_functions_environment() -> None:
    assert CognitoSignIn.from_env({"AWS_REGION": "us-west-2"}) is None
    found = CognitoSignIn.from_env({"AWS_REGION": "us-west-2", "CARDLINE_COGNITO_CLIENT_ID": "c1"})
    assert found == CognitoSignIn("us-west-2", "c1")
    assert found is not None
    assert found.endpoint == "https://cognito-idp.us-west-2.amazonaws.com/"


def test_a_dot_in_a_route_matches_only_a_dot(app: App) -> None:
    assert app.handle(Request("GET", "/console/consoleXjs")).status == 404
    assert app.handle(Request("GET", "/console/../index.html")).status == 404


def test_the_page_has_no_inline_code_and_no_card_autocomplete() -> None:
    html = (CONSOLE_DIR / "index.html").read_text()
    # The one script without src is the import map (data, not code; allowed by its hash).
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert inline == ['<script type="importmap">']
    assert "<style" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers
    assert re.search(r'\sstyle="', html) is None
    assert "cc-" not in html  # no autocomplete="cc-number" and the like
    assert re.search(r'(href|src)="/', html) is None  # relative: works under a stage path
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


_IMPORT = re.compile(r'^import [^;]*? from "\./([\w.]+)";', re.MULTILINE | re.DOTALL)
# A button's disabled state written anywhere but in dom.js's busy(): `x.disabled = ...`
# on a button, or on an element whose id names a button (the refund amount is an input).
_DISABLED = re.compile(r'(\$\("(?P<id>[\w-]+)"\)|\bbutton|\byes)\.disabled\s*=')


def test_every_module_the_page_imports_is_served_and_every_served_module_is_used() -> None:
    served = {name for name, media in CONSOLE_FILES.values() if "javascript" in media}
    on_disk = {file.name for file in CONSOLE_DIR.glob("*.js")}
    assert served == on_disk
    imported = {"console.js"}  # the page's one <script>
    for name in sorted(on_disk):
        imported |= set(_IMPORT.findall((CONSOLE_DIR / name).read_text()))
    assert imported == served


def test_only_the_busy_helper_disables_a_button() -> None:
    for file in sorted(CONSOLE_DIR.glob("*.js")):
        if file.name == "dom.js":
            continue
        for found in _DISABLED.finditer(file.read_text()):
            assert found.group("id") == "refund-amount", (file.name, found.group(0))
    dom = (CONSOLE_DIR / "dom.js").read_text()
    assert dom.count(".disabled = true") == 1  # in busy(), and nowhere else
