"""Every route except taking a payment. None of these ever sees card data."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from cardline import __version__
from cardline.capture import Authorizations
from cardline.cde.errors import InvalidRequest, NotFound, RoleRequired
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Response, json_response
from cardline.cde.pan import contains_pan
from cardline.cde.request_rules import reject_unknown
from cardline.cde.roles import AGENT, PUBLIC, SUPERVISOR
from cardline.ledger import PAYMENT_STATUSES, Ledger, time_bound
from cardline.operator_names import NoOperatorNames, OperatorNames, display_name
from cardline.refund import Refunder

MAX_PAGE = 200
LIST_PARAMETERS = frozenset({"status", "since", "until", "limit", "cursor", "search"})
EXPORT_PARAMETERS = frozenset({"since", "until"})
MAX_SEARCH = 127


@cache
def openapi_document() -> dict[str, Any]:
    """The hand-written OpenAPI document shipped with the package, as JSON data."""
    import yaml

    text = resources.files("cardline.http").joinpath("openapi.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _limit(value: str | None) -> int:
    if value is None:
        return 50
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_PAGE}", field="limit")
    return int(value)


def _search(value: str | None) -> str | None:
    """The list's search text: 1 to 127 printable characters, never a card number (the
    console refuses one before sending; this answer never repeats what it was sent)."""
    if value is None:
        return None
    text = value.strip()
    if not 1 <= len(text) <= MAX_SEARCH or not text.isprintable():
        raise InvalidRequest(
            f"search must be 1 to {MAX_SEARCH} printable characters", field="search"
        )
    if contains_pan(text):
        raise InvalidRequest(
            "search must not hold a card number: search by the last 4 digits", field="search"
        )
    return text


def backoffice_routes(
    ledger: Callable[[], Ledger],
    refunder: Callable[[], Refunder],
    paypal_mode: str,
    names: Callable[[], OperatorNames] = NoOperatorNames,
    authorizations: Callable[[], Authorizations] | None = None,
) -> list[Route]:
    """Health, the OpenAPI document, the signed-in operator, payment reads, the export,
    refunds and, given ``authorizations``, captures and voids of authorizations. ``names``
    tells the agents' names from their operator ids (cardline.operator_names). An agent
    reads the payments they took; a supervisor, all."""

    def own(call: Call) -> str | None:
        """The operator whose payments the caller may read: themselves, or None for all."""
        return None if call.holds(SUPERVISOR) else call.operator

    def named(item: dict[str, Any]) -> dict[str, Any]:
        item["operator_name"] = display_name(item.get("operator"), names())
        return item

    def health(call: Call) -> Response:
        return json_response(200, {"status": "ok", "version": __version__, "paypal": paypal_mode})

    def openapi(call: Call) -> Response:
        response = json_response(200, openapi_document())
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    def list_payments(call: Call) -> Response:
        query = call.request.query
        reject_unknown(query, LIST_PARAMETERS, "query")
        status = query.get("status")
        if status is not None and status not in PAYMENT_STATUSES:
            raise InvalidRequest(
                "status must be one of " + ", ".join(PAYMENT_STATUSES), field="status"
            )
        try:
            page = ledger().list_payments(
                status=status,
                since=time_bound(query.get("since"), "since"),
                until=time_bound(query.get("until"), "until"),
                limit=_limit(query.get("limit")),
                cursor=query.get("cursor"),
                search=_search(query.get("search")),
                operator=own(call),
            )
        except ValueError:
            raise InvalidRequest("cursor is not one this service issued", field="cursor") from None
        items = [named(item) for item in page.items]
        return json_response(200, {"items": items, "next_cursor": page.next_cursor})

    def get_payment(call: Call) -> Response:
        payment = ledger().get_payment(call.params["id"])
        if payment is None:
            raise NotFound("No payment with this id")
        if own(call) not in (None, payment.get("operator")):
            raise RoleRequired(
                SUPERVISOR, "Another agent took this payment: reading it needs the supervisor role"
            )
        payment["refunds"] = [named(refund) for refund in ledger().refunds_for(payment["id"])]
        payment["captures"] = [named(row) for row in ledger().captures_for(payment["id"])]
        return json_response(200, named(payment))

    def signed_in(call: Call) -> Response:
        return json_response(
            200,
            {
                "operator": call.operator,
                "name": display_name(call.operator, names()),
                "role": call.role,
            },
        )

    def export_payments(call: Call) -> Response:
        from cardline.export import EXPORT_MEDIA_TYPE, payments_csv

        query = call.request.query
        reject_unknown(query, EXPORT_PARAMETERS, "query")
        text = payments_csv(
            ledger(),
            since=time_bound(query.get("since"), "since"),
            until=time_bound(query.get("until"), "until"),
        )
        headers = {
            "Content-Type": EXPORT_MEDIA_TYPE,
            "Content-Disposition": 'attachment; filename="cardline-payments.csv"',
        }
        return Response(200, headers, text.encode("utf-8"))

    def refund_payment(call: Call) -> Response:
        body = call.request.json() if call.request.body else None
        refund = refunder().refund(
            call.params["id"],
            body,
            operator=call.operator,
            idempotency_key=call.request.header("idempotency-key"),
            origin=call.request.source_ip,
        )
        return json_response(201, refund)

    def on_authorization(verb: str) -> Callable[[Call], Response]:
        """The route that captures, voids or reauthorizes the payment's authorization."""

        def act(call: Call) -> Response:
            assert authorizations is not None
            body = call.request.json() if call.request.body else None
            made = getattr(authorizations(), verb)(
                call.params["id"],
                body,
                operator=call.operator,
                idempotency_key=call.request.header("idempotency-key"),
                origin=call.request.source_ip,
            )
            return json_response(201, made)

        return act

    routes = [
        Route("GET", "/health", health, role=PUBLIC),
        Route("GET", "/openapi.json", openapi, role=PUBLIC),
        Route("GET", "/v1/operator", signed_in, role=AGENT),
        Route("GET", "/v1/payments", list_payments, role=AGENT),
        # Before /v1/payments/{id}, which "export" would match too.
        Route("GET", "/v1/payments/export", export_payments, role=SUPERVISOR),
        Route("GET", "/v1/payments/{id}", get_payment, role=AGENT),
        Route("POST", "/v1/payments/{id}/refunds", refund_payment, role=SUPERVISOR),
    ]
    if authorizations is not None:
        routes += [
            Route("POST", f"/v1/payments/{{id}}/{verb}", on_authorization(verb), role=SUPERVISOR)
            for verb in ("capture", "void", "reauthorize")
        ]
    return routes
