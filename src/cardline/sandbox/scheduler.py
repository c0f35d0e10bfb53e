"""Work the emulator does later, by its own clock: webhook retries and the next step of a
simulated lifecycle (a pending capture completing, a dispute being resolved).

Tasks run when :class:`~cardline.sandbox.clock.Clock` reaches their time, on one
background thread, never on a thread answering a request. The clock moves with real time
and jumps when a test advances it; :meth:`Scheduler.wake` (called by the emulator after
every jump) makes the thread look again at once. A test may also leave the thread off and
call :meth:`Scheduler.run_due` itself.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
from collections.abc import Callable

from cardline.sandbox.clock import Clock

Task = Callable[[], None]
_IDLE_WAIT = 60.0  # seconds the thread sleeps with nothing due (a wake() cuts it short)


class Scheduler:
    """Tasks kept by due time (emulator seconds since the epoch), run in that order."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._ready = threading.Condition()
        self._queue: list[tuple[float, int, Task]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def at(self, when: float, task: Task) -> None:
        """Run ``task`` once the clock reads ``when``."""
        with self._ready:
            heapq.heappush(self._queue, (when, next(self._order), task))
            self._ready.notify_all()

    def after(self, seconds: float, task: Task) -> None:
        """Run ``task`` ``seconds`` from now (by the emulator's clock)."""
        self.at(self._clock.now() + seconds, task)

    def pending(self) -> list[float]:
        """The due times of the tasks not run yet, soonest first."""
        with self._ready:
            return sorted(when for when, _order, _task in self._queue)

    def wake(self) -> None:
        """The clock moved: look for due tasks now."""
        with self._ready:
            self._ready.notify_all()

    def run_due(self) -> int:
        """Run every task due now, in the caller's thread; how many ran."""
        ran = 0
        while True:
            with self._ready:
                if not self._queue or self._queue[0][0] > self._clock.now():
                    return ran
                _when, _order, task = heapq.heappop(self._queue)
            _run(task)
            ran += 1

    def start(self, name: str = "paypal-sandbox-scheduler") -> None:
        """Run due tasks on a daemon thread until :meth:`stop`."""
        with self._ready:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (tasks not yet due are kept, unrun)."""
        with self._ready:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._ready.notify_all()
        if thread is not None:
            thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._ready:
                if self._stopping:
                    return
                wait = _IDLE_WAIT
                if self._queue:
                    wait = min(wait, self._queue[0][0] - self._clock.now())
                if wait > 0:
                    self._ready.wait(wait)
                    continue
            self.run_due()


def _run(task: Task) -> None:
    try:
        task()
    except Exception as error:  # noqa: BLE001 - one failing task must not stop the others
        # One line, never a traceback: its frames could hold request data.
        sys.stderr.write(f"paypal sandbox: {type(error).__name__} in a scheduled task\n")
