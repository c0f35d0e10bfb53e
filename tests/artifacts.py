"""What the suite keeps for the leak scan (`tests/leakscan.py`) besides its logs: every place
card data could end up, written into the artifacts folder (CARDLINE_TEST_ARTIFACTS).

The fixtures call these helpers: the commands the tests run go through `run`, the Lambda
handlers' stdout (the audit stream on AWS) through `keep`, moto's services are dumped by
`dump_moto` when the server stops, and `pytest_runtest_logreport` (a hook that
tests/conftest.py imports) keeps every test's captured stdout and stderr.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DATA = "data"  # cardline data folders: serve, local stacks, the fuzz run (tests/conftest.py)
SUBPROCESSES = "subprocesses"  # what each command a test runs printed
LAMBDA_STDOUT = "lambda-stdout"  # what the Lambda handlers printed
MOTO = "moto"  # DynamoDB items, S3 objects, CloudWatch Logs events held by moto's server
TEST_OUTPUT = "test-output"  # each test's captured stdout and stderr
KINDS = (DATA, SUBPROCESSES, LAMBDA_STDOUT, MOTO, TEST_OUTPUT)

# Option values that are secrets, not card data: kept out of the artifacts.
_SECRET_OPTIONS = frozenset({"--key", "--header", "--token", "--secret"})


def _file_name(label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")[:80]
    return f"{slug}-{hashlib.sha256(label.encode()).hexdigest()[:8]}.txt"


def keep(artifacts: Path, kind: str, label: str, text: str) -> Path:
    """Append ``text`` to the file for ``label`` under ``artifacts/kind/``; return its path."""
    folder = artifacts / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _file_name(label)
    with open(path, "a", encoding="utf-8", errors="surrogateescape") as out:
        out.write(text if text.endswith("\n") or not text else text + "\n")
    return path


def _shown(args: Sequence[str]) -> str:
    shown = [
        "[hidden]" if i and str(args[i - 1]) in _SECRET_OPTIONS else str(arg)
        for i, arg in enumerate(args)
    ]
    return shlex.join(shown)


def run(
    args: Sequence[str], artifacts: Path, *, check: bool = False, **options: Any
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(args)`` with its output captured as text and kept under
    ``artifacts/subprocesses/`` (before ``check`` raises)."""
    done = subprocess.run(list(args), capture_output=True, text=True, check=False, **options)
    words = [Path(str(a)).name for a in args[:1]] + [str(a) for a in args[1:4]]
    keep(
        artifacts,
        SUBPROCESSES,
        f"{' '.join(words)} {uuid.uuid4().hex}",
        f"$ {_shown(args)}\n-- exit {done.returncode}\n-- stdout\n{done.stdout}\n"
        f"-- stderr\n{done.stderr}",
    )
    if check:
        done.check_returncode()
    return done


def dump_moto(client: Callable[[str], Any], artifacts: Path) -> None:
    """Write out what moto's DynamoDB, S3 and CloudWatch Logs hold, under ``artifacts/moto/``
    (S3 objects as their bytes: the leak scan decodes them)."""
    folder = artifacts / MOTO
    (folder / "s3").mkdir(parents=True, exist_ok=True)
    dynamodb = client("dynamodb")
    with open(folder / "dynamodb-items.jsonl", "a", encoding="utf-8") as out:
        for tables in dynamodb.get_paginator("list_tables").paginate():
            for table in tables["TableNames"]:
                for page in dynamodb.get_paginator("scan").paginate(TableName=table):
                    for item in page["Items"]:
                        out.write(json.dumps({"table": table, "item": item}, default=str) + "\n")
    s3 = client("s3")
    with open(folder / "s3-objects.jsonl", "a", encoding="utf-8") as index:
        for bucket in s3.list_buckets().get("Buckets", []):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
                for entry in page.get("Contents", []):
                    body = s3.get_object(Bucket=bucket["Name"], Key=entry["Key"])["Body"].read()
                    name = f"object-{uuid.uuid4().hex}"
                    (folder / "s3" / name).write_bytes(body)
                    line = {"bucket": bucket["Name"], "key": entry["Key"], "file": name}
                    index.write(json.dumps(line) + "\n")
    logs = client("logs")
    with open(folder / "logs-events.jsonl", "a", encoding="utf-8") as out:
        for groups in logs.get_paginator("describe_log_groups").paginate():
            for group in groups["logGroups"]:
                name = group["logGroupName"]
                for page in logs.get_paginator("filter_log_events").paginate(logGroupName=name):
                    for event in page["events"]:
                        out.write(json.dumps({"group": name, **event}, default=str) + "\n")


def keep_test_output(report: Any, artifacts: Path) -> None:
    """Keep the stdout and stderr pytest captured in one phase of one test."""
    for title, content in report.sections:
        if content and title in (
            f"Captured stdout {report.when}",
            f"Captured stderr {report.when}",
        ):
            keep(artifacts, TEST_OUTPUT, report.nodeid, f"== {report.nodeid}: {title}\n{content}")


def pytest_runtest_logreport(report: Any) -> None:
    """pytest hook: each test's captured output, kept when CARDLINE_TEST_ARTIFACTS is set."""
    configured = os.environ.get("CARDLINE_TEST_ARTIFACTS")
    if configured:
        keep_test_output(report, Path(configured))
