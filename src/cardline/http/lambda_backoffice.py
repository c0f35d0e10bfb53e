"""AWS Lambda entry point for every route except taking a payment. Never sees card data.

It also serves the agent console's static files, signing agents in with the operator user
pool's app client named by ``CARDLINE_COGNITO_CLIENT_ID`` (the SAM template sets it); without
that variable the console is not served, since the page would have no way to sign in.
"""

from __future__ import annotations

import os
from typing import Any

from cardline.cde import audit
from cardline.cde.http.app import App, GatewayAuthenticator
from cardline.cde.http.failure_audit import EachFailure
from cardline.cde.http.lambda_events import handle_event
from cardline.cde.http.throttle import FailureThrottle
from cardline.http.backoffice_routes import backoffice_routes
from cardline.http.console_routes import CognitoSignIn, console_routes

_sink = audit.StreamSink()
_app: App | None = None


def _build() -> App:
    from cardline.cde.paypal import PayPalClient, PayPalConfig
    from cardline.cde.paypal.config import NOT_CONFIGURED
    from cardline.cde.secrets import settings
    from cardline.ledger import Ledger
    from cardline.refund import Refunder

    environ = settings(os.environ)
    config = PayPalConfig.from_env(environ)
    if config is None:
        raise RuntimeError(NOT_CONFIGURED)
    ledger: Ledger
    if environ.get("CARDLINE_LEDGER_TABLE"):
        from cardline.ledger.dynamodb import DynamoDbLedger

        ledger = DynamoDbLedger(environ["CARDLINE_LEDGER_TABLE"])
    else:
        # SQLite serves a single-instance deployment without DynamoDB.
        from cardline.ledger.sqlite import SqliteLedger

        path = environ.get("CARDLINE_LEDGER_PATH", "/tmp/cardline-ledger.sqlite3")  # noqa: S108
        ledger = SqliteLedger(path)
    refunder = Refunder(PayPalClient(config), ledger, _sink)
    mode = "live" if config.base_url == PayPalConfig.LIVE_URL else "sandbox"
    routes = backoffice_routes(lambda: ledger, lambda: refunder, mode)
    cognito = CognitoSignIn.from_env(os.environ)
    if cognito is not None:
        routes.extend(console_routes(cognito))
    # As in lambda_charge: failures counted, never slept, and written at once.
    return App(
        routes,
        GatewayAuthenticator(),
        _sink,
        throttle=FailureThrottle(max_delay=0.0),
        failures=EachFailure(_sink),
    )


def handler(event: Any, context: Any) -> dict[str, Any]:
    global _app
    if _app is None:
        audit.install_log_filter()  # the runtime's handler, before anything can log
        _app = _build()
    return handle_event(_app, event)
