"""The ivr function's metrics: each Connect invocation through the Lambda entry point
writes one EMF line (cardline.cde.metrics) on stdout, the payment's outcome or the keyed
field refused, and no card data (the line is kept for the leak scan)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde.metrics import CATALOGUE, OUTCOME_UNKNOWN, PAYMENTS, VALIDATION_REFUSALS
from cardline.ivr import lambda_handler
from cardline.ivr.keys import KeyPair
from cardline.sandbox import Emulator
from tests.artifacts import LAMBDA_STDOUT, keep
from tests.cards import MISTYPED_VISA
from tests.emf import by_metric, emf_documents
from tests.ivr.conftest import Rig, connect_event
from tests.ivr.test_handler import keyed
from tests.seeded import contact_id

Invoke = Callable[[dict[str, str]], tuple[dict[str, str], list[dict[str, Any]]]]


@pytest.fixture
def invoke(
    emulator: Emulator,
    key_pair: KeyPair,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Invoke]:
    """Invoke the ivr Lambda entry point with a contact's parameters: its answer and the
    EMF documents it printed (all it printed kept under the artifacts)."""
    from cardline.ivr import keys

    for name, value in {
        "PAYPAL_CLIENT_ID": emulator.client_id,
        "PAYPAL_CLIENT_SECRET": emulator.client_secret,
        "PAYPAL_BASE_URL": emulator.base_url,
        "CARDLINE_FINGERPRINT_KEY": "k" * 64,
        "CARDLINE_IVR_KEYS_SECRET_ID": "cardline/ivr-keys",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CARDLINE_IVR_SESSIONS_TABLE", raising=False)
    monkeypatch.setattr(keys, "keys_from_secrets_manager", lambda *_: [key_pair.connect_key()])
    monkeypatch.setattr(lambda_handler, "_handler", None)
    stdout = keep(artifacts, LAMBDA_STDOUT, request.node.nodeid, "")

    def printed() -> str:
        captured = capsys.readouterr()
        with open(stdout, "a", encoding="utf-8") as out:
            out.write(captured.out + captured.err)
        return captured.out

    def call(parameters: dict[str, str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
        printed()
        answer = lambda_handler.handler(connect_event(contact_id(), parameters), None)
        return answer, emf_documents(printed())

    try:
        yield call
    finally:
        printed()


def test_a_keyed_payment_writes_one_emf_line_for_the_ivr_service(invoke: Invoke, rig: Rig) -> None:
    answer, (document,) = invoke(keyed(rig))
    assert answer["status"] == "approved"
    assert document["service"] == "ivr"
    assert (document["Outcome"], document["Brand"], document["Currency"]) == (
        "approved",
        "VISA",
        "USD",
    )
    assert (document[PAYMENTS], document[OUTCOME_UNKNOWN]) == (1, 0)
    assert by_metric(document)[PAYMENTS] == (
        CATALOGUE[PAYMENTS][0],
        [list(s) for s in CATALOGUE[PAYMENTS][1]],
    )


def test_a_mistyped_card_number_is_counted_by_its_field(invoke: Invoke, rig: Rig) -> None:
    answer, (document,) = invoke(keyed(rig, number=MISTYPED_VISA))
    assert (answer["action"], answer["field"]) == ("reprompt", "card_number")
    assert set(by_metric(document)) == {VALIDATION_REFUSALS}
    assert (document["service"], document["Field"]) == ("ivr", "card.number")


def test_a_caller_who_keys_nothing_is_no_refusal(invoke: Invoke, rig: Rig) -> None:
    answer, documents = invoke(keyed(rig, number="Timeout"))
    assert answer["reason"] == "timeout"
    assert documents == []


def test_terms_the_flow_got_wrong_are_counted_by_their_field(invoke: Invoke, rig: Rig) -> None:
    answer, (document,) = invoke({**keyed(rig), "currency": "XXX"})
    assert answer["status"] == "failed"
    assert (document["Field"], document[VALIDATION_REFUSALS]) == ("currency", 1)
