"""AWS Lambda entry point for every route except taking a payment. Never sees card data."""

from __future__ import annotations

import os
from typing import Any

from cardline import audit
from cardline.http.app import App, GatewayAuthenticator
from cardline.http.backoffice_routes import backoffice_routes
from cardline.http.lambda_events import handle_event

audit.install_log_filter()

_sink = audit.StreamSink()
_app: App | None = None


def _build() -> App:
    from cardline.ledger.sqlite import SqliteLedger
    from cardline.paypal import PayPalClient, PayPalConfig
    from cardline.refund import Refunder

    config = PayPalConfig.from_env(os.environ)
    if config is None:
        raise RuntimeError("PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET must be configured")
    # The DynamoDB ledger replaces this on AWS; SQLite serves a single-instance deployment.
    ledger = SqliteLedger(os.environ.get("CARDLINE_LEDGER_PATH", "/tmp/cardline-ledger.sqlite3"))  # noqa: S108
    refunder = Refunder(PayPalClient(config), ledger, _sink)
    mode = "live" if config.base_url == PayPalConfig.LIVE_URL else "sandbox"
    routes = backoffice_routes(lambda: ledger, lambda: refunder, mode)
    return App(routes, GatewayAuthenticator(), _sink)


def handler(event: Any, context: Any) -> dict[str, Any]:
    global _app
    if _app is None:
        _app = _build()
    return handle_event(_app, event)
