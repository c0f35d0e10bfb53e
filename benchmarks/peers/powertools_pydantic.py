"""The same route with Powertools' REST resolver and a pydantic model."""

from __future__ import annotations

from typing import Any

import paypal_call
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import BaseModel


class CardIn(BaseModel):
    number: str
    expiry: str
    security_code: str
    name: str


class PaymentIn(BaseModel):
    amount: str
    currency: str
    reference: str | None = None
    card: CardIn


app = APIGatewayRestResolver()


@app.post("/v1/payments")
def take_payment() -> Response[Any]:
    body = PaymentIn.model_validate_json(app.current_event.body or "")
    key = app.current_event.headers.get("Idempotency-Key") or ""
    card = body.card.model_dump()
    status = paypal_call.charge(body.amount, body.currency, card, "powertools-" + key)
    receipt = {"status": "approved" if status == "COMPLETED" else "declined",
               "last4": body.card.number[-4:]}  # fmt: skip
    return Response(status_code=201, content_type="application/json", body=receipt)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return app.resolve(event, context)  # type: ignore[arg-type]
