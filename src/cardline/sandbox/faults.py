"""Fault injection: make the next matching requests slow, fail, or lose their answer."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultKind = Literal["delay", "status", "drop_before", "drop_after", "reset", "malformed_json"]
_KINDS = ("delay", "status", "drop_before", "drop_after", "reset", "malformed_json")


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next ``times`` matching requests.

    kinds:
      - ``delay``: sleep ``delay`` seconds, then answer normally;
      - ``status``: answer ``status`` with PayPal's error body, without processing
        (``retry_after`` adds a Retry-After header; ``issue`` adds it as the detail);
      - ``drop_before``: close the connection without processing or answering;
      - ``drop_after``: process the request fully, then close without answering;
      - ``reset``: reset the connection (TCP RST) without processing or answering;
      - ``malformed_json``: process, then answer with a truncated JSON body.

    A request matches when its path starts with ``path_prefix`` and, if ``method`` is
    given, its method is ``method``.
    """

    kind: FaultKind
    path_prefix: str = "/v2/"
    method: str | None = None
    times: int = 1
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0
    issue: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {_KINDS}")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.delay < 0:
            raise ValueError("delay must not be negative")
        if self.method is not None:
            self.method = self.method.upper()

    def matches(self, method: str, path: str) -> bool:
        """True when a ``method`` request to ``path`` is subject to this fault."""
        return path.startswith(self.path_prefix) and self.method in (None, method)

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """Build a fault from the JSON the HTTP inspection API receives."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def json(self) -> dict[str, Any]:
        """The fault as JSON."""
        return asdict(self)


@dataclass(frozen=True)
class Planned:
    """The faults one request gets: total delay plus at most one other fault."""

    delay: float = 0.0
    fault: Fault | None = None


class FaultQueue:
    """Pending faults, consumed thread-safely in injection order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue ``fault`` (a copy, so the caller's object is not counted down)."""
        with self._lock:
            self._faults.append(Fault(**asdict(fault)))

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """Copies of the faults still pending."""
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults]

    def take(self, method: str, path: str) -> Planned:
        """Count down the faults that apply to this request and say what to do.

        Every matching ``delay`` applies; of the other kinds only the first matching one.
        """
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                if fault.kind == "delay":
                    delay += fault.delay
                elif chosen is None:
                    chosen = Fault(**asdict(fault))
                else:
                    continue
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
        return Planned(delay=delay, fault=chosen)
