"""PayPal Orders v2 / Payments v2 REST client for the charge path.

Standard library only (http.client + ssl + json): this package is imported by every cold
Lambda that takes a card payment, so it must import fast and bring no third-party code
into PCI scope.

    config.py    PayPalConfig: base URL (https only; http to loopback), TLS, timeouts
    codes.py     processor response codes, card issues, and the agent's sentences for them
    outcome.py   ChargeOutcome and interpret_order: what an order came to
    client.py    PayPalClient: connection, OAuth token, request ids, retries, error mapping

Card data never appears in an exception message, a log line or an exception's chain:
PayPal's ``details[].value`` echoes are never read, request bodies and headers are never
logged, and transport errors are re-raised as fresh exceptions rather than chained (the
original's traceback holds http.client frames whose locals contain the request body).
"""

from __future__ import annotations

from cardline.cde.paypal.client import PayPalClient
from cardline.cde.paypal.codes import RESPONSE_CODES, RETRYABLE_RESPONSE_CODES
from cardline.cde.paypal.config import PayPalConfig, timeout_from_env
from cardline.cde.paypal.outcome import ChargeOutcome, interpret_order, order_id_of

__all__ = [
    "RESPONSE_CODES",
    "RETRYABLE_RESPONSE_CODES",
    "ChargeOutcome",
    "PayPalClient",
    "PayPalConfig",
    "interpret_order",
    "order_id_of",
    "timeout_from_env",
]
