"""`cardline call --twilio`: what Twilio's Generic Pay Connector sends, sent to cardline.

After ``<Pay>`` has collected the card over DTMF, Twilio posts it as JSON to the connector's
endpoint with the connector's basic-auth credentials (cardline.cde.twilio_pay holds the
contract and its sources). This simulator plays Twilio: it builds that request, posts it
to ``POST /v1/twilio/pay`` of a running ``cardline serve`` (``--url``) or of a stack of its
own in a temporary directory, and prints a transcript in which the card is masked: brand
and last four digits only, the security code never.

Scenarios: ``good-card`` (approved once), ``decline`` (the issuer declines), ``replay``
(Twilio sends the same transaction again: the same ``charge_id``, no second capture) and
``tokenize`` (refused: cardline holds no vault).
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cardline.cde.audit import mask_pans
from cardline.cde.twilio_pay import PATH

__all__ = ["SCENARIOS", "TwilioCallError", "TwilioCallResult", "TwilioScenario", "twilio_call"]

CARD = "4012888888881881"  # the emulator's approving Visa (docs/emulator.md)
CODE = "123"
DECLINING_NAME = "CCREJECT-IF"  # the emulator declines it: 5120 INSUFFICIENT_FUNDS


@dataclass(frozen=True)
class TwilioScenario:
    description: str
    method: str = "charge"
    cardholder: str | None = None
    sends: int = 1  # how many times Twilio sends the same transaction
    expect: str = "approved"  # approved, declined or refused


SCENARIOS = {
    "good-card": TwilioScenario("a Visa keyed in full: approved, charged once"),
    "decline": TwilioScenario(
        "the issuer declines (the emulator's CCREJECT-IF name): nothing charged",
        cardholder=DECLINING_NAME,
        expect="declined",
    ),
    "replay": TwilioScenario(
        "Twilio sends the same transaction twice: the same charge_id, one capture", sends=2
    ),
    "tokenize": TwilioScenario(
        "<Pay> without a chargeAmount asks to tokenize: refused, no vault",
        method="tokenize",
        expect="refused",
    ),
}


class TwilioCallError(Exception):
    """The simulated call could not be made; the message says what to change."""


@dataclass
class TwilioCallResult:
    status: str  # approved, declined, refused or failed
    answers: list[dict[str, Any]] = field(default_factory=list)
    captures: int | None = None  # the embedded emulator's captures during the call
    transcript: list[str] = field(default_factory=list)


def connector_request(
    scenario: TwilioScenario, transaction_id: str, call_sid: str
) -> dict[str, Any]:
    """The body Twilio's Generic Pay Connector posts for ``scenario``."""
    year = str(date.today().year + 3)
    body: dict[str, Any] = {
        "method": scenario.method,
        "transaction_id": transaction_id,
        "cardnumber": CARD,
        "cvv": CODE,
        "expiry_month": "12",
        "expiry_year": year,
        "postal_code": "94107",
        "description": "Telephone order 1001",
        "parameters": {"call_sid": call_sid},
    }
    if scenario.method == "charge":
        body.update(amount="25.00", currency_code="USD")
    if scenario.cardholder:
        body["parameters"]["cardholder_name"] = scenario.cardholder
    return body


def _post(url: str, username: str, password: str, body: dict[str, Any]) -> tuple[int, Any]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TwilioCallError(f"--url must be an http(s) URL, not {url!r}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=30)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    path = parts.path.rstrip("/") + PATH
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        )
        response = connection.getresponse()
        status, raw = response.status, response.read()
    except OSError as error:
        raise TwilioCallError(f"{url} did not answer: {type(error).__name__}") from None
    finally:
        connection.close()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"error_code": "not_json", "error_message": "the answer is not JSON"}


def run_twilio_call(
    scenario: TwilioScenario,
    *,
    url: str,
    username: str,
    password: str,
    captures: Callable[[], int] | None = None,
    say: Callable[[str], None] = print,
) -> TwilioCallResult:
    """Play Twilio for ``scenario`` against ``url``; ``captures`` counts the emulator's."""
    result = TwilioCallResult(status="failed")

    def line(who: str, text: str) -> None:
        masked = mask_pans(f"{who:<8}: {text}", inside_identifiers=True)
        result.transcript.append(masked)
        say(masked)

    call_sid = "CA" + secrets.token_hex(16)
    transaction_id = "tw-" + secrets.token_hex(8)
    body = connector_request(scenario, transaction_id, call_sid)
    before = captures() if captures else None
    line(
        "caller",
        "keys the card on <Pay>: Visa •••• " + CARD[-4:] + ", expiry 12, security code •••",
    )
    what = f"{body['amount']} {body['currency_code']}" if "amount" in body else "no amount"
    for attempt in range(1, scenario.sends + 1):
        again = " (the same transaction again)" if attempt > 1 else ""
        line(
            "twilio",
            f"POST {PATH} method={scenario.method} transaction_id={transaction_id} "
            f"call_sid={call_sid} {what}{again}",
        )
        status, answer = _post(url, username, password, body)
        result.answers.append(answer)
        shown = {k: answer.get(k) for k in ("charge_id", "token_id", "error_code") if k in answer}
        line("cardline", f"{status} {json.dumps(shown)}")
        if answer.get("error_message"):
            line("cardline", str(answer["error_message"]))
    last = result.answers[-1] if result.answers else {}
    if last.get("charge_id") and last.get("error_code") is None:
        result.status = "approved"
    elif last.get("error_code") == "card_declined":
        result.status = "declined"
    elif last.get("error_code") in ("tokenization_unsupported", "invalid_request", "invalid_card"):
        result.status = "refused"
    ids = {a.get("charge_id") for a in result.answers}
    if scenario.sends > 1:
        line(
            "twilio",
            "same charge_id each time" if len(ids) == 1 else f"charge ids {sorted(map(str, ids))}",
        )
    if captures is not None and before is not None:
        result.captures = captures() - before
        line("paypal", f"{result.captures} capture(s) during the call")
    line("twilio", f"<Pay> result: {result.status}")
    return result


def twilio_call(
    scenario_name: str,
    *,
    url: str | None,
    username: str | None,
    password: str | None,
    data_dir: Path | None,
    say: Callable[[str], None] = print,
) -> TwilioCallResult:
    """Run the scenario; without ``url``, against a local stack started for it (in
    ``data_dir``, else a temporary directory removed afterwards)."""
    if scenario_name not in SCENARIOS:
        raise TwilioCallError(
            f"unknown Twilio scenario {scenario_name!r}; known: {', '.join(SCENARIOS)}"
        )
    scenario = SCENARIOS[scenario_name]
    if url is not None:
        if not username or not password:
            raise TwilioCallError(
                "--username and --password (the connector's credentials at --url, or "
                "TWILIO_CONNECTOR_USERNAME and TWILIO_CONNECTOR_PASSWORD) are required"
            )
        return run_twilio_call(scenario, url=url, username=username, password=password, say=say)
    from cardline.local import build_local, serve_in_background

    temporary = data_dir is None
    directory = data_dir or Path(tempfile.mkdtemp(prefix="cardline-twilio-"))
    stack = build_local(directory, environ={})  # always the embedded emulator
    try:
        server = serve_in_background(stack.app)
        try:
            assert stack.twilio is not None
            assert stack.emulator is not None
            return run_twilio_call(
                scenario,
                url=server.url,
                username=stack.twilio.username,
                password=stack.twilio.password,
                captures=stack.emulator.capture_count,
                say=say,
            )
        finally:
            server.stop()
    finally:
        stack.close()
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
