"""Finding 11 (second half): PayPal's refusals reach the agent as words, never as its names.

Every issue and error name PayPal can answer with (the ones cardline knows in
``cardline.cde.paypal.codes`` and every one the emulator, copied from PayPal's OpenAPI
documents, can produce) is answered to a payment and to a refund; the agent-facing
sentence (a problem's ``detail``, a receipt's ``message``) never holds a raw name.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cardline.cde.paypal import codes
from cardline.sandbox import Fault
from cardline.sandbox import errors as paypal_errors
from tests.cards import VISA, payment
from tests.conftest import Running, local_stack

pytestmark = pytest.mark.slow

# SCREAMING_SNAKE_CASE: how PayPal names its issues and errors.
RAW_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


def _issues() -> dict[str, int]:
    """Every issue name the client can meet, with the HTTP status PayPal sends it with."""
    found: dict[str, int] = {}
    for table in (paypal_errors._ORDERS, paypal_errors._PAYMENTS):
        for issue, (status, _sentence) in table.items():
            found.setdefault(issue, status)
    for issue, status in paypal_errors._MOCK_STATUS.items():
        found.setdefault(issue, status)
    for issue in (*codes.ISSUE_MESSAGES, *codes.CARD_ISSUES):
        found.setdefault(issue, 422)
    return dict(sorted(found.items()))


ISSUES = _issues()
STATUSES = sorted(paypal_errors.STATUS_NAMES)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Running]:
    with local_stack(tmp_path_factory.mktemp("words"), artifacts) as running:
        yield running


@pytest.fixture(scope="module")
def approved(stack: Running) -> str:
    paid = stack.client.pay(payment(VISA, amount="50.00"))
    assert paid.status == 201
    payment_id: str = paid.json()["id"]
    return payment_id


def _assert_words(text: object, name: str) -> None:
    assert isinstance(text, str)
    assert len(text.split()) >= 4, text
    assert name not in text, text
    assert not RAW_NAME.search(text), text


def _refused(stack: Running, path: str, status: int, issue: str | None) -> None:
    assert stack.stack.emulator is not None
    stack.stack.emulator.clear_faults()
    # Retry-After: 0 lets the client's retries of 409/429/5xx run without waiting.
    stack.stack.emulator.inject(
        Fault("status", path_prefix=path, status=status, issue=issue, times=20, retry_after=0)
    )


def _check_payment(stack: Running, name: str) -> None:
    answer = stack.client.pay(payment(VISA, amount="3.00"))
    body = answer.json()
    if answer.status == 201:  # a card issue: answered as a decline, in words
        assert body["status"] in {"declined", "failed"}
        _assert_words(body["message"], name)
    else:
        _assert_words(body["detail"], name)
        assert name not in answer.body.decode()


def _check_refund(stack: Running, payment_id: str, name: str) -> None:
    answer = stack.client.request(
        "POST",
        f"/v1/payments/{payment_id}/refunds",
        {"amount": "1.00"},
        idempotency_key=str(uuid.uuid4()),
    )
    assert answer.status >= 400
    _assert_words(answer.json()["detail"], name)
    assert name not in answer.body.decode()


@pytest.mark.parametrize(("issue", "status"), list(ISSUES.items()))
def test_a_refused_payment_is_told_in_words(stack: Running, issue: str, status: int) -> None:
    _refused(stack, "/v2/checkout/orders", status, issue)
    try:
        _check_payment(stack, issue)
    finally:
        assert stack.stack.emulator is not None
        stack.stack.emulator.clear_faults()


@pytest.mark.parametrize(("issue", "status"), list(ISSUES.items()))
def test_a_refused_refund_is_told_in_words(
    stack: Running, approved: str, issue: str, status: int
) -> None:
    _refused(stack, "/v2/payments/captures/", status, issue)
    try:
        _check_refund(stack, approved, issue)
    finally:
        assert stack.stack.emulator is not None
        stack.stack.emulator.clear_faults()


@pytest.mark.parametrize("status", STATUSES)
def test_an_error_status_without_an_issue_is_told_in_words(
    stack: Running, approved: str, status: int
) -> None:
    name = paypal_errors.STATUS_NAMES[status][0]
    try:
        _refused(stack, "/v2/checkout/orders", status, None)
        _check_payment(stack, name)
        _refused(stack, "/v2/payments/captures/", status, None)
        _check_refund(stack, approved, name)
    finally:
        assert stack.stack.emulator is not None
        stack.stack.emulator.clear_faults()


def test_every_issue_cardline_names_has_words_of_its_own() -> None:
    """Each issue codes.py names, and the one a lost capture gives, has its own sentence."""
    for issue in (*codes.ISSUE_MESSAGES, *codes.CARD_ISSUES, "INVALID_RESOURCE_ID"):
        sentence = codes.issue_words(issue)
        assert sentence is not None, issue
        _assert_words(sentence, issue)
