"""The offline template checkers live in their own virtualenv (`make tools`, a prerequisite
of `make test`); these fixtures run them as subprocesses and never skip."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.aws_support import ROOT, TEMPLATE

TOOLS_BIN = Path(os.environ.get("CARDLINE_TOOLS_BIN", ROOT / ".venv-tools" / "bin"))

# What `sam package` does before CloudFormation runs the transform: local code -> S3.
_TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class NoManagedPolicies:
    def load(self, *args, **kwargs):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"
json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout)
"""


def tool(name: str) -> str:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools` (make test does)")
    return str(path)


def run_tool(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=300,
        check=False,
    )


def cfn_lint_findings(template: Path, *options: str) -> list[tuple[str, str]]:
    """(rule id, message) of every cfn-lint finding; fails the test if cfn-lint itself broke."""
    done = run_tool([tool("cfn-lint"), str(template), "--format", "json", *options])
    findings = [(f["Rule"]["Id"], f["Message"]) for f in json.loads(done.stdout or "[]")]
    assert findings or done.returncode == 0, done.stderr
    return findings


def checkov_report(template: Path) -> dict[str, Any]:
    """checkov's JSON report for one CloudFormation template, offline."""
    done = run_tool(
        [
            tool("checkov"),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--compact",
            "-o",
            "json",
            "-f",
            str(template),
        ]
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    """The template after the SAM transform, done offline by aws-sam-translator."""
    done = run_tool(
        [tool("python"), "-c", _TRANSLATE, str(TEMPLATE)], AWS_DEFAULT_REGION="us-east-1"
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
