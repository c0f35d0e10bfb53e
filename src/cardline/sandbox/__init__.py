"""A PayPal REST sandbox emulator for tests and local runs (standard library only).

It speaks OAuth client credentials, Orders v2 (single-step card payments) and Payments v2
(authorization capture/void, capture refund), reproduces PayPal's sandbox test cards,
CCREJECT-* decline triggers, ``PayPal-Mock-Response`` and ``PayPal-Request-Id``
idempotency, and injects faults (delays, error statuses, dropped connections, broken
JSON). It keeps cards only as brand and last digits.
"""

from __future__ import annotations

from cardline.sandbox.emulator import Emulator, serve_forever
from cardline.sandbox.faults import Fault

__all__ = ["Emulator", "Fault", "serve_forever"]
