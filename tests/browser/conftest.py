"""Playwright driving Debian's Chromium against a running local stack.

Never `playwright install`: the browser is /usr/bin/chromium (`make test` installs the
Debian package when it is missing). Each test gets a fresh browser context (no storage
shared between tests) and leaves the page's HTML, its visible text, its console messages
and the API answers it received in the artifacts directory, where the leak scan reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from tests.browser.chromium import CHROMIUM, MISSING, launch
from tests.cards import TEST_PANS
from tests.conftest import Running
from tests.leakscan import spellings


# Module scope: Playwright's sync API runs one event loop per thread, so the browser must
# be closed before another module (tests/compliance) starts a sync_playwright of its own.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # A failure, not a skip: `make test` installs Chromium, so a missing one is a broken setup.
    if not Path(CHROMIUM).exists():
        pytest.fail(MISSING)
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Console:
    """The console page of a running stack, with what the browser reported while on it."""

    page: Page
    running: Running
    history_length: int = 0  # history.length once the page was opened
    messages: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    def sign_in(self, key: str | None = None) -> None:
        """Sign in with ``key``, by default the running stack's (a supervisor's)."""
        self.page.get_by_label("Operator key").fill(key or self.running.key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("heading", name="Take a payment").wait_for()

    def fill_payment(
        self,
        number: str,
        code: str,
        *,
        expiry: str,
        name: str = "Ada Lovelace",
        amount: str = "12.50",
        reference: str | None = None,
    ) -> None:
        page = self.page
        page.get_by_label("Amount", exact=True).fill(amount)
        page.get_by_label("Card number").fill(number)
        page.get_by_label("Expiry").fill(expiry)
        page.get_by_label("Security code").fill(code)
        page.get_by_label("Cardholder name").fill(name)
        if reference is not None:
            page.get_by_label("Reference").fill(reference)

    def receipt_text(self) -> str:
        receipt = self.page.locator("#receipt")
        receipt.wait_for()
        return receipt.inner_text()


@pytest.fixture
def console(
    browser: Browser, running: Running, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Console]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    shown = Console(page, running)
    page.on("console", lambda message: shown.messages.append(_console_line(message)))
    page.on("pageerror", lambda error: shown.messages.append(f"pageerror: {error}"))
    page.on("response", lambda response: shown.responses.append(response))
    page.goto(running.url + "/")
    shown.history_length = page.evaluate("() => history.length")
    try:
        yield shown
    finally:
        _save(shown, artifacts / "browser", request.node.name)
        context.close()


def _console_line(message: ConsoleMessage) -> str:
    return f"{message.type}: {message.text}"


def _save(console: Console, folder: Path, test_name: str) -> None:
    """The page as it was left, what the browser logged and what the API answered."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "".join(c if c.isalnum() else "-" for c in test_name)[:80]
    page = console.page
    if not page.is_closed():
        (folder / f"{stem}.html").write_text(page.content(), encoding="utf-8")
        # Input values are not in the HTML: written too, so the scan sees a field left full.
        values = page.evaluate(
            "() => [...document.querySelectorAll('input')].map(e => `${e.id}=${e.value}`)"
        )
        text = page.locator("body").inner_text() + "\n\ninputs:\n" + "\n".join(values)
        (folder / f"{stem}.txt").write_text(text, encoding="utf-8")
    (folder / f"{stem}.console.log").write_text("\n".join(console.messages), encoding="utf-8")
    with open(folder / f"{stem}.answers.log", "w", encoding="utf-8") as out:
        for response in console.responses:
            if "/v1/" not in response.url:
                continue
            try:
                body = response.text()
            except Exception as error:  # noqa: BLE001 - a body the browser dropped is no leak
                body = f"(body not available: {type(error).__name__})"
            out.write(f"{response.request.method} {response.url} -> {response.status}\n{body}\n")


def assert_no_card_data_kept(console: Console, code: str) -> None:
    """No test card number, nor ``code``, anywhere a script, the history, a saved page or
    the browser console could find it afterwards."""
    page = console.page
    kept = page.evaluate(
        """() => JSON.stringify({
            local: Object.entries(localStorage), session: Object.entries(sessionStorage),
            cookie: document.cookie, url: location.href, history: history.length,
            state: history.state,
            values: [...document.querySelectorAll('input, select, output')].map(e => e.value),
        })"""
    )
    state = json.loads(kept)
    assert state["local"] == []
    assert state["session"] == []
    assert state["cookie"] == ""
    assert state["url"] == console.running.url + "/"  # no query, no fragment
    assert state["history"] == console.history_length
    assert state["state"] is None
    assert code not in state["values"]
    assert page.context.cookies() == []
    html = page.content()
    text = page.locator("body").inner_text()
    messages = "\n".join(console.messages)
    for pan in TEST_PANS:
        for spelling in spellings(pan):
            for where in (html, text, kept, messages):
                assert spelling not in where
    assert f'value="{code}"' not in html
