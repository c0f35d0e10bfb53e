"""Every request cardline.cde.paypal sends, checked against PayPal's official OpenAPI documents.

The client runs each operation it offers against the recording fake PayPal of the unit
tests; each recorded request must name an operation the documents define, carry the
headers PayPal needs (with values valid for the declared header parameters), and have a
JSON body that validates against the operation's request schema (read-only fields
refused).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from cardline.cde.card import Card
from cardline.cde.money import parse_money
from cardline.cde.paypal import PayPalClient, PayPalConfig
from tests.cards import AMEX, CVV, VISA, future_expiry
from tests.conformance.spec import (
    SKIP_REASON,
    SPEC_DIR,
    load_spec,
    validate_request_body,
    validate_schema,
)
from tests.unit.test_paypal_client import TOKEN, FakePayPal, Recorded

pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason=SKIP_REASON)

# Operations where PayPal-Request-Id is what makes a retry safe (PAYPAL.md, Idempotency).
IDEMPOTENT_POSTS = {
    "/v2/checkout/orders",
    "/v2/payments/authorizations/{authorization_id}/capture",
    "/v2/payments/authorizations/{authorization_id}/void",
    "/v2/payments/captures/{capture_id}/refund",
}


def _spec_for(path: str) -> dict[str, Any]:
    if path.startswith("/v2/checkout/"):
        return load_spec("checkout_orders_v2")
    if path.startswith("/v2/payments/"):
        return load_spec("payments_payment_v2")
    raise AssertionError(f"{path} belongs to neither OpenAPI document")


def _template(spec: dict[str, Any], path: str) -> str:
    concrete = path.split("?", 1)[0].split("/")
    for template in spec["paths"]:
        parts = template.split("/")
        if len(parts) == len(concrete) and all(
            t == c or (t.startswith("{") and t.endswith("}") and c)
            for t, c in zip(parts, concrete, strict=True)
        ):
            return str(template)
    raise AssertionError(f"{path} matches no path of the document")


def _parameters(spec: dict[str, Any], template: str, method: str) -> list[dict[str, Any]]:
    """The operation's parameters (path-level ones included), references resolved."""
    item = spec["paths"][template]
    declared = [*item.get("parameters", []), *item[method.lower()].get("parameters", [])]
    resolved = []
    for parameter in declared:
        ref = parameter.get("$ref")
        if ref is not None:
            node: Any = spec
            for part in ref.removeprefix("#/").split("/"):
                node = node[part]
            resolved.append({**node, "x-ref": ref})
        else:
            resolved.append(parameter)
    return resolved


def _properties(spec: dict[str, Any], schema: Any) -> set[str]:
    """Property names a schema declares, through $ref and allOf (PayPal composes with both)."""
    if "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return _properties(spec, node)
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        names |= _properties(spec, part)
    return names


def _check_declared(spec: dict[str, Any], schema: str, body: dict[str, Any]) -> None:
    undeclared = set(body) - _properties(spec, {"$ref": f"#/components/schemas/{schema}"})
    assert not undeclared, f"{schema} does not declare {sorted(undeclared)}"


@pytest.fixture(scope="module")
def recorded() -> Iterator[list[Recorded]]:
    """Drive every public operation of the client once (or more) and keep what it sent."""
    fake = FakePayPal().start()
    client = PayPalClient(
        PayPalConfig(fake.base_url, FakePayPal.CLIENT_ID, FakePayPal.CLIENT_SECRET),
        sleep=lambda _: None,
        rng=random.Random(1),
    )
    try:
        visa = Card.parse(number=VISA, expiry=future_expiry(), security_code=CVV, name="Ada L")
        amex = Card.parse(number=AMEX, expiry=future_expiry(), security_code="1234", name="Bo")
        captured, _order = client.create_order(
            request_id="conf-order-1",
            money=parse_money("12.50", "USD"),
            card=visa,
            invoice_id="INV-1",
            custom_id="clfp1:0123456789abcdef",
            description="Telephone order 1",
            mock_response='{"mock_application_codes":"INSTRUMENT_DECLINED"}',
        )
        authorized, _order = client.create_order(
            request_id="conf-order-2",
            money=parse_money("1000", "JPY"),
            card=amex,
            intent="AUTHORIZE",
            billing_address={"postal_code": "94107", "country_code": "US", "admin_area_2": "SF"},
        )
        capture_id = captured.capture_id
        authorization_id = authorized.authorization_id
        assert capture_id is not None
        assert authorization_id is not None
        client.capture_authorization(authorization_id, request_id="conf-capture-1")
        client.capture_authorization(
            authorization_id,
            request_id="conf-capture-2",
            money=parse_money("400", "JPY"),
            final_capture=False,
        )
        client.void_authorization(authorization_id, request_id="conf-void-1")
        refund = client.refund_capture(capture_id, request_id="conf-refund-1")
        client.refund_capture(
            capture_id,
            request_id="conf-refund-2",
            money=parse_money("2.00", "USD"),
            note="Goodwill refund",
        )
        client.get_order(captured.order_id or "")
        client.get_capture(capture_id)
        client.get_refund(refund["id"])
        yield list(fake.requests)
    finally:
        client.close()
        fake.stop()


def _api(recorded: list[Recorded]) -> list[Recorded]:
    return [r for r in recorded if r.path != TOKEN]


def test_every_operation_of_the_client_was_exercised(recorded: list[Recorded]) -> None:
    used = {(r.method, _template(_spec_for(r.path), r.path)) for r in _api(recorded)}
    assert used == {
        ("POST", "/v2/checkout/orders"),
        ("GET", "/v2/checkout/orders/{id}"),
        ("POST", "/v2/payments/authorizations/{authorization_id}/capture"),
        ("POST", "/v2/payments/authorizations/{authorization_id}/void"),
        ("POST", "/v2/payments/captures/{capture_id}/refund"),
        ("GET", "/v2/payments/captures/{capture_id}"),
        ("GET", "/v2/payments/refunds/{refund_id}"),
    }


