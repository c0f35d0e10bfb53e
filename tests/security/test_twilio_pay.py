"""Twilio's Generic Pay Connector (POST /v1/twilio/pay): basic auth, one charge per Twilio
transaction, tokenization refused, and every answer in the contract's shape without card
data, hostile requests included."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit
from cardline.cde.http.messages import Request
from cardline.cde.twilio_pay import (
    ConnectorCredentials,
    idempotency_key_for,
    parse_connector_request,
)
from cardline.local import AUDIT_FILE
from cardline.twilio_sim import SCENARIOS, connector_request, run_twilio_call
from tests import leakscan
from tests.cards import CVV, MISTYPED_VISA, TEST_PANS, VISA
from tests.conftest import Running

PATH = "/v1/twilio/pay"
CALL_SID = "CA" + "ab" * 16
ANSWER_KEYS = {"charge_id", "error_code", "error_message"}


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _good(running: Running) -> str:
    twilio = running.stack.twilio
    assert twilio is not None
    return _basic(twilio.username, twilio.password)


def _body(**changes: Any) -> dict[str, Any]:
    body = connector_request(SCENARIOS["good-card"], "tx-hostile-1", CALL_SID)
    body.update(changes)
    return body


def _post(
    running: Running, artifacts: Path, *, body: Any = None, raw: bytes | None = None, **kw: Any
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One request straight to the App (as every host hands it over), its answer recorded
    for the leak scan."""
    headers = {"content-type": "application/json", "authorization": _good(running)}
    headers.update(kw.pop("headers", {}))
    headers = {k: v for k, v in headers.items() if v is not None}
    data = raw if raw is not None else json.dumps(body).encode()
    answer = running.stack.app.handle(
        Request("POST", PATH, headers=headers, body=data, source_ip="192.0.2.77")
    )
    with open(artifacts / "twilio-answers.log", "ab") as out:
        out.write(f"{answer.status} {answer.headers}\n".encode() + answer.body + b"\n")
    return answer.status, json.loads(answer.body), answer.headers


def _transcript(running: Running, artifacts: Path, name: str) -> Any:
    twilio, emulator = running.stack.twilio, running.stack.emulator
    assert twilio is not None
    assert emulator is not None
    lines: list[str] = []
    result = run_twilio_call(
        SCENARIOS[name],
        url=running.url,
        username=twilio.username,
        password=twilio.password,
        captures=emulator.capture_count,
        say=lines.append,
    )
    folder = artifacts / "twilio-transcripts"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_text("\n".join(lines) + "\n")
    assert leakscan.scan_text("\n".join(lines)) == []
    return result


def test_a_simulated_charge_is_approved_once_and_a_replay_captures_nothing_more(
    running: Running, artifacts: Path
) -> None:
    good = _transcript(running, artifacts, "good-card")
    assert good.status == "approved"
    assert good.captures == 1
    (answer,) = good.answers
    assert set(answer) == ANSWER_KEYS
    assert answer["charge_id"].startswith("pay_")

    replay = _transcript(running, artifacts, "replay")
    assert replay.status == "approved"
    first, second = replay.answers
    assert first == second  # the same charge_id back, error_code null
    assert replay.captures == 1  # two requests, one PayPal capture
    events = list(audit.read_events(running.stack.data_dir / AUDIT_FILE))
    payments = [e for e in events if e.type == audit.PAYMENT and e.resource == first["charge_id"]]
    assert {e.operator for e in payments} == {"twilio:cardline"}
    assert all(e.origin.startswith("twilio:CA") for e in payments)


def test_a_decline_is_a_200_with_the_error_code_and_no_charge_id(
    running: Running, artifacts: Path
) -> None:
    declined = _transcript(running, artifacts, "decline")
    assert declined.status == "declined"
    assert declined.captures == 0
    (answer,) = declined.answers
    assert answer["charge_id"] is None
    assert answer["error_code"] == "card_declined"
    assert "5120" in answer["error_message"]


def test_tokenization_is_refused_in_the_contract_shape(running: Running, artifacts: Path) -> None:
    refused = _transcript(running, artifacts, "tokenize")
    assert refused.status == "refused"
    assert refused.captures == 0
    (answer,) = refused.answers
    assert answer == {
        "token_id": None,
        "error_code": "tokenization_unsupported",
        "error_message": answer["error_message"],
    }
    assert "64005" in answer["error_message"]


@pytest.mark.parametrize(
    "credential",
    [
        None,
        "Bearer not-a-key",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        _basic("twilio", "wrong-password-123456"),
        _basic("someone-else", "x" * 32),
    ],
)
def test_wrong_basic_auth_is_a_401_audited_without_the_credentials(
    running: Running, artifacts: Path, credential: str | None
) -> None:
    status, answer, headers = _post(
        running, artifacts, body=_body(), headers={"authorization": credential}
    )
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic realm=")
    assert answer["charge_id"] is None
    assert answer["error_code"] == "unauthorized"
    running.stack.app.flush()
    text = (running.stack.data_dir / AUDIT_FILE).read_text()
    failures = [
        e
        for e in audit.read_events(running.stack.data_dir / AUDIT_FILE)
        if e.type == audit.AUTH_FAILURE
    ]
    assert failures
    assert failures[-1].details["routes"] == {f"POST {PATH}": 1}
    assert failures[-1].origin == "192.0.2.77"
    for secret in ("wrong-password-123456", "x" * 32, "not-base64", "someone-else"):
        assert secret not in text
    assert running.stack.emulator is not None
    assert running.stack.emulator.capture_count() == 0


