"""infra/traditional/template.yaml: cfn-lint clean; checkov's findings shown, not hidden.

The traditional architecture is kept for comparison and carries findings the serverless
one does not; they are pinned here so that a change to them is seen.
"""

from __future__ import annotations

from tests.compliance.conftest import ROOT, TEMPLATES
from tests.infra.conftest import cfn_lint_findings, checkov_report

TEMPLATE = ROOT / TEMPLATES["traditional"]
# checkov's failed checks, with why they stay.
KNOWN_FINDINGS = {
    ("CKV_AWS_88", "AWS::EC2::Instance.BastionHost"): "the write-up's bastion has a public IP;"
    " Session Manager would remove it",
    ("CKV_AWS_18", "AWS::S3::Bucket.AccessLogBucket"): "the access-log bucket does not log"
    " access to itself",
}


def test_cfn_lint_finds_nothing() -> None:
    assert cfn_lint_findings(TEMPLATE) == []


def test_checkov_findings_are_the_known_ones() -> None:
    report = checkov_report(TEMPLATE)
    failed = {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}
    assert failed == set(KNOWN_FINDINGS)
    assert report["summary"]["skipped"] == 0  # nothing hidden
    assert report["summary"]["passed"] >= 80
