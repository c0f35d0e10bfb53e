"""Concurrent agents taking payments through a running cardline, over loopback only.

Bounded in count (clients x payments each) and in time (a deadline after which no new
payment starts). Each client keeps one HTTP connection, as an agent's console does.
Used by the load test (tests/load) and by `make bench`.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

# PayPal's public sandbox Visa test card; answers never hold more than its last 4 digits.
_CARD = {"number": "4012888888881881", "expiry": "12/35", "security_code": "123", "name": "Load"}


@dataclass
class LoadResult:
    clients: int
    payments: int
    approved: int
    errors: int
    seconds: float
    throughput_per_s: float
    latency_ms_p50: float
    latency_ms_p99: float
    latency_ms_max: float
    statuses: dict[str, int] = field(default_factory=dict)
    payment_ids: list[str] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        """Everything but the ids, for reports."""
        data = asdict(self)
        data.pop("payment_ids")
        return data


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def run_load(
    url: str,
    key: str,
    *,
    clients: int = 8,
    payments_per_client: int = 25,
    deadline_s: float = 60.0,
) -> LoadResult:
    """Take ``clients * payments_per_client`` payments concurrently; never past the deadline."""
    parts = urlsplit(url)
    host = parts.hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("load runs against a loopback address only")
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    ids: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s

    def agent(number: int) -> None:
        connection = http.client.HTTPConnection(host, parts.port, timeout=30)
        try:
            for n in range(payments_per_client):
                if time.monotonic() > stop_at:
                    return
                body = json.dumps(
                    {"amount": "10.00", "currency": "USD", "reference": f"load-{number}-{n}",
                     "card": _CARD}
                )  # fmt: skip
                headers = {
                    "Authorization": f"Bearer {key}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"load-{uuid.uuid4()}",
                }
                receipt: dict[str, Any] | None = None
                started = time.perf_counter()
                try:
                    connection.request("POST", "/v1/payments", body, headers)
                    response = connection.getresponse()
                    answer = response.read()
                    outcome = str(response.status)
                    if response.status == 201:
                        receipt = json.loads(answer)
                        outcome = f"201 {receipt['status']}"
                except (OSError, http.client.HTTPException) as error:
                    outcome = type(error).__name__
                    connection.close()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[outcome] = statuses.get(outcome, 0) + 1
                    if receipt is not None:
                        ids.append(receipt["id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=deadline_s + 60)
    seconds = time.perf_counter() - started
    approved = statuses.get("201 approved", 0)
    return LoadResult(
        clients=clients,
        payments=len(latencies),
        approved=approved,
        errors=len(latencies) - approved,
        seconds=round(seconds, 3),
        throughput_per_s=round(len(latencies) / seconds, 1) if seconds else 0.0,
        latency_ms_p50=round(statistics.median(latencies) * 1000, 2) if latencies else 0.0,
        latency_ms_p99=round(_percentile(latencies, 0.99) * 1000, 2) if latencies else 0.0,
        latency_ms_max=round(max(latencies) * 1000, 2) if latencies else 0.0,
        statuses=statuses,
        payment_ids=ids,
    )
