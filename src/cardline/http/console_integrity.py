"""The console's script inventory and its integrity (PCI DSS 6.4.3 and 11.6.1).

The console is the page where an agent types card numbers, so every script it runs is
listed here with why it is needed, and the browser refuses any that differs from the
listed hash:

- the style sheet and the entry module carry ``integrity="sha384-..."`` attributes
  (Subresource Integrity);
- the modules ``console.js`` imports are covered by the ``integrity`` section of an import
  map, the one way SRI reaches a static ``import`` (HTML's import maps; Chromium 127+,
  Safari 18+, Firefox 138+; an older browser loads the modules unchecked);
- the import map is inline, allowed by its own hash in the page's Content-Security-Policy
  (``script-src 'self' 'sha256-...'``): no other inline script can run.

The head of ``console/index.html`` between the two marker lines and
``console/inventory.json`` (every file, its hash, what loads it and why; the page's own
hash) are generated from the files::

    python -m cardline.http.console_integrity --write   # after changing a console file
    python -m cardline.http.console_integrity --check   # what the tests run

and ``cardline console verify --url URL`` fetches a served console and compares the page,
its Content-Security-Policy and every script and style sheet with the inventory.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from cardline.cde.encoding import compact

CONSOLE_PACKAGE = "cardline.console"
INDEX = "index.html"
INVENTORY = "inventory.json"
ENTRY = "console.js"
STYLESHEET = "console.css"

BEGIN = "<!-- BEGIN integrity: python -m cardline.http.console_integrity --write -->"
END = "<!-- END integrity -->"

# Why each script and style sheet is on the payment page (PCI DSS 6.4.3: a written
# justification for each). A file served without an entry here fails the tests.
WHY: dict[str, str] = {
    "console.js": "the entry point: wires each feature module to the page once it loads",
    "api.js": "every call to the cardline API; holds the credential in memory only",
    "dom.js": "display helpers: errors beside their field, announcements, busy buttons",
    "session.js": "signing in and out, the agent's name and role, the shift total",
    "sign_in.js": "reads /console/config.json; the Cognito password and TOTP sign-in",
    "pay.js": "the payment form: checks the card, sends it once as a JSON body, empties it",
    "payments.js": "the payments list, its search and a payment's detail",
    "refund.js": "refunding the payment shown, after a confirmation step",
    "capture.js": "capturing, voiding or reauthorizing the authorization shown",
    "ivr.js": "agent-assisted IVR payments: start a session, follow its outcome",
    "checks.js": "card brand, check digit, expiry and amount checks before anything is sent",
    "console.css": "the page's layout and print style (a style sheet: no script)",
}

_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^;]*?\bfrom\s*["']\./([\w.]+\.js)["']""", re.M | re.S
)


@dataclass(frozen=True)
class Item:
    """One script or style sheet of the console page."""

    path: str  # relative to the page, as the page and the import map name it
    integrity: str
    loaded_by: str
    why: str


def sri(data: bytes) -> str:
    """Subresource Integrity metadata: ``sha384-`` and the base64 digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def csp_source(text: str) -> str:
    """The CSP hash source allowing one inline script whose text is ``text``."""
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def _read(name: str) -> bytes:
    return resources.files(CONSOLE_PACKAGE).joinpath(name).read_bytes()


def _importers(read: Callable[[str], bytes]) -> dict[str, list[str]]:
    """Which module imports which, from the modules' own import statements."""
    found: dict[str, list[str]] = {}
    for name in WHY:
        if name.endswith(".js"):
            for imported in _IMPORT.findall(read(name).decode()):
                found.setdefault(imported, []).append(name)
    return found


def items(read: Callable[[str], bytes] = _read) -> list[Item]:
    """Every script and style sheet the page loads, in a stable order."""
    importers = _importers(read)
    listed = []
    for name in sorted(WHY, key=lambda n: (n != ENTRY, n.endswith(".css"), n)):
        if name in (ENTRY, STYLESHEET):
            loaded_by = "index.html"
        else:
            loaded_by = ", ".join(sorted(importers.get(name, []))) or "nothing (unused)"
        listed.append(Item(f"console/{name}", sri(read(name)), loaded_by, WHY[name]))
    return listed


def importmap(listed: Sequence[Item]) -> str:
    """The import map's text: the integrity of every module, keyed as the page resolves it."""
    modules = {f"./{item.path}": item.integrity for item in listed if item.path.endswith(".js")}
    return compact({"integrity": modules})


def head(listed: Sequence[Item]) -> str:
    """The generated lines of the page's head, markers included."""
    by_path = {item.path: item for item in listed}
    css = by_path[f"console/{STYLESHEET}"]
    entry = by_path[f"console/{ENTRY}"]
    return "\n".join(
        [
            f"  {BEGIN}",
            f'  <script type="importmap">{importmap(listed)}</script>',
            f'  <link rel="stylesheet" href="{css.path}" integrity="{css.integrity}">',
            f'  <script type="module" src="{entry.path}" integrity="{entry.integrity}"></script>',
            f"  {END}",
        ]
    )


