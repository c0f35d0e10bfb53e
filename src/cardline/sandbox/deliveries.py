"""Webhook deliveries: each event POSTed, signed, to every subscribed URL, retried like
PayPal until the listener answers 2xx.

One delivery is one event to one webhook. Each attempt is a transmission of its own (a new
``PAYPAL-TRANSMISSION-ID`` and time, signed for that webhook); the body, the event's JSON,
is the same every time. An attempt is sent from a thread of its own, started by the
scheduler's thread: an API answer never waits for a listener, and a listener that hangs
holds up only its own attempt (until :data:`TIMEOUT`, then it counts as failed).

Retries follow :data:`RETRY_DELAYS` (emulator seconds after the failed attempt): PayPal
retries any answer but 2xx up to 25 times over 3 days; the emulator's schedule doubles
from one minute up to four hours, 25 attempts in about 2.8 days. The clock is the
emulator's, so a test moves through the schedule with ``advance_clock``.

Every transmission is remembered, so that ``verify-webhook-signature`` can answer as
PayPal does: SUCCESS only for a transmission the emulator made, for that webhook, with the
event it sent. Transmissions and pending retries live in memory: a restarted emulator
neither retries nor verifies the deliveries of its previous run.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cardline.sandbox.clock import Clock
from cardline.sandbox.scheduler import Scheduler
from cardline.sandbox.signing import AUTH_ALGO, Signer, signed_string, verify_signature

RETRY_DELAYS: tuple[int, ...] = tuple(min(60 * 2**n, 4 * 3600) for n in range(24))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
TIMEOUT = 10.0  # seconds a listener has to answer one attempt
USER_AGENT = "PayPal/AUHD-214.0-58843151"  # what PayPal's deliveries carry

Post = Callable[[str, Mapping[str, str], bytes, float], int]
Spawn = Callable[[Callable[[], None]], None]


@dataclass(frozen=True)
class Target:
    """A subscribed listener: its webhook id and URL."""

    webhook_id: str
    url: str


@dataclass(frozen=True)
class Sent:
    """One transmission the emulator made."""

    transmission_id: str
    transmission_time: str
    webhook_id: str
    cert_url: str
    signature: str
    body: bytes
    event: Any  # the body's JSON value


def post(url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> int:
    """POST ``body`` to ``url``; the answer's status (the body is read and dropped)."""
    parts = urllib.parse.urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        connection.request("POST", target, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="paypal-sandbox-webhook", daemon=True).start()


def same_json(left: Any, right: Any) -> bool:
    """True when two decoded JSON values are equal as JSON: key order and spacing never
    matter, and true is not 1 (Python's ``==`` says it is)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    return type(left) is type(right) and left == right


class Deliverer:
    """Sends events to listeners and remembers what it sent.

    ``post`` and ``spawn`` are the network and the attempt thread; a unit test may pass
    its own (``spawn=lambda work: work()`` runs an attempt on the scheduler's thread).
    """

    def __init__(
        self,
        clock: Clock,
        scheduler: Scheduler,
        signer: Signer,
        cert_url: Callable[[], str],
        *,
        post: Post = post,
        spawn: Spawn = _thread,
        timeout: float = TIMEOUT,
    ) -> None:
        self._clock = clock
        self._scheduler = scheduler
        self._signer = signer
        self._cert_url = cert_url
        self._post = post
        self._spawn = spawn
        self.timeout = timeout
        self._lock = threading.Condition()
        self._sent: dict[str, Sent] = {}
        self._attempts: list[dict[str, Any]] = []

    def deliver(self, event: Mapping[str, Any], targets: list[Target]) -> None:
        """Send ``event`` to each of ``targets``, first attempt now. Returns at once."""
        body = json.dumps(event, separators=(",", ":")).encode()
        for target in targets:
            self._scheduler.after(0, self._attempt_later(target, body, 1))

    def _attempt_later(self, target: Target, body: bytes, number: int) -> Callable[[], None]:
        return lambda: self._spawn(lambda: self._attempt(target, body, number))

    def _attempt(self, target: Target, body: bytes, number: int) -> None:
        transmission_id = str(uuid.uuid4())
        transmission_time = self._clock.iso()
        signature = self._signer.sign(
            signed_string(transmission_id, transmission_time, target.webhook_id, body)
        )
        sent = Sent(
            transmission_id=transmission_id,
            transmission_time=transmission_time,
            webhook_id=target.webhook_id,
            cert_url=self._cert_url(),
            signature=signature,
            body=body,
            event=json.loads(body),
        )
        with self._lock:  # kept before it leaves: the listener may verify at once
            self._sent[transmission_id] = sent
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": sent.cert_url,
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }
        status: int | None
        try:
            status = self._post(target.url, headers, body, self.timeout)
            error = None
        except Exception as failure:  # noqa: BLE001 - any failure to deliver is a failed attempt
            status, error = None, type(failure).__name__
        delivered = status is not None and 200 <= status < 300
        retry_in = None if delivered or number >= MAX_ATTEMPTS else RETRY_DELAYS[number - 1]
        finished = self._clock.now()
        with self._lock:
            self._attempts.append(
                {
                    "event_id": sent.event.get("id"),
                    "event_type": sent.event.get("event_type"),
                    "webhook_id": target.webhook_id,
                    "url": target.url,
                    "attempt": number,
                    "transmission_id": transmission_id,
                    "transmission_time": transmission_time,
                    "status": status,
                    "error": error,
                    "delivered": delivered,
                    "finished_at": finished,
                    "next_attempt_at": None if retry_in is None else finished + retry_in,
                }
            )
            if retry_in is not None:
                retry = self._attempt_later(target, body, number + 1)
                self._scheduler.at(finished + retry_in, retry)
            self._lock.notify_all()

    def attempts(self) -> list[dict[str, Any]]:
        """Every attempt so far, oldest first: event, webhook, attempt number, status (None
        when the listener could not be reached), and when the next attempt is due."""
        with self._lock:
            return [dict(entry) for entry in self._attempts]

    def wait_for_attempts(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` attempts have finished (their retry, if any, scheduled);
        False if ``timeout`` seconds pass first."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._attempts) >= count, timeout)

    def sent(self) -> list[Sent]:
        """Every transmission made, oldest first."""
        with self._lock:
            return list(self._sent.values())

    def verify(self, fields: Mapping[str, Any]) -> bool:
        """PayPal's verify-webhook-signature on checked ``fields``: True only when the
        transmission is one the emulator made, for this webhook, carrying the same header
        values, and ``webhook_event`` is the event it sent (compared as JSON values)."""
        with self._lock:
            sent = self._sent.get(str(fields["transmission_id"]))
        if sent is None:
            return False
        if (
            fields["webhook_id"] != sent.webhook_id
            or fields["transmission_time"] != sent.transmission_time
            or fields["cert_url"] != sent.cert_url
            or fields["auth_algo"] != AUTH_ALGO
            or fields["transmission_sig"] != sent.signature
            or not same_json(fields["webhook_event"], sent.event)
        ):
            return False
        message = signed_string(
            sent.transmission_id, sent.transmission_time, sent.webhook_id, sent.body
        )
        return verify_signature(self._signer.cert_pem, sent.signature, message)
