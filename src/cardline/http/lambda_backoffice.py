"""AWS Lambda entry point for every route except taking a payment. Never sees card data.

It also serves the agent console's static files, signing agents in with the operator user
pool's app client named by ``CARDLINE_COGNITO_CLIENT_ID`` (the SAM template sets it); without
that variable the console is not served, since the page would have no way to sign in.

With ``CARDLINE_IVR_SESSIONS_TABLE`` (set by the template where the IVR is deployed) it
also serves agent-assisted IVR payments, ``POST /v1/ivr/sessions`` and
``GET /v1/ivr/sessions/{id}``, on that DynamoDB table (cardline.ivr.session_table), and
the console offers its "Caller keys the card" panel; without it those routes answer 404.

Logs, metrics and traces go through Powertools (cardline.telemetry): each log line names
the Lambda and API Gateway request ids and the operator; a webhook delivery refused as not
verified counts one ``WebhookVerificationFailures``.
"""

from __future__ import annotations

import os
from typing import Any

from cardline.cde import audit
from cardline.cde.http.app import App, Route
from cardline.cde.http.lambda_events import LambdaFunction, gateway_identity
from cardline.http.backoffice_routes import backoffice_routes
from cardline.http.console_routes import CognitoSignIn, console_routes
from cardline.telemetry import API_GATEWAY_REQUEST_ID, Telemetry

SERVICE = "backoffice"

_sink = audit.StreamSink()
telemetry = Telemetry(SERVICE)


def _build() -> App:
    from cardline.capture import Authorizations
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
    authorizations = Authorizations(paypal, ledger, _sink)
    mode = "live" if config.base_url == PayPalConfig.LIVE_URL else "sandbox"
    names: OperatorNames = NoOperatorNames()
    if environ.get("CARDLINE_OPERATOR_POOL_ID"):
        names = CognitoOperatorNames(environ["CARDLINE_OPERATOR_POOL_ID"])
    routes = backoffice_routes(
        lambda: ledger, lambda: refunder, mode, lambda: names, lambda: authorizations
    )
    # PAYPAL_WEBHOOK_ID: in the PayPal secret (or the environment); without it every
    # delivery is refused, and audited.
    webhook_id = environ.get("PAYPAL_WEBHOOK_ID") or None
    apps: list[App] = []
    routes.append(
        webhook_route(
            lambda: paypal,
            lambda: ledger,
            _sink,
            lambda: webhook_id,
            lambda: apps[0].failures,
            not_verified=lambda: telemetry.count("WebhookVerificationFailures"),
        )
    )
    sessions_table = environ.get("CARDLINE_IVR_SESSIONS_TABLE")
    if sessions_table:
        routes.extend(_ivr_session_routes(sessions_table))
    cognito = CognitoSignIn.from_env(os.environ)
    if cognito is not None:
        routes.extend(console_routes(cognito, ivr_sessions=bool(sessions_table)))
    apps.append(App.on_lambda(routes, _sink))
    return apps[0]


def _ivr_session_routes(table: str) -> list[Route]:
    """The agent-assisted IVR routes on the sessions table, its client made on first use."""
    from cardline.ivr.session_routes import session_routes
    from cardline.ivr.session_table import DynamoDbSessionStore

    stores: list[DynamoDbSessionStore] = []

    def sessions() -> DynamoDbSessionStore:
        if not stores:
            stores.append(DynamoDbSessionStore(table, _sink))
        return stores[0]

    return session_routes(sessions)


_function = LambdaFunction(_build)


def _handle(event: Any, context: Any) -> dict[str, Any]:
    answer = _function(event, context)
    method, path = _method_and_path(event)
    # One line per answer, for the log queries of docs/operations.md; the path is masked
    # with the rest of the line (a caller may type anything into it).
    telemetry.logger.info("answered", method=method, path=path, status=answer["statusCode"])
    return answer


def _method_and_path(event: Any) -> tuple[str, str]:
    """The request's method and path as API Gateway gave them ("" when it did not)."""
    if not isinstance(event, dict):
        return "", ""
    if event.get("version") == "2.0":
        context = event.get("requestContext")
        http = context.get("http") if isinstance(context, dict) else None
        method = http.get("method") if isinstance(http, dict) else None
        path = event.get("rawPath")
    else:
        method, path = event.get("httpMethod"), event.get("path")
    return (method if isinstance(method, str) else ""), (path if isinstance(path, str) else "")


handler = telemetry.entry_point(
    _handle, correlation_id_path=API_GATEWAY_REQUEST_ID, operator=gateway_identity
)
