"""No test module leaves a background thread of cardline's running for the modules after it.

A thread outliving the stack that started it keeps working on what that stack closed: a
failed-authentication group written into a closed ledger, an emulator's webhook delivery, a
scheduled retry or reconcile, a waitress worker still serving. Besides being wrong, such a
thread runs during unrelated tests (CPython 3.11's ``ast`` is not thread-safe, and
``traceback`` parses source with it: one thread printing tracebacks breaks another's
``ast.parse``).

The check is made when a module's fixtures are torn down, not after each test: a stack a
module shares may rightly keep a thread a test started (its failed-authentication flusher)
until the module closes it. The failure names the test during which each thread started.
Only threads cardline's code names are judged (:data:`NAMES`); a test's own helper threads
are its own business.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

# The names cardline's threads carry: the local server and its waitress workers, the
# reconcile schedule, the failed-authentication flusher, and the emulator's server,
# scheduler and webhook attempts.
NAMES = ("cardline-", "waitress-", "paypal-sandbox")
# How long a thread that is finishing (its stop already asked for) has to end.
GRACE_SECONDS = 5.0


def running() -> set[threading.Thread]:
    """cardline's threads alive now."""
    return {thread for thread in threading.enumerate() if thread.name.startswith(NAMES)}


def still_running(threads: set[threading.Thread]) -> set[threading.Thread]:
    """Those of ``threads`` still alive once each has had :data:`GRACE_SECONDS` to end."""
    deadline = time.monotonic() + GRACE_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {thread for thread in threads if thread.is_alive()}


class Started:
    """The threads started during each test of a module, by test id."""

    def __init__(self) -> None:
        self.by: dict[threading.Thread, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _no_thread_left_by_a_module(request: pytest.FixtureRequest) -> Iterator[Started]:
    before = running()
    started = Started()
    yield started
    left = still_running(running() - before)
    if left:
        named = sorted(f"{t.name} (started in {started.by.get(t, 'a fixture')})" for t in left)
        pytest.fail(
            f"{request.node.nodeid} left cardline's threads running: {'; '.join(named)}. "
            "Stop what the test started: the server, the stack (its App), the emulator.",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _threads_started_by_a_test(
    _no_thread_left_by_a_module: Started, request: pytest.FixtureRequest
) -> Iterator[None]:
    before = running()
    yield
    for thread in running() - before:
        _no_thread_left_by_a_module.by.setdefault(thread, request.node.nodeid)
