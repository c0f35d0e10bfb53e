"""The charge function's deployment zip: exactly the ``src/cardline/cde/`` folder, and
enough on its own (standard library + the zip, no site-packages) to take a payment."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cardline.deploy.package import build_zip, charge_files
from cardline.sandbox import Emulator
from tests.artifacts import run
from tests.aws_support import ROOT, FakeExtension

EVENT = ROOT / "events" / "charge-rest-v1.json"
SECRET_ID = "cardline/paypal"

# Runs with -S -I: no site-packages, no PYTHONPATH; only the unpacked zip is on the path,
# as Lambda unpacks it into /var/task.
_PROGRAM = """
import json, sys
sys.path.insert(0, sys.argv[1])
import cardline.cde.http.lambda_charge as entry
answer = entry.handler(json.load(open(sys.argv[2])), None)
loaded = sorted(m for m in sys.modules if m == "cardline" or m.startswith("cardline."))
files = sorted({getattr(sys.modules[m], "__file__", None) or "" for m in loaded})
json.dump({"answer": answer, "modules": loaded, "files": files}, open(sys.argv[3], "w"))
"""


@pytest.fixture(scope="module")
def charge_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("package") / "charge.zip"
    size = build_zip(charge_files(), target)
    print(f"charge.zip: {size} bytes")
    return target


def _cde_folder() -> list[str]:
    """The files git keeps under src/cardline/cde/, named as the zip names them."""
    listed = subprocess.run(
        ["git", "ls-files", "src/cardline/cde"], cwd=ROOT, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    return sorted(name.removeprefix("src/") for name in listed.stdout.split())


def test_the_zip_is_the_cde_folder_and_nothing_else(charge_zip: Path) -> None:
    with zipfile.ZipFile(charge_zip) as archive:
        names = sorted(archive.namelist())
    folder = _cde_folder()
    assert len(folder) > 20
    assert names == folder
    assert "cardline/__init__.py" not in names  # a namespace package in the zip
    assert charge_zip.stat().st_size < 256 * 1024


def test_the_zip_alone_takes_a_payment_reading_its_secret_through_the_extension(
    charge_zip: Path, extension: FakeExtension, tmp_path: Path, artifacts: Path
) -> None:
    out = tmp_path / "result.json"
    task = tmp_path / "task"
    with zipfile.ZipFile(charge_zip) as archive:
        archive.extractall(task)
    with Emulator() as emulator:
        extension.put(
            SECRET_ID,
            {
                "PAYPAL_CLIENT_ID": emulator.client_id,
                "PAYPAL_CLIENT_SECRET": emulator.client_secret,
                "CARDLINE_FINGERPRINT_KEY": "z" * 64,
            },
        )
        environment = {
            "PATH": "/usr/bin:/bin",
            "AWS_SESSION_TOKEN": extension.token,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            "CARDLINE_PAYPAL_SECRET_ID": SECRET_ID,
            "PAYPAL_BASE_URL": emulator.base_url,
        }
        done = run(
            [sys.executable, "-S", "-I", "-c", _PROGRAM, str(task), str(EVENT), str(out)],
            artifacts,
            env=environment,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["answer"]["statusCode"] == 201
    assert json.loads(result["answer"]["body"])["status"] == "approved"
    assert all(file.startswith(str(task)) for file in result["files"] if file)
    used = {module.removeprefix("cardline").lstrip(".") for module in result["modules"]}
    packaged = {
        name.removeprefix("cardline/")
        .removesuffix(".py")
        .removesuffix("/__init__")
        .replace("/", ".")
        for name in _cde_folder()
        if name.endswith(".py")
    }
    # Every module the payment loaded is in the zip, and the zip carries no passenger.
    assert used - {""} == packaged
    *_before, audit_line, metrics_line = done.stdout.splitlines()
    assert json.loads(audit_line)["type"] == "payment"  # the audit line
    assert json.loads(metrics_line)["Payments"] == 1  # then the invocation's EMF line
