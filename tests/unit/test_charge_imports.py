"""The charge Lambda's import graph stays at the standard-library floor (PCI scope, cold start)."""

from __future__ import annotations

import json
import subprocess
import sys

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


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_charge_entry_point_loads_no_sdk_database_or_validation_framework() -> None:
    loaded = _modules_after_import("cardline.http.lambda_charge")
    leaked = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN)
    assert leaked == []
    assert "cardline.http.lambda_charge" in loaded


def test_charge_entry_point_loads_no_backoffice_code() -> None:
    loaded = _modules_after_import("cardline.http.lambda_charge")
    for module in (
        "cardline.ledger",
        "cardline.refund",
        "cardline.http.backoffice_routes",
        "cardline.operators",
        "cardline.sandbox",
    ):
        assert module not in loaded


def test_charge_path_uses_only_the_standard_library() -> None:
    loaded = _modules_after_import("cardline.http.lambda_charge")
    third_party = sorted(
        m
        for m in loaded
        if m.split(".")[0] not in sys.stdlib_module_names
        and not m.startswith("cardline")
        and m.split(".")[0] not in {"__main__", "_distutils_hack", "__mp_main__"}
    )
    assert third_party == []
