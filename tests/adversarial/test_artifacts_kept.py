"""Finding 5: the leak scan reads what every part of the suite wrote, not only its logs:
subprocess output, Lambda stdout, what moto's services hold, every test's captured output."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import artifacts as kept
from tests import leakscan
from tests.aws_support import Aws


def _kept_text(folder: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.rglob("*")) if p.is_file())


def test_a_subprocess_output_is_kept(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    done = kept.run(
        [sys.executable, "-c", f"import sys; print('out {marker}'); print('err', file=sys.stderr)"],
        tmp_path,
    )
    assert done.returncode == 0
    assert done.stdout == f"out {marker}\n"
    text = _kept_text(tmp_path / kept.SUBPROCESSES)
    assert f"out {marker}" in text
    assert "err" in text


def test_a_failed_subprocess_output_is_kept_before_check_raises(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        kept.run([sys.executable, "-c", "print('said first'); exit(3)"], tmp_path, check=True)
    assert "said first" in _kept_text(tmp_path / kept.SUBPROCESSES)


def test_what_moto_holds_is_dumped(aws: Aws, tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    table = aws.ledger_table()
    aws.client("dynamodb").put_item(
        TableName=table,
        Item={"pk": {"S": f"pay#{marker}"}, "sk": {"S": "payment"}, "note": {"S": marker}},
    )
    bucket = f"audit-{marker[:12]}"
    aws.client("s3").create_bucket(Bucket=bucket)
    aws.client("s3").put_object(Bucket=bucket, Key="2026/11/28/a.jsonl", Body=f"s3 {marker}")
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=f"/cardline/{marker}")
    logs.create_log_stream(logGroupName=f"/cardline/{marker}", logStreamName="s")
    logs.put_log_events(
        logGroupName=f"/cardline/{marker}",
        logStreamName="s",
        # now: CloudWatch Logs (and moto) refuse events older than 14 days
        logEvents=[{"timestamp": int(time.time() * 1000), "message": f"logs {marker}"}],
    )
    kept.dump_moto(aws.client, tmp_path)
    text = _kept_text(tmp_path / kept.MOTO)
    assert marker in text  # the DynamoDB item
    assert f"s3 {marker}" in text
    assert f"logs {marker}" in text


def test_every_tests_captured_output_is_kept(tmp_path: Path) -> None:
    report = SimpleNamespace(
        nodeid="tests/x/test_y.py::test_z[a/b]",
        when="call",
        sections=[("Captured stdout call", "printed"), ("Captured stderr call", "warned")],
    )
    kept.keep_test_output(report, tmp_path)
    text = _kept_text(tmp_path / kept.TEST_OUTPUT)
    assert "tests/x/test_y.py::test_z[a/b]" in text
    assert "printed" in text
    assert "warned" in text


def test_the_scan_fails_when_the_suite_left_a_kind_of_artifact_out(tmp_path: Path) -> None:
    for kind in kept.KINDS:
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "x.txt").write_text(json.dumps({"kind": kind}))
    assert leakscan.main([str(tmp_path)]) == 0
    missing = kept.KINDS[0]
    (tmp_path / missing / "x.txt").unlink()
    assert leakscan.main([str(tmp_path)]) == 1
