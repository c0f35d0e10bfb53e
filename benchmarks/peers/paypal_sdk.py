"""A standard-library handler charging through PayPal's official SDK (paypal-server-sdk)."""

from __future__ import annotations

import json
import os
from typing import Any

from paypalserversdk.configuration import Environment, Server
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.card_request import CardRequest
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

_client: PaypalServersdkClient | None = None


def _sdk() -> PaypalServersdkClient:
    global _client
    if _client is None:
        from paypalserversdk.configuration import Configuration

        # The SDK knows only PayPal's two hosts; point its sandbox at the emulator.
        Configuration.environments[Environment.SANDBOX][Server.DEFAULT] = os.environ[
            "PAYPAL_BASE_URL"
        ]
        _client = PaypalServersdkClient(
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=os.environ["PAYPAL_CLIENT_ID"],
                o_auth_client_secret=os.environ["PAYPAL_CLIENT_SECRET"],
            ),
            environment=Environment.SANDBOX,
        )
    return _client


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    body = json.loads(event["body"])
    key = event["headers"]["Idempotency-Key"]
    card = body["card"]
    month, year = card["expiry"].split("/")
    order = OrderRequest(
        intent=CheckoutPaymentIntent.CAPTURE,
        purchase_units=[
            PurchaseUnitRequest(
                amount=AmountWithBreakdown(currency_code=body["currency"], value=body["amount"])
            )
        ],
        payment_source=PaymentSource(
            card=CardRequest(
                number=card["number"],
                expiry="20" + year + "-" + month,
                security_code=card["security_code"],
                name=card["name"],
            )
        ),
    )
    result = _sdk().orders.create_order(
        {"body": order, "paypal_request_id": "sdk-" + key, "prefer": "return=representation"}
    )
    status = result.body.purchase_units[0].payments.captures[0].status
    receipt = {"status": "approved" if status == "COMPLETED" else "declined",
               "last4": card["number"][-4:]}  # fmt: skip
    return {"statusCode": 201, "body": json.dumps(receipt)}
