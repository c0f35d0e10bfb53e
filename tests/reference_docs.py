"""Skips for a missing reference document, and the hook that fails them under CI.

Some tests read documents kept next to the repository, not in it (PayPal's OpenAPI
documents, the PCI brief). On a developer's machine without them those tests skip; with
``CI`` set (``CI=true``, as CI services set it) such a skip fails the run instead, so
that a green CI run never means "the oracle was not there". A skip for any other reason
stays a skip. Every such skip takes its reason from :func:`missing`.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

MARK = "reference document missing: "


def missing(what: str) -> str:
    """The skip reason for a test that cannot run without the reference document ``what``."""
    return MARK + what


def ci() -> bool:
    """True when the environment says this is a CI run."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _fail_if_reference_missing(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (report.skipped and ci()):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if MARK in reason:
        report.outcome = "failed"
        report.longrepr = f"CI is set, so this skip fails the run: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_if_reference_missing(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_if_reference_missing(report)
    return report
