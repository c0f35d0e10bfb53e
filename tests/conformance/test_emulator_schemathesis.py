"""schemathesis, driven by PayPal's own Payments v2 document, against the emulator.

Every operation of payments_payment_v2.json (the emulator implements them all: get,
capture, reauthorize and void an authorization, get and refund a capture, get a refund),
through schemathesis' phases with a fixed seed, on real resources: the path ids are an
authorization past its honour period, a capture and a refund made beforehand. Passes only
with no server error, no answer outside the document and no schema-violating request taken.

``positive_data_acceptance`` is left out, as in tests/fuzz: a schema-valid request can be
refused rightly (a currency code is three characters in the schema and one of PayPal's
currencies in fact; an amount can be valid and still exceed what is left to capture).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardline.sandbox import Emulator
from tests.conformance.spec import SKIP_REASON, SPEC_DIR
from tests.paypal_http import PayPalHttp, order_body

pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason=SKIP_REASON)

SEED = 20261202
MAX_EXAMPLES = 30  # per operation and phase: about 600 cases, well under a minute
MIN_CASES = 400
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def _resources(emulator: Emulator) -> dict[str, str]:
    """An authorization past its honour period, a capture and a refund of it; a token."""
    paypal = PayPalHttp(emulator.base_url)
    try:
        created = paypal.create_order(order_body(intent="AUTHORIZE", value="100.00"))
        order = paypal.call("GET", f"/v2/checkout/orders/{created.json()['id']}").json()
        authorization = order["purchase_units"][0]["payments"]["authorizations"][0]["id"]
        created = paypal.create_order(order_body(value="100.00"))
        order = paypal.call("GET", f"/v2/checkout/orders/{created.json()['id']}").json()
        capture = order["purchase_units"][0]["payments"]["captures"][0]["id"]
        one = {"amount": {"currency_code": "USD", "value": "1.00"}}
        refund = paypal.call("POST", f"/v2/payments/captures/{capture}/refund", one).json()
        emulator.advance_clock(days=4)  # so that reauthorize can succeed
        return {
            "authorization_id": authorization,
            "capture_id": capture,
            "refund_id": refund["id"],
            "token": paypal.token(),
        }
    finally:
        paypal.close()


def test_paypals_payments_document_finds_nothing_wrong_with_the_emulator(
    emulator: Emulator, tmp_path: Path
) -> None:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable is not None, "schemathesis is a pinned dev dependency"
    assert SPEC_DIR is not None
    ids = _resources(emulator)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'base-url = "{emulator.base_url}"\n'
        f'headers = {{ Authorization = "Bearer {ids["token"]}" }}\n\n'
        "[parameters]\n"
        + "".join(f'"path.{name}" = "{ids[name]}"\n' for name in ids if name != "token")
    )
    result = subprocess.run(
        [
            executable,
            "--config-file",
            str(config),
            "run",
            str(SPEC_DIR / "payments_payment_v2.json"),
            "--checks",
            "all",
            "--exclude-checks",
            EXCLUDED_CHECKS,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--generation-deterministic",
            "--workers",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    cases = re.search(r"(\d+) generated", output)
    assert cases is not None, output[-3000:]
    assert int(cases.group(1)) >= MIN_CASES
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    assert selected is not None
    assert selected.group(1) == selected.group(2) == "7"  # every operation of the document
