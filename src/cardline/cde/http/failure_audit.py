"""Audit events for failed authentication, aggregated so that a flood costs no I/O per
request. Standard library only (the charge Lambda imports it through the App).

PCI DSS 10.2.1.4 asks that invalid logical access attempts be logged, and 10.2.2 that each
record say who, what, when, where from and the outcome. An unauthenticated flood must not
cost a synced audit line and a ledger row per request, so on a long-running host (``cardline
serve``, EC2) ``AggregatedFailures`` keeps one group per source address and writes it as
one ``auth_failure`` event when its interval ends (``INTERVAL_SECONDS`` after its first
failure) and whenever ``flush`` is called (the server calls it when it stops) or ``close``
(the local stack calls it before it closes the ledger). The event's
``origin`` is the source; its details hold ``count``, the ``routes`` and ``reasons`` with
their counts, ``first`` and ``last`` (UTC times of the first and last attempt), how many
were ``delayed`` (and for how long in all) or ``refused`` by the throttle. At most
``MAX_GROUPS`` addresses get a group of their own in an interval; the rest share one whose
origin is ``*`` and which counts the ``sources`` and names a ``sample`` of them, so that
addresses rotated by the thousand still cost O(intervals) lines.

``EachFailure`` writes the same event for every failure at once: the Lambda hosts use it,
since a frozen or recycled instance cannot be relied on to flush, and there an
unauthenticated request is refused by API Gateway's authorizer before any function runs.
"""

from __future__ import annotations

import logging
import threading
import time

from cardline.cde import audit

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol
else:
    Protocol = object  # FailureAudit is a structural type for mypy only

INTERVAL_SECONDS = 60.0
MAX_GROUPS = 100  # addresses with an event of their own per interval
OTHERS = "*"  # the origin of the group every further address shares
MAX_SAMPLE = 20  # addresses the shared group names
MAX_COUNTED_SOURCES = 10_000  # distinct addresses the shared group counts exactly

log = logging.getLogger("cardline.http")


class FailureAudit(Protocol):
    """Where the App reports each failed authentication."""

    def record(
        self, source: str, route: str, reason: str, *, delay: float = 0.0, refused: bool = False
    ) -> None:
        """One failed attempt from ``source`` on ``route`` ("METHOD /template")."""
        ...

    def flush(self) -> None:
        """Write every event still held back."""
        ...

    def close(self) -> None:
        """Write every event still held back and stop any background work; a failure
        reported afterwards (a request still being answered) is written at once."""
        ...


class _Group:
    __slots__ = (
        "count",
        "delay_seconds",
        "delayed",
        "first",
        "last",
        "reasons",
        "refused",
        "routes",
        "sources",
        "started",
    )

    def __init__(self, started: float, wall: str) -> None:
        self.started = started
        self.first = self.last = wall
        self.count = self.delayed = self.refused = 0
        self.delay_seconds = 0.0
        self.routes: dict[str, int] = {}
        self.reasons: dict[str, int] = {}
        self.sources: dict[str, None] | None = None  # insertion-ordered set, OTHERS only

    def add(self, wall: str, route: str, reason: str, delay: float, refused: bool) -> None:
        self.last = wall
        self.count += 1
        self.routes[route] = self.routes.get(route, 0) + 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1
        if delay > 0:
            self.delayed += 1
            self.delay_seconds += delay
        if refused:
            self.refused += 1

    def write(self, sink: audit.AuditSink, origin: str) -> None:
        """The group's audit event, written to ``sink``."""
        details: dict[str, Any] = {
            "count": self.count,
            "routes": self.routes,
            "reasons": self.reasons,
            "first": self.first,
            "last": self.last,
            "delayed": self.delayed,
            "delay_seconds": round(self.delay_seconds, 3),
            "refused": self.refused,
        }
        if self.sources is not None:
            details["sources"] = len(self.sources)
            details["sample"] = list(self.sources)[:MAX_SAMPLE]
        audit.record(
            sink,
            audit.AUTH_FAILURE,
            operator="unknown",
            outcome="failure",
            origin=origin,
            resource=", ".join(sorted(self.routes))[:200],
            details=details,
        )


class EachFailure:
    """One audit event per failed attempt, written at once."""

    def __init__(self, sink: audit.AuditSink) -> None:
        self._sink = sink

    def record(
        self, source: str, route: str, reason: str, *, delay: float = 0.0, refused: bool = False
    ) -> None:
        group = _Group(0.0, audit.utc_now())
        group.add(group.first, route, reason, delay, refused)
        group.write(self._sink, source)

    def flush(self) -> None:
        """Nothing is held back."""

    def close(self) -> None:
        """Nothing runs in the background."""


class AggregatedFailures:
    """Failed attempts grouped per source, one audit event per group and interval.

    With ``background`` a thread (started on the first failure, ending when nothing is
    held) writes each group when its interval ends; without it, call ``flush_due``.
    ``close`` writes every group and waits for that thread: nothing of an App's outlives
    its sink (a local stack closes its ledger next).
    """

    def __init__(
        self,
        sink: audit.AuditSink,
        *,
        interval: float = INTERVAL_SECONDS,
        max_groups: int = MAX_GROUPS,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self._sink = sink
        self._interval = interval
        self._max_groups = max_groups
        self._clock = clock
        self._background = background
        self._tick = min(1.0, interval / 4)
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}
        self._flusher: threading.Thread | None = None
        self._wake = threading.Event()  # set by close(): the flusher ends at once
        self._closed = False

    def record(
        self, source: str, route: str, reason: str, *, delay: float = 0.0, refused: bool = False
    ) -> None:
        wall = audit.utc_now()
        with self._lock:
            key = source
            group = self._groups.get(source)
            if group is None and len(self._groups) >= self._max_groups:
                key = OTHERS
                group = self._groups.get(OTHERS)
            if group is None:
                group = self._groups[key] = _Group(self._clock(), wall)
            if key == OTHERS:
                if group.sources is None:
                    group.sources = {}
                if len(group.sources) < MAX_COUNTED_SOURCES:
                    group.sources[source] = None
            group.add(wall, route, reason, delay, refused)
            closed = self._closed
            if not closed and self._background and self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._run, name="cardline-failure-audit", daemon=True
                )
                self._flusher.start()
        if closed:
            self.flush()

    def _take(self, due_only: bool) -> list[tuple[str, _Group]]:
        with self._lock:
            now = self._clock()
            taken = [
                (key, group)
                for key, group in self._groups.items()
                if not due_only or now - group.started >= self._interval
            ]
            for key, _group in taken:
                del self._groups[key]
        return taken

    def _write(self, taken: list[tuple[str, _Group]]) -> None:
        # Outside the lock: the file sink syncs each line, and requests keep recording.
        for key, group in taken:
            try:
                group.write(self._sink, key)
            except Exception as error:  # noqa: BLE001 - the other groups must still be written
                log.error(
                    "audit of %d failed authentication attempts from %s could not be written: %s",
                    group.count,
                    key,
                    type(error).__name__,
                )

    def flush_due(self) -> None:
        """Write the groups whose interval has ended."""
        self._write(self._take(due_only=True))

    def flush(self) -> None:
        """Write every group now (at shutdown)."""
        self._write(self._take(due_only=False))

    def close(self) -> None:
        """Write every group now and wait for the flusher to end; later failures are
        written as they come."""
        with self._lock:
            self._closed = True
            flusher = self._flusher
            self._wake.set()
        if flusher is not None:
            flusher.join()
        self.flush()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._tick)
            self.flush_due()
            with self._lock:
                if not self._groups or self._closed:
                    self._flusher = None
                    return
