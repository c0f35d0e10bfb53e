"""POST /v1/payments: the only route that ever sees card data. Standard library only."""

from __future__ import annotations

from collections.abc import Callable

from cardline.cde.charge import Charger, parse_payment_request
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Response
from cardline.cde.request_rules import validate_idempotency_key

PAYMENTS_PATH = "/v1/payments"


def payment_route(charger: Callable[[], Charger]) -> Route:
    """The route taking a card payment; ``charger`` is called per request (lazy set-up)."""

    def take_payment(call: Call) -> Response:
        key = validate_idempotency_key(call.request.header("idempotency-key"))
        request = parse_payment_request(call.request.json())
        receipt = charger().charge(
            request, operator=call.operator, idempotency_key=key, origin=call.request.source_ip
        )
        # The receipt's JSON was made once for its audit event; the answer reuses it.
        return Response(
            201,
            {"Content-Type": "application/json", "Location": f"{PAYMENTS_PATH}/{receipt.id}"},
            receipt.to_json().encode(),
        )

    return Route("POST", PAYMENTS_PATH, take_payment)
