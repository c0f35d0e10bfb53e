"""`cardline serve` subscribes itself to its embedded emulator's webhooks once it has a
route receiving them, and keeps one webhook id across restarts on any port."""

from __future__ import annotations

import queue
from pathlib import Path

from cardline import local
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Request, Response, json_response
from cardline.webhooks.notification import PAYPAL_CERT_HOSTS, read_delivery
from tests.paypal_http import PayPalHttp, order_body
from tests.webhook_listener import WAIT


def _receiving(stack: local.LocalStack) -> queue.Queue[Request]:
    """A stand-in for the backoffice's receiving route: keeps each request, answers 200."""
    got: queue.Queue[Request] = queue.Queue()

    def receive(call: Call) -> Response:
        got.put(call.request)
        return json_response(200, {})

    stack.app.routes.append(Route("POST", local.WEBHOOK_PATH, receive, authenticated=False))
    return got


def test_without_a_receiving_route_nothing_is_subscribed(tmp_path: Path) -> None:
    stack = local.build_local(tmp_path, {})
    try:
        assert stack.emulator is not None
        assert stack.subscribe_webhooks("http://127.0.0.1:8080") is None
        assert stack.emulator.webhooks.all() == []
    finally:
        stack.close()


def test_serve_receives_a_delivery_that_verifies_and_keeps_its_webhook_id(
    tmp_path: Path,
) -> None:
    ids = []
    for _restart in range(2):
        stack = local.build_local(tmp_path, {})
        got = _receiving(stack)
        server = local.serve_in_background(stack.app)  # a new free port each time
        try:
            assert stack.emulator is not None
            webhook_id = stack.subscribe_webhooks(server.url)
            assert webhook_id is not None
            ids.append(webhook_id)
            assert [h.url for h in stack.emulator.webhooks.all()] == [
                server.url + local.WEBHOOK_PATH
            ]
            paypal = PayPalHttp(stack.emulator.base_url)
            assert paypal.create_order(order_body()).status == 201
            request = got.get(timeout=WAIT)
            delivery = read_delivery(
                request.headers, request.body, PAYPAL_CERT_HOSTS | {"127.0.0.1"}
            )
            verified = paypal.call(
                "POST",
                "/v1/notifications/verify-webhook-signature",
                delivery.verification_request(webhook_id),
            )
            assert verified.json() == {"verification_status": "SUCCESS"}
            paypal.close()
        finally:
            server.stop()
            stack.close()
    assert ids[0] == ids[1]
