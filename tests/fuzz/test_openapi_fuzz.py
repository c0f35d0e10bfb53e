"""schemathesis against the running local service, driven by its own OpenAPI document.

Every operation of /openapi.json, authenticated with an operator key, through all of
schemathesis' phases (examples, coverage incl. negative data, fuzzing, stateful links),
with a fixed seed. Passes only with no server error and no answer outside the document,
after at least MIN_CASES generated cases.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardline.cde.http.throttle import FailureThrottle
from cardline.local import build_local, serve_in_background
from tests.artifacts import DATA
from tests.conftest import Running

pytestmark = pytest.mark.slow

MIN_CASES = 1000
MAX_EXAMPLES = 70  # per operation and phase: about 1,300 cases in all
SEED = 20261128
# positive_data_acceptance expects any schema-valid payment to be taken, but a card number
# can be schema-valid and still fail Luhn or the issuer: that 422 is correct.
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture(scope="module")
def service(artifacts: Path) -> Iterator[Running]:
    (artifacts / DATA).mkdir(exist_ok=True)  # the leak scan reads what the run leaves
    data_dir = Path(tempfile.mkdtemp(prefix="fuzz-", dir=artifacts / DATA))
    stack = build_local(data_dir, environ={})
    # The fuzzer probes each operation with a bad key once; that must not throttle the
    # run (the throttle has tests of its own).
    stack.app._throttle = FailureThrottle(free_per_source=1_000_000, free_global=1_000_000)
    _operator, key = stack.operators.add("agent-fuzz", role="supervisor")
    server = serve_in_background(stack.app)
    try:
        yield Running(stack, server.url, key, None)  # type: ignore[arg-type]
    finally:
        server.stop()
        stack.close()


# Every operation gets its examples, and each new route adds to the run: the whole run,
# not one request, is bounded, by the subprocess's own limit below.
@pytest.mark.timeout(660)
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(
    service: Running, artifacts: Path
) -> None:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable is not None, "schemathesis is a pinned dev dependency"
    report_dir = artifacts / "schemathesis"
    result = subprocess.run(
        [
            executable,
            "run",
            f"{service.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {service.key}",
            "--checks",
            "all",
            "--exclude-checks",
            EXCLUDED_CHECKS,
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(report_dir),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=artifacts,
    )
    output = result.stdout + result.stderr
    # The key stays out of the artifacts (schemathesis prints it filtered, but be sure).
    (artifacts / "schemathesis-output.txt").write_text(output.replace(service.key, "[key]"))
    assert result.returncode == 0, output[-6000:]
    cases = re.search(r"Test cases:\s*\n\s*(\d+) generated", output)
    assert cases is not None, output[-3000:]
    assert int(cases.group(1)) >= MIN_CASES
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    assert selected is not None
    assert selected.group(1) == selected.group(2)  # every operation
    assert "Tested: " + selected.group(2) in output
