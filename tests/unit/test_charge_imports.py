"""The charge Lambda's import graph stays at the standard-library floor (PCI scope, cold start).

Each check runs a fresh interpreter that imports the entry point and takes one real
payment through ``handler`` against the emulator, so lazily imported code counts too.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cardline.sandbox import Emulator
from tests.artifacts import run

EVENT = Path(__file__).resolve().parents[2] / "events" / "charge-rest-v1.json"
FORBIDDEN = (
    "boto3",
    "botocore",
    "pydantic",
    "paypalserversdk",
    "paypalrestsdk",
    "requests",
    "urllib3",
    "httpx",
    "yaml",
    "sqlite3",
    "waitress",
    "aws_lambda_powertools",
)
BACKOFFICE = (
    "cardline.ledger",
    "cardline.refund",
    "cardline.http.backoffice_routes",
    "cardline.operators",
    "cardline.sandbox",
    "cardline.local",
)

_PROGRAM = """
import json, sys
import cardline.cde.http.lambda_charge as entry
event = json.load(open(sys.argv[1]))
answer = entry.handler(event, None)
with open(sys.argv[2], "w") as out:
    json.dump({"answer": answer, "modules": sorted(sys.modules)}, out)
"""


@pytest.fixture(scope="module")
def after_a_payment(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> dict[str, object]:
    out = tmp_path_factory.mktemp("imports") / "result.json"
    with Emulator() as emulator:
        env = {
            **os.environ,
            "PAYPAL_CLIENT_ID": emulator.client_id,
            "PAYPAL_CLIENT_SECRET": emulator.client_secret,
            "PAYPAL_BASE_URL": emulator.base_url,
            "CARDLINE_FINGERPRINT_KEY": "k" * 64,
        }
        run(
            [sys.executable, "-c", _PROGRAM, str(EVENT), str(out)],
            artifacts,
            check=True,
            env=env,
            timeout=60,
        )
    result: dict[str, object] = json.loads(out.read_text())
    return result


def test_the_handler_takes_a_real_payment(after_a_payment: dict[str, object]) -> None:
    answer = after_a_payment["answer"]
    assert isinstance(answer, dict)
    assert answer["statusCode"] == 201
    assert json.loads(answer["body"])["status"] == "approved"


def test_charge_entry_point_loads_no_sdk_database_or_validation_framework(
    after_a_payment: dict[str, object],
) -> None:
    loaded = after_a_payment["modules"]
    assert isinstance(loaded, list)
    assert sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN) == []
    assert "cardline.cde.paypal" in loaded


def test_charge_entry_point_loads_no_backoffice_code(after_a_payment: dict[str, object]) -> None:
    loaded = after_a_payment["modules"]
    assert isinstance(loaded, list)
    assert [m for m in BACKOFFICE if m in loaded] == []


def test_charge_path_uses_only_the_standard_library(after_a_payment: dict[str, object]) -> None:
    loaded = after_a_payment["modules"]
    assert isinstance(loaded, list)
    third_party = sorted(
        m
        for m in loaded
        if m.split(".")[0] not in sys.stdlib_module_names
        and not m.startswith("cardline")
        and m.split(".")[0] not in {"__main__", "_distutils_hack"}
    )
    assert third_party == []