def render_index(page: str, listed: Sequence[Item]) -> str:
    """``page`` with its generated lines replaced by those for ``listed``."""
    start = page.index(f"  {BEGIN}")
    stop = page.index(END, start) + len(END)
    return page[:start] + head(listed) + page[stop:]


def inventory(page: bytes, listed: Sequence[Item]) -> dict[str, Any]:
    """The inventory document: the page's hash, the import map's CSP source, every item."""
    return {
        "generated_by": "python -m cardline.http.console_integrity --write",
        "page": {"path": INDEX, "integrity": sri(page)},
        "importmap_csp_source": csp_source(importmap(listed)),
        "scripts": [asdict(item) for item in listed],
    }


@cache
def committed_inventory() -> dict[str, Any]:
    """The inventory shipped with the console (what a served console must match)."""
    document: dict[str, Any] = json.loads(_read(INVENTORY))
    return document


def importmap_csp_source() -> str:
    """The CSP source that lets the page's import map, and no other inline script, run."""
    source: str = committed_inventory()["importmap_csp_source"]
    return source


# ----------------------------------------------------------------- checking a served console

Fetch = Callable[[str], tuple[int, Mapping[str, str], bytes]]


def _fetch(url: str) -> tuple[int, Mapping[str, str], bytes]:
    parts = urlsplit(url)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("verify fetches https:// URLs (plain http on loopback only)")
    with urllib.request.urlopen(url, timeout=20) as answer:  # noqa: S310 - scheme checked
        return answer.status, dict(answer.headers.items()), answer.read()


def verify(url: str, fetch: Fetch | None = None) -> list[str]:
    """What differs between the console served at ``url`` and the committed inventory:
    the page itself, its Content-Security-Policy, each script and style sheet. Empty when
    the served console is the one this checkout holds."""
    fetch = fetch or _fetch
    expected = committed_inventory()
    base = url if url.endswith("/") else url + "/"
    problems = []
    status, headers, page = fetch(base)
    if status != 200:
        return [f"{base}: HTTP {status}"]
    if sri(page) != expected["page"]["integrity"]:
        problems.append(f"{base}: the page differs from the inventory's ({INDEX})")
    csp = {k.lower(): v for k, v in headers.items()}.get("content-security-policy", "")
    scripts = next((d for d in csp.split(";") if d.split()[:1] == ["script-src"]), "")
    allowed = set(scripts.split()[1:])
    if allowed != {"'self'", expected["importmap_csp_source"]}:
        problems.append(f"{base}: script-src is {scripts.strip()!r}, not 'self' + the map's hash")
    for item in expected["scripts"]:
        address = urljoin(base, item["path"])
        status, _, body = fetch(address)
        if status != 200:
            problems.append(f"{address}: HTTP {status}")
        elif sri(body) != item["integrity"]:
            problems.append(f"{address}: its hash differs from the inventory's")
    return problems


# ----------------------------------------------------------------- generating


def _console_dir() -> Path:
    return Path(str(resources.files(CONSOLE_PACKAGE)))


def generated(folder: Path) -> tuple[str, str]:
    """The page and the inventory as they should be for the files in ``folder``."""

    def read(name: str) -> bytes:
        return (folder / name).read_bytes()

    listed = items(read)
    page = render_index((folder / INDEX).read_text(encoding="utf-8"), listed)
    document = inventory(page.encode(), listed)
    return page, json.dumps(document, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (``--write``) or compare (``--check``) the page's head and the inventory."""
    parser = argparse.ArgumentParser(prog="python -m cardline.http.console_integrity")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--write", action="store_true", help="rewrite index.html and inventory")
    parser.add_argument("--folder", type=Path, default=None, help="the console folder")
    arguments = parser.parse_args(argv)
    folder = arguments.folder or _console_dir()
    page, document = generated(folder)
    current = (
        (folder / INDEX).read_text(encoding="utf-8"),
        ((folder / INVENTORY).read_text(encoding="utf-8") if (folder / INVENTORY).exists() else ""),
    )
    if (page, document) == current:
        return 0
    if arguments.write and not arguments.check:
        (folder / INDEX).write_text(page, encoding="utf-8")
        (folder / INVENTORY).write_text(document, encoding="utf-8")
        print(f"rewrote {folder / INDEX} and {folder / INVENTORY}")
        return 0
    print("the console's integrity is stale: run python -m cardline.http.console_integrity --write")
    return 1


if __name__ == "__main__":
    sys.exit(main())
