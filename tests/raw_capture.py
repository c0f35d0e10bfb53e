"""The suite's raw log capture: every log record as the code made it, before any filter.

The product masks card numbers in its log handlers (``cardline.cde.audit.PanMaskingFilter``,
put on every handler of the root logger by a host at start-up, rewriting the record it
is given). A capture that is one more handler of the root logger can be reached by that:
the filter is put on it too, or rewrites the shared record before the capture's turn. So
this capture is on no logger at all. A log record factory hands it each record as the
record is made, before any logger or handler, filter or level of a handler sees it (a
logger with ``propagate = False`` included), and it writes a formatted copy of its own.
What it cannot see is a record no logger makes: one below its logger's level (the suite
runs with the root logger at DEBUG).

Records go to one file, ``suite-logs.log`` in the suite's artifacts, which the leak scan
reads. A test that logs a card number on purpose (to prove the capture or the mask) plants
it: ``planted(path)`` sends what that test's own thread logs to ``path`` instead.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

FILE_NAME = "suite-logs.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RawCapture:
    """Writes every log record the process makes to ``path``, unfiltered (see the module)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._formatter = logging.Formatter(FORMAT)
        self._lock = threading.Lock()
        self._taps: list[list[str]] = []
        self._planted: dict[int, TextIO] = {}
        self._previous: Callable[..., logging.LogRecord] | None = None

    def install(self) -> None:
        """Start capturing: every record made from now on passes through ``_capture``."""
        previous = logging.getLogRecordFactory()
        self._previous = previous

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            self._capture(record)
            return record

        logging.setLogRecordFactory(factory)

    def close(self) -> None:
        if self._previous is not None:
            logging.setLogRecordFactory(self._previous)
            self._previous = None
        with self._lock:
            self._out.close()

    def _format(self, record: logging.LogRecord) -> str:
        # A copy: formatting caches the message and traceback text on the record it formats.
        mine = copy.copy(record)
        try:
            return self._formatter.format(mine)
        except Exception:  # noqa: BLE001 - a bad format string must not hide what it held
            return f"{record.levelname} {record.name}: {record.msg!r} % {record.args!r}"

    def _capture(self, record: logging.LogRecord) -> None:
        line = self._format(record) + "\n"
        with self._lock:
            out = self._planted.get(threading.get_ident(), self._out)
            out.write(line)
            out.flush()
            for tap in self._taps:
                tap.append(line)

    @contextmanager
    def tap(self) -> Iterator[list[str]]:
        """The lines captured (from every thread) while the block runs, as a list."""
        lines: list[str] = []
        with self._lock:
            self._taps.append(lines)
        try:
            yield lines
        finally:
            with self._lock:
                self._taps.remove(lines)

    @contextmanager
    def planted(self, path: Path) -> Iterator[Path]:
        """Send what this thread logs to ``path`` instead of the suite's file while the block
        runs: for a test that logs a card number on purpose (other threads are unaffected)."""
        thread = threading.get_ident()
        with open(path, "a", encoding="utf-8") as out:
            with self._lock:
                self._planted[thread] = out
            try:
                yield path
            finally:
                with self._lock:
                    del self._planted[thread]


def strip_masking_filters() -> None:
    """Remove the product's masking filter from every handler of the root logger: a test
    that invoked a Lambda entry point (whose first call installs it) leaves pytest's own
    handlers as it found them."""
    from cardline.cde.audit import PanMaskingFilter

    for handler in logging.getLogger().handlers:
        for f in list(handler.filters):
            if isinstance(f, PanMaskingFilter):
                handler.removeFilter(f)
