"""Audit events (the source of truth) and the PAN-masking log filter.

One JSON event per payment, refund, decline, authentication failure and operator change,
carrying the PCI DSS 10.2.2 fields: who (``operator``, and ``role``: the operator's role
when they acted), what (``type``), when (``time``), ``outcome``, where from (``origin``)
and what was touched (``resource``). Events are
append-only and carry an ``event_id`` so that every projection of them is idempotent.

This module is in the charge path: standard library only.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime

from cardline.cde import ids, pan
from cardline.cde.encoding import compact_sorted
from cardline.cde.values import FrozenValue

# typing stays unimported on the charge path (cold start).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path
    from typing import Any, Protocol, TextIO
else:
    Protocol = object  # the ports below are structural types for mypy only

SCHEMA = "cardline.cde.audit/1"

_ASCII_STRING = json.encoder.encode_basestring_ascii  # a str as a JSON string, in C


def _text(value: object) -> str:
    """A top-level field as JSON: a str (always, through the constructor's callers) in C."""
    encoded: str = _ASCII_STRING(value) if type(value) is str else compact_sorted(value)
    return encoded


PAYMENT = "payment"
REFUND = "refund"
WEBHOOK = "webhook"  # a verified PayPal webhook event (cardline.webhooks)
CAPTURE = "capture"  # a capture of an authorization
VOID = "void"  # a void of an authorization
REAUTHORIZATION = "reauthorization"  # a reauthorization of an authorization
AUTH_FAILURE = "auth_failure"
OPERATOR_ADDED = "operator_added"
OPERATOR_REVOKED = "operator_revoked"
OPERATOR_ROLE_CHANGED = "operator_role_changed"
ROLE_REFUSED = "role_refused"  # an operator asked for what their role may not do
SERVICE_STARTED = "service_started"


def new_id() -> str:
    """128 random bits as 32 letters (cardline.cde.ids: an id never holds a digit)."""
    return ids.random_id(32)


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditEvent(FrozenValue):
    """One audit record. ``details`` holds masked, card-free facts only. Immutable."""

    # ``_details_json``: ``details`` already encoded by the caller, or None; not a field.

    type: str
    operator: str
    outcome: str
    origin: str
    resource: str
    details: Mapping[str, Any]
    event_id: str
    time: str
    role: str
    _details_json: str | None

    def __init__(
        self,
        type: str,
        operator: str,
        outcome: str,
        origin: str,
        resource: str,
        details: Mapping[str, Any] | None = None,
        event_id: str | None = None,
        time: str | None = None,
        *,
        details_json: str | None = None,
        role: str = "",
    ) -> None:
        """``details_json``, when given, is ``details`` as compact JSON (a receipt encoded
        once for the API's answer too): the event's line embeds it as it is. ``role``: the
        operator's role, "" for events no operator's request made (kept out of the line)."""
        _set = object.__setattr__
        _set(self, "_details_json", details_json)
        _set(self, "type", type)
        _set(self, "operator", operator)
        _set(self, "outcome", outcome)
        _set(self, "origin", origin)
        _set(self, "resource", resource)
        _set(self, "details", {} if details is None else details)
        _set(self, "event_id", new_id() if event_id is None else event_id)
        _set(self, "time", utc_now() if time is None else time)
        _set(self, "role", role)

    def to_dict(self) -> dict[str, Any]:
        data = {
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
        if self.role:
            data["role"] = self.role
        return data

    def to_json(self) -> str:
        """One compact line, keys sorted; built directly (the same text as encoding
        ``to_dict()`` with sorted keys, except that pre-encoded details keep their order)."""
        details = self._details_json
        if details is None:
            details = compact_sorted(dict(self.details))
        return (
            '{"details":'
            + details
            + ',"event_id":'
            + _text(self.event_id)
            + ',"operator":'
            + _text(self.operator)
            + ',"origin":'
            + _text(self.origin)
            + ',"outcome":'
            + _text(self.outcome)
            + ',"resource":'
            + _text(self.resource)
            + (',"role":' + _text(self.role) if self.role else "")
            + ',"schema":"'
            + SCHEMA
            + '","time":'
            + _text(self.time)
            + ',"type":'
            + _text(self.type)
            + "}"
        )

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
            role=str(data.get("role") or ""),
        )


class AuditSink(Protocol):
    """Where audit events go: stdout on Lambda (CloudWatch Logs), a file locally."""

    def emit(self, event: AuditEvent) -> None: ...


_acting = threading.local()  # .operator and .role: the request this thread handles


def act_as(operator: str, role: str) -> None:
    """Say whose request this thread handles from now on (the App does, around each
    authenticated route; ``act_as("", "")`` when it is done): the events ``operator``'s
    request writes record ``role``, whichever code writes them."""
    _acting.operator = operator
    _acting.role = role


def acting_role(operator: str) -> str:
    """The role of ``operator`` if this thread handles their request, else ""."""
    return _acting.role if getattr(_acting, "operator", "") == operator and operator else ""


def record(
    sink: AuditSink,
    type: str,
    *,
    operator: str,
    outcome: str,
    origin: str,
    resource: str,
    details: Mapping[str, Any] | None = None,
    details_json: str | None = None,
    event_id: str | None = None,
    role: str | None = None,
) -> AuditEvent:
    """Write one audit event: build it (a new ``event_id`` unless one is given, the time
    now) and hand it to ``sink``, whose failure is the caller's to handle. Every event
    cardline writes is made here; the event written is returned. An ``event_id`` is given
    only for an event that another system may report twice (a PayPal webhook redelivered):
    each report is written, and the ledger applies the id once. ``role`` defaults to the
    role ``operator`` holds in the request this thread handles (:func:`act_as`)."""
    event = AuditEvent(
        type,
        operator,
        outcome,
        origin,
        resource,
        details,
        event_id,
        details_json=details_json,
        role=acting_role(operator) if role is None else role,
    )
    sink.emit(event)
    return event


class StreamSink:
    """Writes one JSON line per event to a stream (stdout on Lambda)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, event: AuditEvent) -> None:
        stream = self._stream or sys.stdout
        line = mask_pans(event.to_json()) + "\n"
        with self._lock:
            stream.write(line)
            stream.flush()


class FileSink:
    """Appends events to a JSON-lines file, each one flushed and fsynced before returning.

    Every append starts on a line of its own: when the file does not end with a newline
    (a writer crashed mid-append, or a write failed part-way), the event is written after
    one, so a torn line never swallows the next event. An exclusive ``flock`` around the
    check and the write keeps two processes appending to one file from racing each other.
    """

    def __init__(self, path: Path) -> None:
        import fcntl  # imported here: the charge path on Lambda never appends to a file

        self.path = path
        self._lock = threading.Lock()
        self._flock = fcntl.flock
        self._exclusive = fcntl.LOCK_EX
        path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, event: AuditEvent) -> None:
        data = (mask_pans(event.to_json()) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                self._flock(fd, self._exclusive)
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)  # releases the flock too


_DECODER = json.JSONDecoder()


def _events_in(line: str) -> tuple[list[AuditEvent], bool]:
    """The whole events a line holds, and whether anything else was on it.

    One event is the rule. Files written before every append started on a new line can
    hold a torn event glued to a whole one, or two whole ones: each whole one is kept,
    found by decoding from the start and then from each later ``{``.
    """
    events: list[AuditEvent] = []
    damaged = False
    at, end = 0, len(line)
    while at < end:
        event = None
        try:
            data, after = _DECODER.raw_decode(line, at)
            if isinstance(data, dict):
                event = AuditEvent.from_dict(data)
        except (ValueError, KeyError, TypeError, RecursionError):
            pass
        if event is not None:
            events.append(event)
            at = after
            while at < end and line[at].isspace():
                at += 1
            continue
        damaged = True
        at = line.find("{", at + 1)
        if at == -1:
            break
    return events, damaged


def read_events(path: Path, *, torn: list[int] | None = None) -> Iterator[AuditEvent]:
    """Every whole event in a JSON-lines audit file, in order.

    A line that is not a whole event (torn by a crash mid-append) is skipped with a
    warning naming the file and the line number, never the line's content; its number is
    appended to ``torn`` when given. A whole event glued to the end of a torn one is kept.
    """
    if not path.exists():
        return
    with open(path, "rb") as source:
        for number, raw in enumerate(source, 1):
            # surrogateescape: bytes a crash left that are not UTF-8 only fail that part.
            line = raw.decode("utf-8", "surrogateescape").strip()
            if not line:
                continue
            events, damaged = _events_in(line)
            if damaged:
                if torn is not None:
                    torn.append(number)
                _log.warning(
                    "%s line %d holds a torn audit event (a crash mid-append?): skipped it, "
                    "kept the %d whole event(s) on the line",
                    path,
                    number,
                    len(events),
                )
            yield from events


# The card-number detector lives in cardline.cde.pan; these names are its public face here.
contains_pan = pan.contains_pan
is_pan = pan.is_pan
mask_pans = pan.mask_pans


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
    """Attach a PanMaskingFilter to every handler of ``logger`` (the root logger by default).

    A host's start-up step, never an import side effect: each Lambda entry point calls it on
    its first invocation (the runtime has set up its handler by then, and nothing has been
    logged yet). Before anything imported logging no handler exists: nothing to attach to."""
    if logger is None:
        logger = logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, PanMaskingFilter) for f in handler.filters):
            handler.addFilter(PanMaskingFilter())


def configure_logging(level: int = 20, stream: TextIO | None = None) -> None:
    """One stderr handler with the PAN-masking filter, for the CLI and local hosts.

    Only when the process has no logging of its own yet: a host that set it up (a test
    runner calling ``cli.main`` in-process) keeps its handlers, their filters and its
    levels as they were. ``level`` defaults to logging.INFO."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    handler.addFilter(PanMaskingFilter())
    root.addHandler(handler)
    if root.level > level:
        root.setLevel(level)


_log = logging.getLogger("cardline.cde.audit")
