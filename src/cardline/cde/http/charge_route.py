"""POST /v1/payments: the only route that ever sees card data. Standard library only."""

from __future__ import annotations

from cardline.cde.charge import Charger, parse_payment_request
from cardline.cde.confirmation import confirmation_code
from cardline.cde.errors import InvalidRequest, MalformedRequest, UnsupportedMediaType
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Response, json_response
from cardline.cde.request_rules import validate_idempotency_key
from cardline.cde.roles import AGENT

PAYMENTS_PATH = "/v1/payments"
# What a request refused before PayPal raises: the ValidationRefusals metric counts these.
REFUSALS = (InvalidRequest, MalformedRequest, UnsupportedMediaType)


def payment_route(charger: Charger) -> Route:
    """The route taking a card payment through ``charger``; a request refused before
    PayPal is reported to the charger's metrics by the field at fault."""

    def take_payment(call: Call) -> Response:
        try:
            key = validate_idempotency_key(call.request.header("idempotency-key"))
            request = parse_payment_request(call.request.json())
        except REFUSALS as refused:
            charger.metrics.validation_refusal(refused.field)
            raise
        receipt = charger.charge(
            request,
            operator=call.operator,
            idempotency_key=key,
            origin=call.request.source_ip,
            role=call.role,
        )
        # The receipt, and the code the agent reads back to the caller (the IVR's too).
        answer = receipt.to_dict()
        answer["confirmation_code"] = confirmation_code(receipt.id)
        return json_response(201, answer, {"Location": f"{PAYMENTS_PATH}/{receipt.id}"})

    # Every role may take payments.
    return Route("POST", PAYMENTS_PATH, take_payment, role=AGENT)
