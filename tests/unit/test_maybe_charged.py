"""Once an order's POST may have reached PayPal, no later failure may say "nothing was charged".

The PayPal client's retries can fail in the token step after an attempt that may have
been processed (a 500, then a 401 that makes it fetch a new token, then a token outage or
a refused token). The call must still end as "outcome unknown" (504), never as
"unavailable, nothing was charged" (503) or as a plain refusal: the agent would take
the payment again under a new key.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from cardline.cde import audit
from cardline.cde.charge import Charger, PaymentRequest
from cardline.cde.errors import GatewayOutcomeUnknown, GatewayUnavailable
from cardline.cde.paypal import PayPalClient, PayPalConfig
from tests.unit.test_paypal_client import ORDERS, FakePayPal, Reply, error_body, usd, visa

KEY = b"k" * 32
LOCAL_OPERATOR = "op_4f9c2a1b7d3e8f60"
PAYPAL_500 = Reply(500, error_body("INTERNAL_SERVER_ERROR"))
PAYPAL_401 = Reply(401, error_body("AUTHENTICATION_FAILURE"))


class _Events:
    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


def _request() -> PaymentRequest:
    return PaymentRequest(usd(), visa(), "order-7")


@pytest.fixture
def fake() -> Iterator[FakePayPal]:
    server = FakePayPal().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(fake: FakePayPal) -> Iterator[PayPalClient]:
    config = PayPalConfig(
        base_url=fake.base_url,
        client_id=FakePayPal.CLIENT_ID,
        client_secret=FakePayPal.CLIENT_SECRET,
        timeout=2.0,
        max_attempts=4,
    )
    made = PayPalClient(
        config, sleep=lambda seconds: None, clock=lambda: 1000.0, rng=random.Random(7)
    )
    made.create_order(request_id="warm-up", money=usd(), card=visa())  # the first token
    try:
        yield made
    finally:
        made.close()


def _maybe_processed_then_token(fake: FakePayPal, token_answer: Reply) -> None:
    fake.script += [PAYPAL_500, PAYPAL_401]
    fake.token_script += [token_answer] * 4


def test_a_token_outage_after_a_maybe_processed_post_is_unknown(
    client: PayPalClient, fake: FakePayPal
) -> None:
    _maybe_processed_then_token(fake, Reply(503, {"name": "SERVICE_UNAVAILABLE"}))
    with pytest.raises(GatewayOutcomeUnknown) as caught:
        client.create_order(request_id="req-1", money=usd(), card=visa())
    assert type(caught.value) is GatewayOutcomeUnknown
    assert len(fake.api_requests(ORDERS)) == 3  # warm-up, the 500, the 401


def test_a_refused_token_after_a_maybe_processed_post_is_unknown(
    client: PayPalClient, fake: FakePayPal
) -> None:
    _maybe_processed_then_token(fake, Reply(401, {"error": "invalid_client"}))
    with pytest.raises(GatewayOutcomeUnknown) as caught:
        client.create_order(request_id="req-1", money=usd(), card=visa())
    assert type(caught.value) is GatewayOutcomeUnknown
    assert caught.value.issue == "invalid_client"


def test_the_agent_is_told_the_card_may_have_been_charged(
    client: PayPalClient, fake: FakePayPal
) -> None:
    _maybe_processed_then_token(fake, Reply(503, {"name": "SERVICE_UNAVAILABLE"}))
    events = _Events()
    charger = Charger(client, events, KEY)
    with pytest.raises(GatewayOutcomeUnknown) as caught:
        charger.charge(_request(), operator=LOCAL_OPERATOR, idempotency_key="k-1", origin="ip")
    assert caught.value.status == 504
    assert caught.value.code == "outcome_unknown"
    assert "may have been charged" in caught.value.detail
    assert "nothing was charged" not in caught.value.detail
    assert [(e.outcome, e.details["status"]) for e in events.events] == [("unknown", "unknown")]


def test_an_outage_before_anything_was_sent_is_answered_nothing_was_charged(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script += [Reply(503, {"name": "SERVICE_UNAVAILABLE"})] * 4
    charger = Charger(client, _Events(), KEY)
    with pytest.raises(GatewayUnavailable) as caught:
        charger.charge(_request(), operator=LOCAL_OPERATOR, idempotency_key="k-2", origin="ip")
    assert caught.value.status == 503
    assert caught.value.detail == (
        "PayPal could not be reached. This attempt charged nothing; if an earlier attempt "
        "with this Idempotency-Key was approved, that payment stands: look up payment "
        "pay_hssnmqcbntqnhntrmpfcnjhs before taking the card again. Trying again in a moment "
        "with the same Idempotency-Key is safe."
    )


@pytest.mark.parametrize("issue", [None, "DUPLICATE_REQUEST_ID"])
def test_any_409_to_an_order_with_our_request_id_is_retried_under_that_id(
    client: PayPalClient, fake: FakePayPal, issue: str | None
) -> None:
    # PayPal may still be processing the first request with this id, whatever the 409 says.
    fake.script.append(Reply(409, error_body("RESOURCE_CONFLICT", issue)))
    _outcome, answer = client.create_order(request_id="req-409", money=usd(), card=visa())
    attempts = fake.api_requests(ORDERS)[1:]  # after the warm-up
    assert [r.headers["paypal-request-id"] for r in attempts] == ["req-409", "req-409"]
    assert answer["status"] == "COMPLETED"


def test_409s_to_an_order_until_the_attempts_run_out_are_unknown(
    client: PayPalClient, fake: FakePayPal
) -> None:
    fake.script += [Reply(409, error_body("RESOURCE_CONFLICT"))] * 4
    with pytest.raises(GatewayOutcomeUnknown):
        client.create_order(request_id="req-409", money=usd(), card=visa())
