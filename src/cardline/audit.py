"""Audit events (the source of truth) and the PAN-masking log filter.

One JSON event per payment, refund, decline, authentication failure and operator change,
carrying the PCI DSS 10.2.2 fields: who (``operator``), what (``type``), when (``time``),
``outcome``, where from (``origin``) and what was touched (``resource``). Events are
append-only and carry an ``event_id`` so that every projection of them is idempotent.

This module is in the charge path: standard library only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from pathlib import Path

SCHEMA = "cardline.audit/1"

PAYMENT = "payment"
REFUND = "refund"
AUTH_FAILURE = "auth_failure"
AUTH_THROTTLED = "auth_throttled"
OPERATOR_ADDED = "operator_added"
OPERATOR_REVOKED = "operator_revoked"
SERVICE_STARTED = "service_started"


def new_id() -> str:
    """128 random bits as 32 hex digits (what uuid4().hex gives, without importing uuid,
    which costs the charge function's cold start more than it gives)."""
    return os.urandom(16).hex()


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AuditEvent:
    """One audit record. ``details`` holds masked, card-free facts only."""

    type: str
    operator: str
    outcome: str
    origin: str
    resource: str
    details: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: new_id())
    time: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "event_id": self.event_id,
            "type": self.type,
            "time": self.time,
            "operator": self.operator,
            "outcome": self.outcome,
            "origin": self.origin,
            "resource": self.resource,
            "details": dict(self.details),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEvent:
        if data.get("schema") != SCHEMA:
            raise ValueError("not a cardline audit event")
        return cls(
            type=str(data["type"]),
            operator=str(data["operator"]),
            outcome=str(data["outcome"]),
            origin=str(data["origin"]),
            resource=str(data["resource"]),
            details=dict(data.get("details") or {}),
            event_id=str(data["event_id"]),
            time=str(data["time"]),
        )


class AuditSink(Protocol):
    """Where audit events go: stdout on Lambda (CloudWatch Logs), a file locally."""

    def emit(self, event: AuditEvent) -> None: ...


class StreamSink:
    """Writes one JSON line per event to a stream (stdout on Lambda)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, event: AuditEvent) -> None:
        stream = self._stream or sys.stdout
        line = mask_pans(event.to_json())
        with self._lock:
            stream.write(line + "\n")
            stream.flush()


class FileSink:
    """Appends events to a JSON-lines file, each one flushed and fsynced before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, event: AuditEvent) -> None:
        line = mask_pans(event.to_json()) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())


def read_events(path: Path) -> Iterator[AuditEvent]:
    """Every well-formed event in a JSON-lines audit file, in order; a torn last line is skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8") as source:
        for line in source:
            line = line.strip()
            if not line:
                continue
            try:
                yield AuditEvent.from_dict(json.loads(line))
            except (ValueError, KeyError, TypeError):
                continue


# 13 to 19 digits, optionally split by single spaces or dashes, not inside a longer number.
_PAN_SHAPED = re.compile(r"(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# Card numbers as people write them: contiguous, in fours, or Amex's 4-6-5.
_PAN_WRITTEN = re.compile(
    r"(?<![0-9])(?:[0-9]{13,19}"
    r"|[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}(?:\1[0-9]{1,3})?"
    r"|[0-9]{4}([ -])[0-9]{6}\2[0-9]{5})(?![0-9])"
)


def _is_pan(match: re.Match[str]) -> bool:
    digits = re.sub(r"[ -]", "", match.group(0))
    return 13 <= len(digits) <= 19 and _luhn_ok(digits)


def contains_pan(text: str) -> bool:
    """True when free text holds a Luhn-valid card number written the way card numbers are
    (a keying slip into the wrong field), which must be refused rather than stored. Narrower
    than the log filter's pattern so that order numbers and dates are not refused."""
    return any(_is_pan(match) for match in _PAN_WRITTEN.finditer(text))


def is_pan(text: str) -> bool:
    """True when the whole of ``text`` is a Luhn-valid card number (separators allowed)."""
    match = _PAN_SHAPED.fullmatch(text.strip())
    return match is not None and _is_pan(match)


def mask_pans(text: str) -> str:
    """Replace every Luhn-valid 13–19 digit run with a mask keeping only the last 4 digits."""

    def _mask(match: re.Match[str]) -> str:
        if _is_pan(match):
            return "[PAN ••••" + re.sub(r"[ -]", "", match.group(0))[-4:] + "]"
        return match.group(0)

    return _PAN_SHAPED.sub(_mask, text)


class PanMaskingFilter(logging.Filter):
    """Second line of defence: masks PAN-shaped numbers in every record passing a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not drop the record
            message = str(record.msg)
        record.msg = mask_pans(message)
        record.args = None
        if record.exc_info:
            # Formatting the traceback here lets us mask it; the original is dropped.
            record.exc_text = mask_pans(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.exc_text:
            record.exc_text = mask_pans(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_pans(record.stack_info)
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Attach a PanMaskingFilter to every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, PanMaskingFilter) for f in handler.filters):
            handler.addFilter(PanMaskingFilter())


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """One stderr handler with the PAN-masking filter, for the CLI and local hosts."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    install_log_filter(root)
