"""Closing a local stack leaves nothing of it working: what its App held back is written
and projected before the ledger closes, no thread of it runs on, and an audit event that
still arrives afterwards is kept in the audit file (projected at the next start) and
logged in one line, never a traceback per event."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.cde.http.messages import Request
from cardline.local import AUDIT_FILE, LEDGER_FILE, build_local, open_store


def _applied(data_dir: Path) -> set[str]:
    with sqlite3.connect(data_dir / LEDGER_FILE) as db:
        return {row[0] for row in db.execute("SELECT event_id FROM applied_events")}


def _failures(data_dir: Path) -> list[audit.AuditEvent]:
    events = audit.read_events(data_dir / AUDIT_FILE)
    return [e for e in events if e.type == audit.AUTH_FAILURE]


def test_closing_a_stack_writes_its_held_failures_and_ends_its_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    stack = build_local(tmp_path, {})
    answer = stack.app.handle(Request("GET", "/v1/payments", source_ip="192.0.2.1"))
    assert answer.status == 401
    assert _failures(tmp_path) == []  # held back for its interval
    stack.close()
    assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []
    failures = _failures(tmp_path)
    assert [(e.origin, e.details["count"]) for e in failures] == [("192.0.2.1", 1)]
    assert failures[0].event_id in _applied(tmp_path)  # projected before the ledger closed


def test_an_event_after_the_stack_closed_is_kept_and_logged_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stack = build_local(tmp_path, {})
    stack.close()
    late = [audit.AuditEvent(audit.AUTH_FAILURE, "unknown", "failure", "late", "", {})]
    late.append(audit.AuditEvent(audit.AUTH_FAILURE, "unknown", "failure", "later", "", {}))
    with caplog.at_level(logging.DEBUG, logger="cardline.local"):
        for event in late:
            stack.sink.emit(event)
    ids = [e.event_id for e in late]
    logged = [r for r in caplog.records if r.name == "cardline.local"]
    assert [r.levelno for r in logged] == [logging.WARNING] * 2
    assert [r.exc_info for r in logged] == [None, None]
    assert [any(i in r.getMessage() for i in ids) for r in logged] == [True, True]
    assert [e.event_id for e in _failures(tmp_path)] == ids
    ledger, _sink, _operators = open_store(tmp_path)  # the next start replays them
    ledger.close()
    assert set(ids) <= _applied(tmp_path)
