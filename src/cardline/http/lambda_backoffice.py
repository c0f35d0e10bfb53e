"""AWS Lambda entry point for every route except taking a payment. Never sees card data.

It also serves the agent console's static files, signing agents in with the operator user
pool's app client named by ``CARDLINE_COGNITO_CLIENT_ID`` (the SAM template sets it); without
that variable the console is not served, since the page would have no way to sign in.
"""

from __future__ import annotations

import os
from typing import Any

from cardline.cde import audit
from cardline.cde.http.app import App
from cardline.cde.http.lambda_events import LambdaFunction
from cardline.http.backoffice_routes import backoffice_routes
from cardline.http.console_routes import CognitoSignIn, console_routes

_sink = audit.StreamSink()


def _build() -> App:
    from cardline.cde.paypal import PayPalClient, PayPalConfig
    from cardline.cde.paypal.config import NOT_CONFIGURED
    from cardline.cde.secrets import settings
    from cardline.ledger import Ledger
    from cardline.operator_names import CognitoOperatorNames, NoOperatorNames, OperatorNames
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
    from cardline.http.webhook_route import webhook_route

    paypal = PayPalClient(config)
    refunder = Refunder(paypal, ledger, _sink)
    mode = "live" if config.base_url == PayPalConfig.LIVE_URL else "sandbox"
    names: OperatorNames = NoOperatorNames()
    if environ.get("CARDLINE_OPERATOR_POOL_ID"):
        names = CognitoOperatorNames(environ["CARDLINE_OPERATOR_POOL_ID"])
    routes = backoffice_routes(lambda: ledger, lambda: refunder, mode, lambda: names)
    # PAYPAL_WEBHOOK_ID: in the PayPal secret (or the environment); without it every
    # delivery is refused, and audited.
    webhook_id = environ.get("PAYPAL_WEBHOOK_ID") or None
    apps: list[App] = []
    routes.append(
        webhook_route(
            lambda: paypal, lambda: ledger, _sink, lambda: webhook_id, lambda: apps[0].failures
        )
    )
    cognito = CognitoSignIn.from_env(os.environ)
    if cognito is not None:
        routes.extend(console_routes(cognito))
    apps.append(App.on_lambda(routes, _sink))
    return apps[0]


_function = LambdaFunction(_build)


def handler(event: Any, context: Any) -> dict[str, Any]:
    return _function(event, context)
