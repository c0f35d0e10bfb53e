"""Debian's Chromium under Playwright, as the browser tests and the screenshot script start it.

Never `playwright install` (its download is blocked here): the browser is Debian's package,
/usr/bin/chromium, which `make test` installs when it is missing.
"""

from __future__ import annotations

import os

from playwright.sync_api import Browser, Playwright

CHROMIUM = os.environ.get("CARDLINE_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home, and the closed
# network here refuses it many times a second.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MISSING = f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)"


def launch(playwright: Playwright) -> Browser:
    """Headless Debian Chromium; raises FileNotFoundError when it is not installed."""
    if not os.path.exists(CHROMIUM):
        raise FileNotFoundError(MISSING)
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
