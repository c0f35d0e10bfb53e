"""The outside checks of the templates, for the report's evidence appendix: cfn-lint and
checkov run on each template when they are installed (``make tools``), every checkov skip
the templates declare with its reason, and checkov's checks mapped to PCI DSS requirements
(``checks.yaml``, in the manner of prowler's compliance mappings).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources as package_files
from pathlib import Path

import yaml

from cardline.compliance.cfn_yaml import load_template

TOOLS_ENV = "CARDLINE_TOOLS_BIN"


@dataclass(frozen=True)
class Skip:
    resource: str
    check: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    check: str
    title: str
    resource: str
    result: str  # passed, failed, skipped


@dataclass(frozen=True)
class Scan:
    """One template's outside checks; ``None`` fields: the tool is not installed."""

    skips: tuple[Skip, ...]
    cfn_lint: tuple[str, ...] | None  # "rule: message" per finding
    checkov: tuple[Outcome, ...] | None
    versions: dict[str, str]


def mapping() -> dict[str, tuple[str, ...]]:
    """checkov check id -> the PCI DSS requirements it evidences."""
    text = (package_files.files("cardline.compliance") / "checks.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)["checks"]
    return {str(k): tuple(str(r) for r in v) for k, v in raw.items()}


def declared_skips(template: Path) -> tuple[Skip, ...]:
    """Every ``Metadata.checkov.skip`` of the template, with its comment."""
    skips = []
    for rid, body in load_template(template)["Resources"].items():
        meta = (body.get("Metadata") or {}).get("checkov") or {}
        for skip in meta.get("skip") or []:
            reason = " ".join(str(skip.get("comment", "(no reason given)")).split())
            skips.append(Skip(str(rid), str(skip.get("id")), reason))
    return tuple(sorted(skips, key=lambda s: (s.resource, s.check)))


def _tool(name: str) -> str | None:
    configured = os.environ.get(TOOLS_ENV)
    if configured and (Path(configured) / name).exists():
        return str(Path(configured) / name)
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        candidate = directory / ".venv-tools" / "bin" / name
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        args, capture_output=True, text=True, timeout=600, check=False
    )


def scan(template: Path, *, run_tools: bool = True) -> Scan:
    """The declared skips, and cfn-lint's and checkov's results where they are installed."""
    versions: dict[str, str] = {}
    lint: tuple[str, ...] | None = None
    outcomes: tuple[Outcome, ...] | None = None
    cfn_lint = _tool("cfn-lint") if run_tools else None
    if cfn_lint:
        done = _run([cfn_lint, str(template), "--format", "json"])
        found = json.loads(done.stdout or "[]")
        lint = tuple(sorted(f"{f['Rule']['Id']}: {f['Message']}" for f in found))
        version = _run([cfn_lint, "--version"]).stdout.strip()
        versions["cfn-lint"] = version.removeprefix("cfn-lint").strip()
    checkov = _tool("checkov") if run_tools else None
    if checkov:
        done = _run(
            [
                checkov,
                *("--framework", "cloudformation", "--skip-download", "--compact"),
                *("-o", "json", "-f", str(template)),
            ]
        )
        report = json.loads(done.stdout)
        results = report.get("results", {})
        outcomes = tuple(
            sorted(
                (
                    Outcome(c["check_id"], c["check_name"], c["resource"], kind)
                    for kind in ("passed", "failed", "skipped")
                    for c in results.get(f"{kind}_checks", [])
                ),
                key=lambda o: (o.check, o.resource, o.result),
            )
        )
        versions["checkov"] = str(report.get("summary", {}).get("checkov_version", ""))
    return Scan(declared_skips(template), lint, outcomes, versions)
