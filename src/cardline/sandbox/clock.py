"""The emulator's time: the wall clock, which a test may move on (days pass in a moment).

Authorizations honour 3 days and stay valid 29: to exercise reauthorization and expiry,
``advance`` moves this emulator's time forward; every timestamp it writes and every rule
that depends on age reads :meth:`Clock.now`. Access tokens keep real time (monotonic).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime


class Clock:
    """Wall-clock time plus however far :meth:`advance` has moved it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as this emulator sees them."""
        with self._lock:
            return time.time() + self._offset

    def iso(self, later: float = 0.0) -> str:
        """The time ``later`` seconds from now as PayPal writes it: 2025-01-31T12:00:00Z."""
        return stamp(self.now() + later)

    def today(self) -> date:
        """Today's date (UTC)."""
        return datetime.fromtimestamp(self.now(), tz=UTC).date()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never back: PayPal's clock does not rewind)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds


def stamp(moment: float) -> str:
    """Seconds since the epoch as PayPal writes a time: 2025-01-31T12:00:00Z."""
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds_of(text: str) -> float:
    """A time PayPal wrote (2025-01-31T12:00:00Z) as seconds since the epoch."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
