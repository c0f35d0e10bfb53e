"""The floor: a standard-library-only handler making the same one PayPal call."""

from __future__ import annotations

import json

import paypal_call


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    body = json.loads(event["body"])
    key = event["headers"]["Idempotency-Key"]
    status = paypal_call.charge(body["amount"], body["currency"], body["card"], "floor-" + key)
    receipt = {"status": "approved" if status == "COMPLETED" else "declined",
               "last4": body["card"]["number"][-4:]}  # fmt: skip
    return {"statusCode": 201, "body": json.dumps(receipt)}
