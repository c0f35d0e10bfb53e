"""Screenshots of the agent console for the README: `make screenshots` (not part of make test).

    python -m tests.browser.screenshots docs/console

Starts a local stack of its own (emulator, temporary data directory), takes a few payments
through the API so the list has something in it, then walks the console in Debian's
Chromium: sign-in.png, payment.png, payments.png, refund.png.
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

from cardline.local import build_local, serve_in_background
from tests.browser.chromium import launch
from tests.cards import AMEX, AMEX_CVV, CVV, DISCOVER, MASTERCARD, VISA, future_expiry, payment

VIEWPORT: ViewportSize = {"width": 1200, "height": 820}

SEED = [  # the payments list's contents: card, code, amount, name, reference
    (MASTERCARD, CVV, "89.00", "Ada Lovelace", "order-1003"),
    (VISA, CVV, "12.50", "CCREJECT-IF", "order-1004"),
    (DISCOVER, CVV, "240.00", "Alan Turing", "order-1005"),
    (VISA, CVV, "35.00", "Katherine Johnson", "order-1006"),
]


def _post(url: str, key: str, path: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        data: dict[str, object] = json.load(answer)
        return data


def _seed(url: str, key: str) -> None:
    for number, code, amount, name, reference in SEED:
        body = payment(number, code=code, amount=amount, name=name, reference=reference)
        _post(url, key, "/v1/payments", body)


def _walk(page: Page, url: str, key: str, out: Path) -> None:
    page.goto(url + "/")
    page.get_by_label("Operator key").fill(key)
    page.screenshot(path=out / "sign-in.png")

    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Take a payment").wait_for()
    page.get_by_label("Amount", exact=True).fill("120.00")
    page.get_by_label("Card number").fill(AMEX)
    page.get_by_label("Expiry").fill(future_expiry())
    page.get_by_label("Security code").fill(AMEX_CVV)
    page.get_by_label("Cardholder name").fill("Grace Hopper")
    page.get_by_label("Reference").fill("order-1007")
    page.get_by_role("button", name="Charge card").click()
    page.locator("#receipt").wait_for()
    # The next call starts while the receipt of the last one is still on screen.
    page.get_by_label("Amount", exact=True).fill("18.20")
    page.get_by_label("Card number").fill(VISA[:7])
    page.screenshot(path=out / "payment.png")
    page.get_by_role("button", name="Clear").click()

    page.get_by_role("button", name="Payments").click()
    page.locator("#payments-rows tr").first.wait_for()
    page.screenshot(path=out / "payments.png", full_page=True)

    page.locator("#payments-rows tr", has_text="order-1007").get_by_role("button").click()
    page.get_by_label("Part of it").check()
    page.get_by_label("Amount to refund").fill("20.00")
    page.get_by_role("button", name="Refund…").click()
    page.get_by_role("button", name="Confirm refund").click()
    page.locator("#refund-outcome").wait_for()
    page.get_by_label("Part of it").check()
    page.get_by_label("Amount to refund").fill("15.00")
    page.get_by_role("button", name="Refund…").click()
    page.locator("#detail").scroll_into_view_if_needed()
    page.locator("#detail").screenshot(path=out / "refund.png")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.browser.screenshots OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cardline-screenshots-") as data_dir:
        stack = build_local(Path(data_dir), environ={})
        _operator, key = stack.operators.add("agent-1", role="supervisor")
        server = serve_in_background(stack.app)
        try:
            _seed(server.url, key)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    page = browser.new_page(viewport=VIEWPORT)
                    _walk(page, server.url, key, out)
                finally:
                    browser.close()
        finally:
            server.stop()
            stack.close()
    for name in ("sign-in", "payment", "payments", "refund"):
        print(out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
