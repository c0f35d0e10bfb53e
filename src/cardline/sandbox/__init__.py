"""A PayPal REST sandbox emulator for tests and local runs (standard library only, plus
``cryptography`` for webhook signatures, loaded when the first one is made).

It speaks OAuth client credentials, Orders v2 (single-step card payments), Payments v2
(authorization capture/void, capture refund) and Webhooks v1 (subscriptions, signed
deliveries retried like PayPal's, verify-webhook-signature), reproduces PayPal's sandbox
test cards, CCREJECT-* decline triggers, ``PayPal-Mock-Response`` and
``PayPal-Request-Id`` idempotency, simulates what follows the first answer (pending
captures, reversals, disputes: docs/emulator.md), and injects faults (delays, error
statuses, dropped connections, broken JSON). It keeps cards only as brand and last digits.
"""

from __future__ import annotations

from cardline.sandbox.emulator import Emulator, serve_forever
from cardline.sandbox.faults import Fault

__all__ = ["Emulator", "Fault", "serve_forever"]
