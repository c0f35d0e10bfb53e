"""Each Lambda handler invoked in-process with the sample events of events/: the charge
reading its secret through the (fake) extension, its audit line carried by a CloudWatch
Logs subscription payload to the projector, the backoffice reading DynamoDB (moto)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit, secrets
from cardline.cde.http import lambda_charge
from cardline.cde.metrics import (
    CATALOGUE,
    OUTCOME_UNKNOWN,
    PAYMENTS,
    PAYPAL_LATENCY,
    VALIDATION_REFUSALS,
)
from cardline.http import lambda_backoffice
from cardline.ledger import lambda_projector
from cardline.sandbox import Emulator
from tests.artifacts import LAMBDA_STDOUT, keep
from tests.aws_support import Aws, FakeExtension, subscription_event
from tests.cards import AMEX, AMEX_CVV, MISTYPED_VISA, VISA, payment
from tests.emf import by_metric, emf_documents

EVENTS = Path(__file__).resolve().parents[2] / "events"
SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cardline-paypal-Xy12"


def _event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


@dataclass
class Deployment:
    """The three functions wired as the template wires them, on loopback stand-ins."""

    table: str
    capsys: pytest.CaptureFixture[str]
    stdout: Path  # what the functions printed, kept for the leak scan

    def printed(self) -> str:
        """What the functions printed since the last call (their log stream on AWS)."""
        captured = self.capsys.readouterr()
        with open(self.stdout, "a", encoding="utf-8") as out:
            out.write(captured.out + captured.err)
        return captured.out

    def charge(self, event: dict[str, Any]) -> dict[str, Any]:
        return lambda_charge.handler(event, None)

    def backoffice(self, event: dict[str, Any]) -> dict[str, Any]:
        return lambda_backoffice.handler(event, None)

    def project_what_was_logged(self) -> dict[str, int]:
        """Hand the functions' stdout to the projector, as the log subscription does: the
        audit lines its filter pattern passes (``{ $.schema = "cardline.cde.audit/1" }``),
        not the EMF metric lines."""
        lines = [line for line in self.printed().splitlines() if _audit_line(line)]
        return lambda_projector.handler(subscription_event(lines), None)


def _audit_line(line: str) -> bool:
    try:
        document = json.loads(line)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("schema") == audit.SCHEMA


@pytest.fixture
def deployment(
    aws: Aws,
    extension: FakeExtension,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Deployment]:
    with Emulator() as emulator:
        extension.put(
            SECRET_ID,
            {
                "PAYPAL_CLIENT_ID": emulator.client_id,
                "PAYPAL_CLIENT_SECRET": emulator.client_secret,
                "CARDLINE_FINGERPRINT_KEY": "f" * 64,
            },
        )
        table = aws.ledger_table()
        environment = {
            **aws.environment(),
            "AWS_SESSION_TOKEN": extension.token,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            "CARDLINE_PAYPAL_SECRET_ID": SECRET_ID,
            "CARDLINE_LEDGER_TABLE": table,
            "PAYPAL_BASE_URL": emulator.base_url,
        }
        for name in ("PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "CARDLINE_FINGERPRINT_KEY"):
            monkeypatch.delenv(name, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        for module, attribute in (
            (lambda_charge._function, "app"),
            (lambda_backoffice._function, "app"),
            (lambda_projector, "_ledger"),
        ):
            monkeypatch.setattr(module, attribute, None)
        secrets.forget_secrets()
        stdout = keep(artifacts, LAMBDA_STDOUT, request.node.nodeid, "")
        deployed = Deployment(table, capsys, stdout)
        try:
            yield deployed
        finally:
            deployed.printed()
            secrets.forget_secrets()


@pytest.mark.parametrize("name", ["charge-rest-v1.json", "charge-http-v2.json"])
def test_the_charge_handler_takes_the_sample_payment(deployment: Deployment, name: str) -> None:
    answer = deployment.charge(_event(name))
    assert answer["statusCode"] == 201
    body = json.loads(answer["body"])
    assert (body["status"], body["brand"], body["last4"]) == ("approved", "VISA", "1881")
    assert deployment.project_what_was_logged()["applied"] == 1


def test_a_payment_flows_from_charge_through_the_logs_to_the_backoffice(
    deployment: Deployment,
) -> None:
    charged = json.loads(deployment.charge(_event("charge-rest-v1.json"))["body"])
    assert deployment.project_what_was_logged() == {
        "applied": 1,
        "already_applied": 0,
        "not_audit": 0,
    }

    listed = deployment.backoffice(_event("list-payments-rest-v1.json"))
    assert listed["statusCode"] == 200
    assert [p["id"] for p in json.loads(listed["body"])["items"]] == [charged["id"]]

    unknown = deployment.backoffice(_event("refund-http-v2.json"))
    assert unknown["statusCode"] == 404

    refund_event = copy.deepcopy(_event("refund-http-v2.json"))
    refund_event["rawPath"] = f"/v1/payments/{charged['id']}/refunds"
    refunded = deployment.backoffice(refund_event)
    assert refunded["statusCode"] == 201, refunded["body"]
    assert json.loads(refunded["body"])["amount"] == "5.00"
    assert deployment.project_what_was_logged()["applied"] == 1

    one = copy.deepcopy(_event("list-payments-rest-v1.json"))
    one.update(path=f"/v1/payments/{charged['id']}", queryStringParameters=None)
    payment = json.loads(deployment.backoffice(one)["body"])
    assert (payment["status"], payment["refunded_amount"]) == ("partially_refunded", "5.00")
    assert [r["amount"] for r in payment["refunds"]] == ["5.00"]


def test_what_the_functions_print_is_kept_for_the_leak_scan(deployment: Deployment) -> None:
    charged = json.loads(deployment.charge(_event("charge-rest-v1.json"))["body"])
    deployment.project_what_was_logged()
    kept = [json.loads(line) for line in deployment.stdout.read_text().splitlines() if line]
    assert charged["id"] in [event.get("resource") for event in kept]


def _console_event(path: str) -> dict[str, Any]:
    """A REST v1 event of an unauthenticated GET, as API Gateway sends a console file."""
    event = copy.deepcopy(_event("list-payments-rest-v1.json"))
    event.update(resource=path, path=path, queryStringParameters=None, headers={"Accept": "*/*"})
    del event["requestContext"]["authorizer"]
    return event


def test_the_backoffice_serves_the_console_signing_in_with_the_templates_app_client(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARDLINE_COGNITO_CLIENT_ID", "4example0client0id0abcdefgh")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    page = deployment.backoffice(_console_event("/"))
    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"].startswith("text/html")
    csp = page["headers"]["Content-Security-Policy"]
    assert "connect-src 'self' https://cognito-idp.eu-west-2.amazonaws.com;" in csp
    config = deployment.backoffice(_console_event("/console/config.json"))
    assert json.loads(config["body"]) == {
        "auth": "cognito",
        "region": "eu-west-2",
        "userPoolClientId": "4example0client0id0abcdefgh",
        "endpoint": "https://cognito-idp.eu-west-2.amazonaws.com/",
    }
    assert deployment.backoffice(_console_event("/console/nothing.js"))["statusCode"] == 404


def test_without_an_app_client_the_backoffice_serves_no_console(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARDLINE_COGNITO_CLIENT_ID", raising=False)
    assert deployment.backoffice(_console_event("/"))["statusCode"] == 404
    assert deployment.backoffice(_console_event("/console/config.json"))["statusCode"] == 404


def _api_event(
    method: str, path: str, sub: str, groups: str = "", body: Any = None
) -> dict[str, Any]:
    """A REST v1 event of an operator's call, as API Gateway sends it after the authorizer."""
    event = copy.deepcopy(_event("list-payments-rest-v1.json"))
    claims: dict[str, str] = {"sub": sub}
    if groups:
        claims["cognito:groups"] = groups
    event.update(
        resource=path,
        path=path,
        httpMethod=method,
        queryStringParameters=None,
        headers={"Accept": "application/json", "Content-Type": "application/json"},
        body=json.dumps(body) if body is not None else None,
    )
    event["requestContext"]["authorizer"] = {"claims": claims}
    return event


