"""Throttling of repeated bad credentials, per source address. Standard library only.

After ``limit`` rejected keys from one address within ``window`` seconds, every
authenticated request from that address is answered 429 ``too_many_requests`` with a
Retry-After, without looking at its key, until the oldest failure leaves the window: a
key cannot be guessed faster than ``limit`` tries a window. Missing credentials do not
count (they guess nothing). State is per process: on Lambda each warm instance keeps its
own, and API Gateway's throttling and WAF rate rules stand in front.
"""

from __future__ import annotations

import math
import time
from _thread import allocate_lock  # threading.Lock without importing threading (cold start)
from collections import OrderedDict, deque

from cardline.errors import TooManyRequests

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable

FAILURE_LIMIT = 10
WINDOW_SECONDS = 60.0
MAX_SOURCES = 10_000  # addresses remembered at once; the least recently failing go first


class Throttled(TooManyRequests):
    """429 with the seconds to wait, for the Retry-After header."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many rejected credentials from this address; try again in {retry_after} s"
        )
        self.headers["Retry-After"] = str(retry_after)
        self.retry_after = retry_after


class FailureThrottle:
    """Counts rejected credentials per source address in a sliding window."""

    def __init__(
        self,
        *,
        limit: int = FAILURE_LIMIT,
        window: float = WINDOW_SECONDS,
        max_sources: int = MAX_SOURCES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._max_sources = max_sources
        self._clock = clock
        self._lock = allocate_lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, source: str, now: float) -> deque[float] | None:
        stamps = self._failures.get(source)
        if stamps is None:
            return None
        while stamps and stamps[0] <= now - self._window:
            stamps.popleft()
        if not stamps:
            del self._failures[source]
            return None
        return stamps

    def check(self, source: str) -> None:
        """Raise Throttled while ``source`` is over the limit."""
        with self._lock:
            now = self._clock()
            stamps = self._recent(source, now)
            if stamps is not None and len(stamps) >= self._limit:
                wait = stamps[len(stamps) - self._limit] + self._window - now
                raise Throttled(max(1, math.ceil(wait)))

    def failure(self, source: str) -> bool:
        """Record one rejected credential; True when it brings ``source`` to the limit."""
        with self._lock:
            now = self._clock()
            stamps = self._recent(source, now)
            if stamps is None:
                stamps = self._failures[source] = deque(maxlen=self._limit)
                while len(self._failures) > self._max_sources:
                    self._failures.popitem(last=False)
            self._failures.move_to_end(source)
            stamps.append(now)
            return len(stamps) == self._limit
