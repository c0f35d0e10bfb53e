"""cfn-lint, checkov and the SAM transform, offline, on infra/serverless/template.yaml."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cardline.deploy.gateway import definition, render, splice
from tests.aws_support import ROOT, TEMPLATE, load_template
from tests.infra.conftest import cfn_lint_findings, checkov_report

TRADITIONAL = ROOT / "infra" / "traditional" / "template.yaml"


def test_cfn_lint_finds_nothing() -> None:
    assert cfn_lint_findings(TEMPLATE) == []


@pytest.mark.parametrize("template", [TEMPLATE, TRADITIONAL], ids=["serverless", "traditional"])
def test_cfn_lints_informational_checks_find_nothing_either(template: Path) -> None:
    # I3011: a stateful resource (log group, secret, user pool, queue, key, table) without
    # DeletionPolicy and UpdateReplacePolicy is deleted with its audit or key material
    # when the stack is removed or the resource replaced.
    assert cfn_lint_findings(template, "--include-checks", "I") == []


def test_checkov_fails_no_check_and_every_skip_is_used_and_explained() -> None:
    report = checkov_report(TEMPLATE)
    results = report["results"]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 90
    skipped = {(c["check_id"], c["resource"].split(".")[-1]) for c in results["skipped_checks"]}
    declared = set()
    for name, resource in load_template()["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(str(skip.get("comment", ""))) >= 40, f"{name} skips {skip['id']} unexplained"
            declared.add((skip["id"], name))
    assert declared == skipped  # no skip that checkov would not have failed


def test_the_sam_transform_runs_offline(translated: dict[str, Any]) -> None:
    kinds = Counter(resource["Type"] for resource in translated["Resources"].values())
    assert "Transform" not in translated
    assert kinds["AWS::Lambda::Function"] == 5  # charge, ivr, backoffice, projector, reconcile
    # The reconcile schedule, the ivr key check, the three CDE change alerts.
    assert kinds["AWS::Events::Rule"] == 5
    assert kinds["AWS::ApiGateway::RestApi"] == 1
    assert kinds["AWS::ApiGateway::Stage"] == 1
    # Three subscriptions for the projector (charge, backoffice and ivr audit events) +
    # four to the archive stream (charge, backoffice, ivr, API access logs).
    assert kinds["AWS::Logs::SubscriptionFilter"] == 7


def test_the_api_definition_is_generated_from_the_openapi_document() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert splice(text, render(definition())) == text, "stale: run `make gateway`"
