"""Slowing down failed authentication, without ever refusing a valid key. Standard library only.

The design, thought through from both sides:

- An agent behind the call centre's NAT shares one source address with every colleague
  (and on EC2, behind the ALB, every caller shares the ALB's few addresses). A lock-out per
  address would let one mistyped key, or one attacker on the same network, lock every agent
  out. So the key is always checked first and a valid key is always served at once: only
  a request whose key failed is ever slowed.
- An attacker rotating source addresses spends no per-address budget. So failures are
  also counted across all sources: past a global budget every failing request is slowed,
  whatever its address.
- A lock-out per presented key (or key prefix) is no better: our keys name no operator
  (``cl_`` + 256 random bits), a random guess never repeats a prefix, and a prefix seen
  in a log would let anyone lock that agent out.

So each failing request is delayed by ``BASE_DELAY · 2ⁿ`` seconds, at most ``MAX_DELAY``,
where ``n`` is how far its source is past ``FREE_PER_SOURCE`` failures in the last
``WINDOW_SECONDS``, or how far all sources together are past ``FREE_GLOBAL`` (counted in
``GLOBAL_STEP`` failures a doubling), whichever is larger; a mistyped key or two is never
delayed. The delay holds a worker thread, so at most ``MAX_WAITING`` failing requests wait
at once: a further failure that should wait is answered at once with 429 and a Retry-After,
and the host's other workers stay free for valid keys. Requests without credentials guess
nothing and are not delayed (their cost is kept low instead: see failure_audit).

PCI DSS v4.0.1 8.3.4 asks that a user ID be locked after at most 10 invalid attempts, for
at least 30 minutes or until the user's identity is confirmed. An operator key is a bearer
secret, not a user ID with a password: a failed attempt names no account that could be
locked, and its 256 random bits make guessing hopeless at any rate the host can answer
(the purpose 8.3.4 serves). We therefore do not lock out; we slow failures, log each one
(10.2.1.4, aggregated), and a key suspected of misuse is revoked (`cardline operators
revoke`) and a new one issued once the agent is identified. Where agents sign in with a
password (Cognito on AWS) the lock-out belongs to that sign-in: see docs.

State is per process: on Lambda the API Gateway Cognito authorizer refuses a bad token
before any function runs, and WAF's per-address rate rule and the stage throttle stand in
front; the Lambda handlers count failures without delaying them (``max_delay=0``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

from cardline.cde.errors import TooManyRequests

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable

WINDOW_SECONDS = 600.0
FREE_PER_SOURCE = 5
FREE_GLOBAL = 50
GLOBAL_STEP = 10
BASE_DELAY = 0.5
MAX_DELAY = 8.0
MAX_WAITING = 4  # failing requests delayed at once (cardline serve runs 8 worker threads)
MAX_SOURCES = 10_000  # addresses remembered at once; the least recently failing go first
_BUCKETS = 60  # the global count is kept in WINDOW_SECONDS / _BUCKETS slices


class Throttled(TooManyRequests):
    """429 with the seconds to wait, for the Retry-After header."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed authentication attempts; try again in {retry_after} s")
        self.headers["Retry-After"] = str(retry_after)
        self.retry_after = retry_after


class FailureThrottle:
    """Counts failed authentication per source and in total, and delays failing requests.

    ``failure(source)`` records one failure and returns its delay (a waiting slot is then
    held); ``wait(delay)`` sleeps it and frees the slot. Thread-safe.
    """

    def __init__(
        self,
        *,
        window: float = WINDOW_SECONDS,
        free_per_source: int = FREE_PER_SOURCE,
        free_global: int = FREE_GLOBAL,
        global_step: int = GLOBAL_STEP,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
        max_waiting: int = MAX_WAITING,
        max_sources: int = MAX_SOURCES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._window = window
        self._free_source = free_per_source
        self._free_global = free_global
        self._step = global_step
        self._base = base_delay
        self._max = max_delay
        self._max_waiting = max_waiting
        self._max_sources = max_sources
        self._clock = clock
        self._sleep = sleep
        # Past this many failures a source's delay is at its bound: no need to keep more.
        doublings = (
            math.ceil(math.log2(max_delay / base_delay)) if max_delay > base_delay > 0 else 0
        )
        self._kept = free_per_source + 1 + doublings
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._slice = window / _BUCKETS
        self._buckets: deque[list[float]] = deque()  # [slice start, failures in it]
        self._total = 0
        self._waiting = 0

    def _recent(self, source: str, now: float) -> deque[float]:
        stamps = self._failures.get(source)
        if stamps is None:
            stamps = self._failures[source] = deque(maxlen=self._kept)
            while len(self._failures) > self._max_sources:
                self._failures.popitem(last=False)
        self._failures.move_to_end(source)
        while stamps and stamps[0] <= now - self._window:
            stamps.popleft()
        return stamps

    def _count_globally(self, now: float) -> int:
        buckets = self._buckets
        while buckets and buckets[0][0] <= now - self._window:
            self._total -= int(buckets.popleft()[1])
        start = now - now % self._slice
        if not buckets or buckets[-1][0] != start:
            buckets.append([start, 0])
        buckets[-1][1] += 1
        self._total += 1
        return self._total

    def _delay(self, per_source: int, overall: int) -> float:
        over = max(
            per_source - self._free_source,
            (overall - self._free_global + self._step - 1) // self._step,
        )
        if over <= 0 or self._max <= 0:
            return 0.0
        return min(self._max, self._base * 2.0 ** min(over - 1, 64))

    def failure(self, source: str) -> float:
        """Record one failed attempt from ``source``; the seconds it is to be delayed.

        A positive delay holds a waiting slot until ``wait`` is called with it; raises
        Throttled (429) instead when every slot is held."""
        with self._lock:
            now = self._clock()
            stamps = self._recent(source, now)
            stamps.append(now)
            delay = self._delay(len(stamps), self._count_globally(now))
            if delay > 0:
                if self._waiting >= self._max_waiting:
                    raise Throttled(max(1, math.ceil(delay)))
                self._waiting += 1
            return delay

    def wait(self, delay: float) -> None:
        """Sleep a delay ``failure`` returned, then free its slot."""
        if delay <= 0:
            return
        try:
            self._sleep(delay)
        finally:
            with self._lock:
                self._waiting -= 1
