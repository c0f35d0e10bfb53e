"""Webhook deliveries are retried like PayPal's, on the emulator's clock, until the first
2xx; and no listener, however slow, holds up an API answer or another listener."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from cardline.sandbox import Emulator
from cardline.sandbox.clock import Clock
from cardline.sandbox.deliveries import MAX_ATTEMPTS, RETRY_DELAYS, Deliverer, Target
from cardline.sandbox.scheduler import Scheduler
from cardline.sandbox.signing import Signer
from tests.paypal_http import PayPalHttp, order_body
from tests.webhook_listener import WAIT, listening

EVENT = {"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {}}
SIGNER = Signer()  # one key for the module: making RSA keys is slow


class Network:
    """A listener that answers ``statuses`` in turn (an int, or an exception to raise)."""

    def __init__(self, statuses: list[int | Exception]) -> None:
        self.statuses = statuses
        self.calls: list[tuple[str, Mapping[str, str], bytes]] = []

    def post(self, url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> int:
        self.calls.append((url, headers, body))
        answer = self.statuses.pop(0) if self.statuses else 200
        if isinstance(answer, Exception):
            raise answer
        return answer


def deliverer(network: Network) -> tuple[Deliverer, Scheduler, Clock]:
    """A deliverer whose attempts run in the test's thread when it calls run_due()."""
    clock = Clock()
    scheduler = Scheduler(clock)
    sender = Deliverer(
        clock,
        scheduler,
        SIGNER,
        lambda: "http://127.0.0.1:1/v1/notifications/certs/CERT-x",
        post=network.post,
        spawn=lambda work: work(),
    )
    return sender, scheduler, clock


def run_schedule(scheduler: Scheduler, clock: Clock) -> None:
    """Move the clock to each due attempt in turn until nothing is left."""
    while scheduler.pending():
        clock.advance(max(0.0, scheduler.pending()[0] - clock.now()))
        scheduler.run_due()


def test_retries_stop_at_the_first_2xx_and_follow_the_schedule() -> None:
    network = Network([500, 503, OSError("refused"), 404, 204, 500])
    sender, scheduler, clock = deliverer(network)
    sender.deliver(EVENT, [Target("WEBHOOK1", "http://listener/hook")])
    assert scheduler.run_due() == 1  # the first attempt goes at once
    run_schedule(scheduler, clock)
    attempts = sender.attempts()
    assert [a["status"] for a in attempts] == [500, 503, None, 404, 204]
    assert [a["delivered"] for a in attempts] == [False] * 4 + [True]
    gaps = [a["next_attempt_at"] - a["finished_at"] for a in attempts[:-1]]
    assert gaps == list(RETRY_DELAYS[:4])
    assert attempts[-1]["next_attempt_at"] is None
    assert scheduler.pending() == []
    assert network.statuses == [500]  # never asked again after the 204


def test_a_retry_is_not_sent_before_its_time() -> None:
    network = Network([500])
    sender, scheduler, clock = deliverer(network)
    sender.deliver(EVENT, [Target("WEBHOOK1", "http://listener/hook")])
    scheduler.run_due()
    due = sender.attempts()[0]["next_attempt_at"]
    clock.advance(due - clock.now() - 30)
    assert scheduler.run_due() == 0
    assert len(network.calls) == 1
    clock.advance(30)
    assert scheduler.run_due() == 1
    assert len(network.calls) == 2


def test_a_listener_that_never_answers_2xx_gets_25_attempts_over_about_3_days() -> None:
    network = Network([500] * 100)
    sender, scheduler, clock = deliverer(network)
    start = clock.now()
    sender.deliver(EVENT, [Target("WEBHOOK1", "http://listener/hook")])
    scheduler.run_due()
    run_schedule(scheduler, clock)
    assert len(network.calls) == MAX_ATTEMPTS == 25
    assert 2.5 * 86400 < clock.now() - start <= 3 * 86400
    assert sender.attempts()[-1]["next_attempt_at"] is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([200, 201, 202, 204, 299, 300, 301, 400, 404, 410, 500, 503])))
def test_any_answers_are_retried_until_the_first_2xx(statuses: list[int]) -> None:
    network = Network(list(statuses))
    sender, scheduler, clock = deliverer(network)
    sender.deliver(EVENT, [Target("WEBHOOK1", "http://listener/hook")])
    scheduler.run_due()
    run_schedule(scheduler, clock)
    first_ok = next((i for i, s in enumerate(statuses) if 200 <= s < 300), None)
    expected = min(MAX_ATTEMPTS, len(statuses) + 1 if first_ok is None else first_ok + 1)
    assert len(network.calls) == expected


def test_every_attempt_is_a_new_signed_transmission_of_the_same_body() -> None:
    network = Network([500, 500])
    sender, scheduler, clock = deliverer(network)
    sender.deliver(EVENT, [Target("WEBHOOK1", "http://listener/hook")])
    scheduler.run_due()
    run_schedule(scheduler, clock)
    bodies = {body for _url, _headers, body in network.calls}
    ids = {headers["PAYPAL-TRANSMISSION-ID"] for _url, headers, _body in network.calls}
    assert len(bodies) == 1
    assert len(ids) == 3
    for _url, headers, _body in network.calls:
        fields = {
            "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
            "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
            "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
            "cert_url": headers["PAYPAL-CERT-URL"],
            "auth_algo": headers["PAYPAL-AUTH-ALGO"],
            "webhook_id": "WEBHOOK1",
            "webhook_event": EVENT,
        }
        assert sender.verify(fields)


def test_the_emulator_retries_on_its_clock_over_http() -> None:
    with listening(statuses=(500, 503)) as listener, Emulator() as emulator:
        emulator.subscribe(listener.url)
        paypal = PayPalHttp(emulator.base_url)
        assert paypal.create_order(order_body()).status == 201
        deliverer = emulator.webhooks.deliverer
        first = listener.next()
        assert deliverer.wait_for_attempts(1, WAIT)  # failed, its retry scheduled
        emulator.advance_clock(seconds=RETRY_DELAYS[0])
        second = listener.next()
        assert deliverer.wait_for_attempts(2, WAIT)
        emulator.advance_clock(seconds=RETRY_DELAYS[1])
        third = listener.next()
        assert deliverer.wait_for_attempts(3, WAIT)
        paypal.close()
        assert [a["status"] for a in emulator.deliveries()] == [500, 503, 200]
    assert first.body == second.body == third.body
    headers = [got.header("PAYPAL-TRANSMISSION-ID") for got in (first, second, third)]
    assert len(set(headers)) == 3


def test_a_hanging_listener_blocks_neither_an_api_answer_nor_another_listener() -> None:
    hold = threading.Event()
    with (
        listening(hold=hold) as stuck,
        listening() as healthy,
        Emulator() as emulator,
    ):
        emulator.subscribe(stuck.url)
        emulator.subscribe(healthy.url)
        paypal = PayPalHttp(emulator.base_url)
        assert paypal.create_order(order_body()).status == 201
        assert stuck.arrived.wait(WAIT)  # the stuck listener holds its delivery from here on
        # While it holds it: more API calls are answered, the other listener is served.
        assert paypal.create_order(order_body()).status == 201
        assert paypal.call("GET", "/v1/notifications/webhooks").status == 200
        got = {healthy.next().event["id"] for _ in range(2)}
        assert len(got) == 2
        assert not hold.is_set()
        hold.set()
        paypal.close()
