"""POST /v1/payments: the only route that ever sees card data. Standard library only."""

from __future__ import annotations

from collections.abc import Callable

from cardline.charge import Charger, parse_payment_request, validate_idempotency_key
from cardline.http.app import Call, Route
from cardline.http.messages import Response, json_response

PAYMENTS_PATH = "/v1/payments"


def payment_route(charger: Callable[[], Charger]) -> Route:
    """The route taking a card payment; ``charger`` is called per request (lazy set-up)."""

    def take_payment(call: Call) -> Response:
        key = validate_idempotency_key(call.request.header("idempotency-key"))
        request = parse_payment_request(call.request.json())
        receipt = charger().charge(
            request, operator=call.operator, idempotency_key=key, origin=call.request.source_ip
        )
        return json_response(201, receipt.to_dict(), {"Location": f"{PAYMENTS_PATH}/{receipt.id}"})

    return Route("POST", PAYMENTS_PATH, take_payment)
