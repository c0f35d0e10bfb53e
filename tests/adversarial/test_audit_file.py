"""Finding 9 (first part): a torn audit line never swallows the next event.

A crash in the middle of an append leaves a line without its end. The next append must
start on a line of its own, and every reader must skip the torn line loudly (a warning
naming the file and the line number, never the line's content), keeping every whole event.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.cli import main
from cardline.local import AUDIT_FILE, LEDGER_FILE, open_store

SECRET_REFERENCE = "torn-reference-words"  # what a torn line holds must never be logged


def _event(resource: str, reference: str = "order-1") -> audit.AuditEvent:
    return audit.AuditEvent(
        type=audit.PAYMENT,
        operator="op_test",
        outcome="success",
        origin="127.0.0.1",
        resource=resource,
        details={
            "status": "approved",
            "amount": "12.50",
            "currency": "USD",
            "brand": "visa",
            "last4": "1881",
            "reference": reference,
            "created_at": "2026-01-01T00:00:00.000Z",
        },
    )


def _line(event: audit.AuditEvent) -> bytes:
    return (audit.mask_pans(event.to_json()) + "\n").encode()


FIRST = _event("pay_first")
TORN = _event("pay_torn", reference=SECRET_REFERENCE)
NEXT = _event("pay_next")
TORN_LINE = _line(TORN)


@pytest.mark.parametrize("cut", range(1, len(TORN_LINE)))
def test_a_crash_at_any_byte_of_a_line_loses_no_later_event(tmp_path: Path, cut: int) -> None:
    path = tmp_path / AUDIT_FILE
    path.write_bytes(_line(FIRST) + TORN_LINE[:cut])  # the process died mid-append
    audit.FileSink(path).emit(NEXT)
    ids = [event.event_id for event in audit.read_events(path)]
    whole = cut == len(TORN_LINE) - 1  # only the newline was lost: the event is whole
    expected = (
        [FIRST.event_id, TORN.event_id, NEXT.event_id]
        if whole
        else [
            FIRST.event_id,
            NEXT.event_id,
        ]
    )
    assert ids == expected


def test_a_sink_opened_before_another_writer_crashed_still_starts_a_new_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / AUDIT_FILE
    sink = audit.FileSink(path)
    sink.emit(FIRST)
    with open(path, "ab") as other_process:  # a second writer dies mid-append
        other_process.write(TORN_LINE[:40])
    sink.emit(NEXT)
    assert [e.event_id for e in audit.read_events(path)] == [FIRST.event_id, NEXT.event_id]


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"\x00" * 512, id="zero-filled-tail"),
        pytest.param(b"\xe2\x80", id="cut-utf8"),
        pytest.param(b"\xff\xfe{not json", id="binary"),
        pytest.param(b'{"schema":"cardline.cde.audit/1"}', id="json-but-no-event"),
    ],
)
def test_garbage_left_by_a_crash_is_skipped_and_the_next_event_kept(
    tmp_path: Path, tail: bytes
) -> None:
    path = tmp_path / AUDIT_FILE
    path.write_bytes(_line(FIRST) + tail)
    audit.FileSink(path).emit(NEXT)
    assert [e.event_id for e in audit.read_events(path)] == [FIRST.event_id, NEXT.event_id]


def test_a_torn_line_is_reported_by_file_and_line_never_by_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / AUDIT_FILE
    path.write_bytes(_line(FIRST) + TORN_LINE[:-20] + b"\n" + _line(NEXT))
    with caplog.at_level(logging.WARNING, logger="cardline"):
        events = list(audit.read_events(path))
    assert [e.event_id for e in events] == [FIRST.event_id, NEXT.event_id]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert str(path) in message
    assert "line 2" in message
    assert SECRET_REFERENCE not in message
    assert TORN.event_id not in message


def test_an_event_glued_to_a_torn_line_by_an_older_writer_is_recovered(tmp_path: Path) -> None:
    """Files written before every append started on a new line hold `torn + whole` lines."""
    path = tmp_path / AUDIT_FILE
    path.write_bytes(_line(FIRST) + TORN_LINE[:57] + _line(NEXT))
    assert [e.event_id for e in audit.read_events(path)] == [FIRST.event_id, NEXT.event_id]


def test_two_processes_appending_at_once_keep_every_event(tmp_path: Path) -> None:
    path = tmp_path / AUDIT_FILE
    path.write_bytes(_line(FIRST) + TORN_LINE[:33])  # a crashed writer's leftover
    writer = (
        "import sys; from pathlib import Path; from cardline.cde import audit\n"
        "sink = audit.FileSink(Path(sys.argv[1]))\n"
        "for n in range(100):\n"
        "    sink.emit(audit.AuditEvent('payment', 'op', 'success', 'x', f'{sys.argv[2]}{n}'))\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", writer, str(path), prefix])
        for prefix in ("pay_a", "pay_b")
    ]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    resources = [e.resource for e in audit.read_events(path)]
    assert resources[0] == FIRST.resource
    assert sorted(resources[1:]) == sorted(f"pay_{p}{n}" for p in "ab" for n in range(100))


def test_ledger_rebuild_counts_the_torn_lines_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / AUDIT_FILE
    path.write_bytes(_line(FIRST) + TORN_LINE[:50] + b"\n" + _line(NEXT) + b"\x00" * 9)
    assert main(["ledger", "rebuild", "--data-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "2 torn lines skipped" in printed
    ledger, _sink, _operators = open_store(tmp_path)
    try:
        assert ledger.get_payment(FIRST.resource) is not None
        assert ledger.get_payment(NEXT.resource) is not None
    finally:
        ledger.close()
    assert (tmp_path / LEDGER_FILE).exists()


def test_two_whole_events_glued_by_an_older_writer_are_both_kept(tmp_path: Path) -> None:
    """A crash that lost only the newline, under a writer that did not check for it."""
    path = tmp_path / AUDIT_FILE
    path.write_bytes(_line(FIRST)[:-1] + _line(TORN)[:-1] + _line(NEXT))
    ids = [e.event_id for e in audit.read_events(path)]
    assert ids == [FIRST.event_id, TORN.event_id, NEXT.event_id]
