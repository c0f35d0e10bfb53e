"""Issue 11, findings 1, 2 and 6: a harness that can see a leak, and a green run that means it.

Finding 1: the raw log capture must hold what the code logged, whatever the product's
masking filter did to other handlers; importing an entry point must not install that
filter; an in-process ``cli.main`` must not change the test process's logging.
Finding 2: nothing random that could collide with a test card's digits.
Finding 6: with ``CI=true`` a missing reference document fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cardline import cli
from cardline.cde import audit
from cardline.cde.http import lambda_charge
from cardline.cde.paypal import client as paypal_client
from cardline.http import lambda_backoffice
from cardline.ivr import lambda_handler
from cardline.ledger import lambda_projector
from tests.cards import VISA

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = (
    "cardline.cde.http.lambda_charge",
    "cardline.http.lambda_backoffice",
    "cardline.ivr.lambda_handler",
    "cardline.ledger.lambda_projector",
)


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def _masking_filters(handler: logging.Handler) -> int:
    return sum(isinstance(f, audit.PanMaskingFilter) for f in handler.filters)


# --- Finding 1: the harness masks what it means to catch ---------------------------------


def test_importing_an_entry_point_installs_no_log_filter() -> None:
    """A handler that exists when an entry module is imported (pytest's, during collection)
    is left alone: the filter is the host's start-up step, not an import side effect."""
    done = _python(
        f"""
        import importlib, logging
        from cardline.cde import audit
        logging.basicConfig()
        for name in {ENTRY_POINTS!r}:
            importlib.import_module(name)
        print(sum(isinstance(f, audit.PanMaskingFilter)
                  for h in logging.getLogger().handlers for f in h.filters))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


def _charge(_: None) -> Any:
    return lambda_charge.handler({}, None)


def _backoffice(_: None) -> Any:
    return lambda_backoffice.handler({}, None)


def _ivr(_: None) -> Any:
    return lambda_handler.handler({}, None)


def _projector(_: None) -> Any:
    return lambda_projector.handler({}, None)


@pytest.mark.parametrize(
    ("module", "state", "invoke"),
    [
        (lambda_charge._function, "app", _charge),
        (lambda_backoffice._function, "app", _backoffice),
        (lambda_handler, "_handler", _ivr),
        (lambda_projector, "_ledger", _projector),
    ],
    ids=["charge", "backoffice", "ivr", "projector"],
)
def test_the_first_invocation_installs_the_filter_before_anything_can_log(
    module: object,
    state: str,
    invoke: Callable[[None], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The runtime's handler gets the filter on the first call, even when building the
    function then fails (no configuration here): nothing is logged before it."""
    for name in list(os.environ):
        if name.startswith(("PAYPAL_", "CARDLINE_", "AWS_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(module, state, None)
    runtime = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(runtime)
    try:
        # Unconfigured here: building the function fails, after the filter went on.
        with contextlib.suppress(Exception):
            invoke(None)
        assert _masking_filters(runtime) == 1
    finally:
        root.removeHandler(runtime)


def test_configure_logging_touches_no_handler_but_its_own_and_never_raises_the_level() -> None:
    """cli.main called in-process (the compliance tests do) leaves the test process's
    logging as it found it: INFO records keep reaching every handler, unfiltered."""
    root = logging.getLogger()
    theirs = logging.StreamHandler(io.StringIO())
    root.addHandler(theirs)
    level = root.level
    try:
        root.setLevel(logging.DEBUG)
        audit.configure_logging(logging.WARNING)
        assert root.level == logging.DEBUG
        assert _masking_filters(theirs) == 0
        assert all(_masking_filters(h) == 0 for h in root.handlers)
    finally:
        root.removeHandler(theirs)
        root.setLevel(level)


def test_the_cli_still_masks_what_it_logs() -> None:
    """In a process of its own, configure_logging's handler masks a card number."""
    done = _python(
        f"""
        import logging
        from cardline.cde import audit
        audit.configure_logging(logging.INFO)
        logging.getLogger("cardline.test").warning("card %s", "{VISA}")
        """
    )
    assert done.returncode == 0
    assert VISA not in done.stderr
    assert "••••" + VISA[-4:] in done.stderr


def test_cli_main_in_process_leaves_the_root_logger_as_it_found_it(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers = [(h, list(h.filters)) for h in root.handlers]
    level = root.level
    assert cli.main(["operators", "list", "--data-dir", str(tmp_path)]) == 0
    assert root.level == level
    assert [(h, list(h.filters)) for h in root.handlers] == handlers


def test_a_pan_logged_through_the_product_logger_reaches_the_raw_capture(
    planted_logs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The proof that the leak test can fail: with the masking filter installed on the
    root's handlers (as a Lambda's first call does), a card number logged by the PayPal
    client reaches the raw capture whole, and the leak scan finds it there. (Planted: this
    thread's records go to a file of the test's own, not to the suite's artifacts.)"""
    audit.install_log_filter()  # taken off pytest's handlers again after the test
    paypal_client.logger.warning("planted card %s", VISA)
    assert VISA not in caplog.text  # pytest's handler was masked...
    assert "••••" + VISA[-4:] in caplog.text
    assert VISA in planted_logs.read_text()  # ...the raw capture was not
    scan = subprocess.run(
        [sys.executable, "-m", "tests.leakscan", str(planted_logs.parent)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert scan.returncode == 1, scan.stdout + scan.stderr


def test_no_test_leaves_a_masking_filter_on_the_root_logger() -> None:
    """Whatever the tests before this one invoked (Lambda entry points install the filter
    on their first call), pytest's handlers reach this test unfiltered."""
    assert all(_masking_filters(h) == 0 for h in logging.getLogger().handlers)
    assert logging.getLogger().level == logging.DEBUG


# --- Finding 2: flakes --------------------------------------------------------------------


def test_the_emulators_debug_ids_hold_no_digit() -> None:
    """PayPal's debug ids are short opaque tokens ("90957fca61718" in its documents); the
    emulator's are written in letters, so none can hold a security code or a card's digits."""
    from cardline.sandbox.errors import new_debug_id

    drawn = {new_debug_id() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(len(d) == 13 and d.isascii() and d.isalpha() and d.islower() for d in drawn)


def test_hypothesis_draws_the_same_examples_every_run() -> None:
    from hypothesis import settings

    assert settings().derandomize is True
    assert settings().database is None


def test_a_connect_contact_id_full_of_digits_is_kept_whole_in_the_audit_origin() -> None:
    """Amazon Connect's contact ids are UUIDs; one whose digits pass the Luhn check (about
    one random UUID in 250) must still be the audit event's origin, unmasked."""
    contact = "40128888-8888-1881-4141-414141414141"  # a test VISA's digits
    assert audit.contains_pan(contact)
    event = audit.AuditEvent("ivr_input", "op", "success", f"connect:{contact}", "r")
    sink = io.StringIO()
    audit.StreamSink(sink).emit(event)
    assert f'"origin":"connect:{contact}"' in sink.getvalue()


# --- Finding 6: silent skips --------------------------------------------------------------

TINY_SUITE = """
import pytest

from tests.conformance.spec import SKIP_REASON


def test_reads_the_openapi_documents():
    pytest.skip(SKIP_REASON)


@pytest.mark.skipif(True, reason=SKIP_REASON)
def test_marked_as_needing_them():
    pass


def test_skipped_for_another_reason():
    pytest.skip("not on this platform")
"""


def _run_tiny_suite(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(TINY_SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "CARDLINE_TEST_ARTIFACTS"}}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.conftest", "-rA"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )


def test_with_ci_set_a_missing_reference_document_fails_the_run(tmp_path: Path) -> None:
    done = _run_tiny_suite(tmp_path, "true")
    assert done.returncode == 1, done.stdout
    assert "2 failed" in done.stdout or "1 failed" in done.stdout, done.stdout
    assert "test_reads_the_openapi_documents" in done.stdout
    assert "test_marked_as_needing_them" in done.stdout
    assert "1 skipped" in done.stdout  # a skip for another reason stays a skip


def test_without_ci_a_missing_reference_document_is_a_skip(tmp_path: Path) -> None:
    done = _run_tiny_suite(tmp_path, None)
    assert done.returncode == 0, done.stdout
    assert "3 skipped" in done.stdout
