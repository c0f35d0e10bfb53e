"""Fault matrix of the PayPal webhook route: PayPal's verify-webhook-signature timing out
or failing gets a 5xx (PayPal delivers again), and nothing unverified is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from tests.unit.test_paypal_client import Drop, Hang, Reply, error_body
from tests.webhooks import samples
from tests.webhooks.receiver import Receiver, receiver


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[Receiver]:
    yield from receiver(tmp_path)


def _completed(number: int = 1) -> dict[str, Any]:
    return samples.event("PAYMENT.CAPTURE.COMPLETED", number)


@pytest.mark.parametrize(
    "answers",
    [
        [Reply(500, error_body("INTERNAL_SERVER_ERROR"))] * 2,
        [Reply(503)] * 2,
        [Hang(0.8)] * 2,
        [Drop()] * 2,
        [Reply(200, b"not json")],
        [Reply(401, {"name": "AUTHENTICATION_FAILURE"})] * 2,
    ],
    ids=["500", "503", "timeout", "dropped", "unreadable", "credentials-refused"],
)
def test_when_paypal_cannot_verify_the_answer_is_5xx_and_nothing_is_recorded(
    hooks: Receiver, answers: list[Any]
) -> None:
    hooks.fake.script += answers
    answer = hooks.deliver(_completed())
    assert answer.status == 503
    assert answer.json()["code"] == "gateway_unavailable"
    assert hooks.payment()["status"] == "pending"
    assert hooks.events(audit.WEBHOOK) == []
    # PayPal delivers again; verified this time, it is recorded.
    assert hooks.deliver(_completed()).status == 200
    assert hooks.payment()["status"] == "approved"
