"""PCI DSS 6.4.3 in the browser: the console runs with Subresource Integrity on its entry
script and style sheet and on every module it imports (the import map's integrity), and
Chromium refuses a script whose bytes differ from the page's hash."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route

from tests.browser.conftest import Console
from tests.conftest import Running


def test_the_console_works_with_every_script_checked(console: Console) -> None:
    page = console.page
    assert page.evaluate("() => HTMLScriptElement.supports('importmap')") is True
    integrity = page.evaluate(
        "() => JSON.parse(document.querySelector('script[type=importmap]').textContent)"
    )["integrity"]
    assert len(integrity) == 11  # every module of the page
    console.sign_in()
    assert not [m for m in console.messages if "integrity" in m.lower()]


@pytest.mark.parametrize(
    "tampered",
    [
        "console/console.js",  # the entry script: its integrity attribute
        "console/checks.js",  # an imported module: the import map's integrity
    ],
)
def test_a_tampered_script_is_refused_and_never_runs(
    browser: Browser, running: Running, tampered: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))

    def serve_tampered(route: Route) -> None:
        answer = route.fetch()
        body = answer.body() + b"\nwindow.tampered = true;\n"
        route.fulfill(response=answer, body=body)

    page.route(f"**/{tampered}", serve_tampered)
    try:
        page.goto(running.url + "/")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => window.tampered === true") is False
        # The console never starts: the sign-in stays "loading", the form hidden.
        assert page.locator("#sign-in-form").is_hidden()
        assert page.locator("#sign-in-loading").is_visible()
        assert any("integrity" in m.lower() for m in messages), messages
    finally:
        context.close()