def test_each_request_is_an_operation_of_the_documents(recorded: list[Recorded]) -> None:
    for request in _api(recorded):
        spec = _spec_for(request.path)
        template = _template(spec, request.path)
        assert request.method.lower() in spec["paths"][template], (request.method, template)


def test_path_parameters_match_their_schemas(recorded: list[Recorded]) -> None:
    for request in _api(recorded):
        spec = _spec_for(request.path)
        template = _template(spec, request.path)
        values = dict(zip(template.split("/"), request.path.split("/"), strict=True))
        for parameter in _parameters(spec, template, request.method):
            if parameter["in"] == "path":
                value = values["{" + parameter["name"] + "}"]
                validate_schema(spec, parameter["x-ref"] + "/schema", value)


def test_declared_header_parameters_have_valid_values(recorded: list[Recorded]) -> None:
    checked = 0
    for request in _api(recorded):
        spec = _spec_for(request.path)
        template = _template(spec, request.path)
        for parameter in _parameters(spec, template, request.method):
            if parameter["in"] != "header":
                continue
            value = request.headers.get(parameter["name"].lower())
            if value is None:
                assert not parameter.get("required"), (template, parameter["name"])
                continue
            validate_schema(spec, parameter["x-ref"] + "/schema", value)
            checked += 1
    assert checked >= 10  # PayPal-Request-Id and Prefer on every POST


def test_every_api_request_is_authenticated_with_the_bearer_token(
    recorded: list[Recorded],
) -> None:
    for request in _api(recorded):
        assert request.headers["authorization"].startswith("Bearer A21AA"), request.path
        assert request.headers["accept"] == "application/json"


def test_posts_carry_request_id_content_type_and_prefer(recorded: list[Recorded]) -> None:
    posts = [r for r in _api(recorded) if r.method == "POST"]
    assert len(posts) == 7
    for request in posts:
        template = _template(_spec_for(request.path), request.path)
        assert template in IDEMPOTENT_POSTS
        assert 1 <= len(request.headers["paypal-request-id"]) <= 108
        assert request.headers["content-type"] == "application/json"
        assert request.headers["prefer"] == "return=representation"
    request_ids = [r.headers["paypal-request-id"] for r in posts]
    assert len(set(request_ids)) == len(request_ids)


def test_gets_carry_no_body_and_no_request_id(recorded: list[Recorded]) -> None:
    for request in _api(recorded):
        if request.method == "GET":
            assert request.body == b""
            assert "paypal-request-id" not in request.headers


def test_request_bodies_validate_against_the_operation_schemas(recorded: list[Recorded]) -> None:
    validated: dict[str, int] = {}
    for request in _api(recorded):
        if request.method != "POST":
            continue
        spec = _spec_for(request.path)
        template = _template(spec, request.path)
        operation = spec["paths"][template]["post"]
        if "requestBody" not in operation:
            assert request.body == b"", f"{template} takes no body"
            continue
        validate_request_body(spec, template, "POST", request.json())
        validated[template] = validated.get(template, 0) + 1
    assert validated == {
        "/v2/checkout/orders": 2,
        "/v2/payments/authorizations/{authorization_id}/capture": 2,
        "/v2/payments/captures/{capture_id}/refund": 2,
    }


def test_order_bodies_name_their_schemas_explicitly(recorded: list[Recorded]) -> None:
    """The same check through the named schemas the brief lists (order_request etc.)."""
    orders = load_spec("checkout_orders_v2")
    payments = load_spec("payments_payment_v2")
    for request in _api(recorded):
        if request.method != "POST" or not request.body:
            continue
        body = request.json()
        if request.path == "/v2/checkout/orders":
            validate_schema(orders, "order_request", body)
            validate_schema(orders, "card_request", body["payment_source"]["card"])
        elif request.path.endswith("/capture"):
            validate_schema(payments, "capture_request", body)
        elif request.path.endswith("/refund"):
            validate_schema(payments, "refund_request", body)


def test_every_field_sent_is_declared_by_its_schema(recorded: list[Recorded]) -> None:
    """The schemas allow unknown properties, so a misspelt field would pass validation."""
    orders = load_spec("checkout_orders_v2")
    payments = load_spec("payments_payment_v2")
    for request in _api(recorded):
        if request.method != "POST" or not request.body:
            continue
        body = request.json()
        if request.path == "/v2/checkout/orders":
            _check_declared(orders, "order_request", body)
            _check_declared(orders, "purchase_unit_request", body["purchase_units"][0])
            _check_declared(orders, "payment_source", body["payment_source"])
            _check_declared(orders, "card_request", body["payment_source"]["card"])
            _check_declared(orders, "money", body["purchase_units"][0]["amount"])
        elif request.path.endswith("/capture"):
            _check_declared(payments, "capture_request", body)
        elif request.path.endswith("/refund"):
            _check_declared(payments, "refund_request", body)


def test_the_token_request_goes_to_the_documented_token_url(recorded: list[Recorded]) -> None:
    for name in ("checkout_orders_v2", "payments_payment_v2"):
        flows = load_spec(name)["components"]["securitySchemes"]["Oauth2"]["flows"]
        assert flows["clientCredentials"]["tokenUrl"] == TOKEN
    (token,) = [r for r in recorded if r.path == TOKEN]
    assert token.method == "POST"
    assert token.headers["authorization"].startswith("Basic ")
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.body == b"grant_type=client_credentials"