SESSION_TERMS = {
    "contact_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "amount": "42.00",
    "currency": "USD",
    "reference": "order-2001",
    "cardholder_name": "Ada Lovelace",
}


def test_with_the_sessions_table_the_backoffice_serves_agent_assisted_sessions(
    deployment: Deployment, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = aws.sessions_table()
    monkeypatch.setenv("CARDLINE_IVR_SESSIONS_TABLE", table)
    monkeypatch.setenv("CARDLINE_COGNITO_CLIENT_ID", "4example0client0id0abcdefgh")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    created = deployment.backoffice(
        _api_event("POST", "/v1/ivr/sessions", "agent-ada", body=SESSION_TERMS)
    )
    assert created["statusCode"] == 201, created["body"]
    session = json.loads(created["body"])
    assert session["contact_attributes"] == {"cardline_session_id": session["id"]}
    assert (session["status"], session["progress"], session["operator"]) == (
        "waiting",
        "waiting",
        "agent-ada",
    )
    path = f"/v1/ivr/sessions/{session['id']}"
    read = deployment.backoffice(_api_event("GET", path, "agent-ada"))
    assert read["statusCode"] == 200
    assert json.loads(read["body"])["id"] == session["id"]
    # Another agent may not read it; a supervisor may.
    other = deployment.backoffice(_api_event("GET", path, "agent-bob"))
    assert other["statusCode"] == 403
    assert json.loads(other["body"])["role"] == "supervisor"
    supervisor = deployment.backoffice(_api_event("GET", path, "sue", "supervisor"))
    assert supervisor["statusCode"] == 200
    # The item is in the template's table, kept by the store the ivr function uses too.
    item = aws.client("dynamodb").get_item(TableName=table, Key={"id": {"S": session["id"]}})
    assert item["Item"]["operator"] == {"S": "agent-ada"}
    config = deployment.backoffice(_console_event("/console/config.json"))
    assert json.loads(config["body"])["ivrSessions"] is True
    printed = [json.loads(line) for line in deployment.printed().splitlines() if line]
    assert [e["resource"] for e in printed if e.get("type") == "ivr_session"] == [session["id"]]


def test_without_the_sessions_table_there_are_no_sessions_and_the_console_says_so(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARDLINE_IVR_SESSIONS_TABLE", raising=False)
    monkeypatch.setenv("CARDLINE_COGNITO_CLIENT_ID", "4example0client0id0abcdefgh")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    answer = deployment.backoffice(
        _api_event("POST", "/v1/ivr/sessions", "agent-ada", body=SESSION_TERMS)
    )
    assert answer["statusCode"] == 404
    config = deployment.backoffice(_console_event("/console/config.json"))
    assert "ivrSessions" not in json.loads(config["body"])


# -- metrics: the charge function's EMF line ---------------------------------------------


def _charged(deployment: Deployment, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """Charge ``body`` through the handler: the status and the EMF documents printed."""
    event = copy.deepcopy(_event("charge-rest-v1.json"))
    event["body"] = json.dumps(body)
    event["headers"]["Idempotency-Key"] = str(uuid.uuid4())
    answer = deployment.charge(event)
    return answer["statusCode"], emf_documents(deployment.printed())


def _as_catalogued(*names: str) -> dict[str, tuple[str, list[list[str]]]]:
    return {name: (CATALOGUE[name][0], [list(s) for s in CATALOGUE[name][1]]) for name in names}


def test_a_payment_writes_one_emf_line_of_the_catalogues_names_units_and_dimensions(
    deployment: Deployment,
) -> None:
    status, documents = _charged(deployment, payment(VISA, currency="EUR"))
    assert status == 201
    (document,) = documents
    assert by_metric(document) == _as_catalogued(PAYMENTS, OUTCOME_UNKNOWN, PAYPAL_LATENCY)
    assert (document["service"], document["Outcome"], document["Brand"]) == (
        "charge",
        "approved",
        "VISA",
    )
    assert document["Currency"] == "EUR"
    assert (document[PAYMENTS], document[OUTCOME_UNKNOWN]) == (1, 0)
    assert isinstance(document[PAYPAL_LATENCY], int | float)  # one PayPal call


def test_a_declined_card_is_counted_as_declined(deployment: Deployment) -> None:
    status, documents = _charged(deployment, payment(AMEX, code=AMEX_CVV, name="CCREJECT-IF"))
    assert status == 201
    (document,) = documents
    assert (document["Outcome"], document["Brand"], document[PAYMENTS]) == ("declined", "AMEX", 1)


def test_an_invalid_request_is_counted_by_its_field_and_is_no_payment(
    deployment: Deployment,
) -> None:
    status, documents = _charged(deployment, payment(MISTYPED_VISA))
    assert status == 422
    (document,) = documents
    assert by_metric(document) == _as_catalogued(VALIDATION_REFUSALS)
    assert (document["Field"], document[VALIDATION_REFUSALS]) == ("card.number", 1)

    _status, (expired,) = _charged(deployment, payment(VISA, expiry="01/20"))
    assert expired["Field"] == "card.expiry"


def test_an_invocation_that_observes_nothing_writes_no_metric_line(
    deployment: Deployment,
) -> None:
    event = copy.deepcopy(_event("charge-rest-v1.json"))
    event["path"] = event["requestContext"]["resourcePath"] = "/v1/nothing-here"
    assert deployment.charge(event)["statusCode"] == 404
    assert emf_documents(deployment.printed()) == []
