"""The same route with FastAPI (pydantic models) behind Mangum."""

from __future__ import annotations

from typing import Annotated, Any

import paypal_call
from fastapi import FastAPI, Header
from mangum import Mangum
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


app = FastAPI()


@app.post("/v1/payments", status_code=201)
def take_payment(body: PaymentIn, idempotency_key: Annotated[str, Header()]) -> dict[str, Any]:
    card = body.card.model_dump()
    status = paypal_call.charge(body.amount, body.currency, card, "fastapi-" + idempotency_key)
    return {"status": "approved" if status == "COMPLETED" else "declined",
            "last4": body.card.number[-4:]}  # fmt: skip


handler = Mangum(app, lifespan="off")
