"""Audit events and the PAN-masking filter (the second line of defence)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from cardline.cde import audit
from tests.cards import AMEX, VISA


@pytest.mark.parametrize(
    "text",
    [VISA, "4012 8888 8888 1881", "4012-8888-8888-1881", "3714 496353 98431", AMEX],
)
def test_mask_pans_hides_luhn_valid_numbers_in_any_spelling(text: str) -> None:
    masked = audit.mask_pans(f"card {text} was used")
    digits = text.replace(" ", "").replace("-", "")
    assert digits not in masked.replace(" ", "").replace("-", "")
    assert f"••••{digits[-4:]}" in masked


@pytest.mark.parametrize(
    "text",
    ["4012888888881882", "order 1234567890123 of 2026", "2026-11-28T12:00:00.000Z", "12.50"],
)
def test_mask_pans_leaves_numbers_that_are_not_pans(text: str) -> None:
    assert audit.mask_pans(text) == text


def _logger(stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger(f"test.audit.{id(stream)}")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    audit.install_log_filter(logger)
    return logger


def test_log_filter_masks_messages_arguments_and_tracebacks(planted_logs: Path) -> None:
    stream = io.StringIO()
    logger = _logger(stream)
    logger.warning("number %s", VISA)
    try:
        raise ValueError(f"bad card {VISA}")
    except ValueError:
        logger.exception("failed")
    output = stream.getvalue()
    assert VISA not in output
    assert "••••1881" in output
    assert "ValueError" in output


def test_install_log_filter_is_idempotent() -> None:
    logger = _logger(io.StringIO())
    audit.install_log_filter(logger)
    assert len(logger.handlers[0].filters) == 1


def test_event_round_trips_through_json() -> None:
    event = audit.AuditEvent(
        type=audit.PAYMENT,
        operator="op_1",
        outcome="success",
        origin="10.0.0.1",
        resource="pay_1",
        details={"last4": "1881"},
    )
    import json

    again = audit.AuditEvent.from_dict(json.loads(event.to_json()))
    assert again == event


def test_file_sink_appends_and_reader_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sink = audit.FileSink(path)
    for n in range(3):
        sink.emit(audit.AuditEvent(audit.PAYMENT, "op", "success", "local", f"pay_{n}"))
    with open(path, "a") as out:
        out.write('{"schema": "cardline.cde.audit/1", "event_id": "torn')
    assert [e.resource for e in audit.read_events(path)] == ["pay_0", "pay_1", "pay_2"]


def test_sinks_mask_a_pan_that_slipped_into_details(tmp_path: Path) -> None:
    stream = io.StringIO()
    event = audit.AuditEvent(audit.PAYMENT, "op", "failure", "local", "pay", {"note": VISA})
    audit.StreamSink(stream).emit(event)
    audit.FileSink(tmp_path / "a.jsonl").emit(event)
    assert VISA not in stream.getvalue()
    assert VISA not in (tmp_path / "a.jsonl").read_text()


@pytest.mark.parametrize(
    "text", [f"order {VISA}", "card 4012 8888 8888 1881 please", "3714-496353-98431"]
)
def test_contains_pan_finds_card_numbers_as_written(text: str) -> None:
    assert audit.contains_pan(text)


@pytest.mark.parametrize(
    "text",
    [
        "INV-2026-11-28-0001",
        "order 4012888888881882",
        "call +44 20 7946 0958",
        "98765432-1098-4765-8321-0987654321ab",
    ],
)
def test_contains_pan_leaves_order_numbers_dates_and_phone_numbers(text: str) -> None:
    assert not audit.contains_pan(text)


def test_uuid_keys_are_never_taken_for_card_numbers() -> None:
    import random
    import uuid

    rng = random.Random(20261201)
    keys = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(20000)]
    assert not any(audit.is_pan(key) for key in keys)
    assert audit.is_pan(VISA)
    assert audit.is_pan("4012-8888-8888-1881")