HOSTILE = {
    "missing cardnumber": {"cardnumber": None},
    "missing transaction_id": {"transaction_id": None},
    "missing amount": {"amount": None},
    "cardnumber as a number": {"cardnumber": int(VISA)},
    "cvv as a number": {"cvv": int(CVV)},
    "amount as a number": {"amount": 25},
    "parameters as a list": {"parameters": [VISA]},
    "expiry_year of three digits": {"expiry_year": "203"},
    "mistyped card": {"cardnumber": MISTYPED_VISA},
    "unknown method": {"method": VISA},
    "a card number in description": {"description": f"card {VISA} cvv {CVV}"},
    "a spaced card number in description": {"description": "4012 8888 8888 1881"},
    "a card number in a parameter": {"parameters": {"note": VISA}},
    "a card number as a parameter's name": {"parameters": {VISA: "x"}},
    "a card number as transaction_id": {"transaction_id": VISA},
    "a bad call SID": {"parameters": {"call_sid": VISA}},
    "an ACH debit": {"bankaccountnumber": "000123456789", "routingnumber": "121000358"},
    "a description too long": {"description": "x" * 500},
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_fields_are_refused_in_the_contract_shape_without_card_data(
    running: Running, artifacts: Path, name: str
) -> None:
    body = {k: v for k, v in _body(**HOSTILE[name]).items() if v is not None}
    status, answer, _headers = _post(running, artifacts, body=body)
    assert status == 200  # read and decided: Twilio reads error_code
    assert set(answer) == ANSWER_KEYS
    assert answer["charge_id"] is None
    assert answer["error_code"] in {"invalid_request", "invalid_card", "invalid_amount"}
    assert leakscan.scan_text(json.dumps(answer)) == []
    assert not any(pan in json.dumps(answer) for pan in TEST_PANS)
    assert running.stack.emulator is not None
    assert running.stack.emulator.capture_count() == 0


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b'{"cardnumber": "' + VISA.encode() + b'"' + b" " * 20_000 + b"}", None, 413),
        (b'{"cardnumber": "' + VISA.encode() + b'", ', None, 400),
        (b"", None, 400),
        (json.dumps({"cardnumber": VISA}).encode(), "text/plain", 415),
        (b"[" * 5000 + b"]" * 5000, None, 400),
    ],
)
def test_unreadable_requests_are_refused_in_the_contract_shape(
    running: Running, artifacts: Path, raw: bytes, content_type: str | None, status: int
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    got, answer, _headers = _post(running, artifacts, raw=raw, headers=headers)
    assert got == status
    assert set(answer) == ANSWER_KEYS
    assert answer["charge_id"] is None
    assert VISA not in json.dumps(answer)


def test_the_audit_file_and_transcripts_hold_no_card_data(
    running: Running, artifacts: Path
) -> None:
    _transcript(running, artifacts, "good-card")
    for name in sorted(HOSTILE):
        body = {k: v for k, v in _body(**HOSTILE[name]).items() if v is not None}
        _post(running, artifacts, body=body)
    running.stack.app.flush()
    refusals = [
        e
        for e in audit.read_events(running.stack.data_dir / AUDIT_FILE)
        if e.type == "twilio_request"
    ]
    assert len(refusals) == len(HOSTILE)
    assert all(e.operator == "twilio:cardline" for e in refusals)
    files = [running.stack.data_dir / AUDIT_FILE, *(artifacts / "twilio-transcripts").glob("*")]
    assert [str(hit) for hit in leakscan.scan(files)] == []


# -- the contract's pieces, without a server ---------------------------------------------


def test_the_idempotency_key_follows_twilios_transaction_and_call() -> None:
    body = connector_request(SCENARIOS["good-card"], "tx-9", CALL_SID)
    charge = parse_connector_request(body)
    assert (charge.transaction_id, charge.call_sid) == ("tx-9", CALL_SID)
    assert idempotency_key_for("tx-9", CALL_SID) == f"twilio-call:{CALL_SID}:tx-9"
    assert idempotency_key_for("tx-9", None) == "twilio-transaction:tx-9"
    assert charge.payment.money.currency == "USD"
    assert charge.payment.reference == "Telephone order 1001"


def test_connector_credentials_hide_the_password_and_refuse_weak_ones() -> None:
    settings = {"TWILIO_CONNECTOR_USERNAME": "twilio", "TWILIO_CONNECTOR_PASSWORD": "p" * 20}
    credentials = ConnectorCredentials.from_settings(settings)
    assert credentials is not None
    assert "p" * 20 not in repr(credentials)
    assert credentials.match(b"twilio", b"p" * 20)
    assert not credentials.match(b"twilio", b"p" * 19)
    assert not credentials.match(b"twilo", b"p" * 20)
    assert credentials.operator == "twilio:cardline"
    assert ConnectorCredentials.from_settings({}) is None
    with pytest.raises(ValueError, match="TWILIO_CONNECTOR_PASSWORD") as weak:
        ConnectorCredentials.from_settings({**settings, "TWILIO_CONNECTOR_PASSWORD": "short-one"})
    assert "short-one" not in str(weak.value)
