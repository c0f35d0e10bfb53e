"""The backoffice, projector and reconcile functions' logs, metrics and traces through
Powertools (cardline.telemetry): structured lines naming the request ids and the operator,
card numbers masked in every line, the catalogue's metrics in EMF, the audit stream as the
projector reads it, and X-Ray segments that hold no card data."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.context import Context

from cardline import lambda_reconcile
from cardline.cde import audit, metrics, secrets
from cardline.cde.http.lambda_events import gateway_identity
from cardline.http import lambda_backoffice
from cardline.ledger import lambda_projector
from cardline.ledger.lambda_projector import audit_events
from cardline.ledger.sqlite import SqliteLedger
from cardline.telemetry import HandlerFailed, Telemetry
from tests.aws_support import subscription_event
from tests.cards import CVV, TEST_PANS, VISA
from tests.leakscan import scan_text

REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # API Gateway's (REST APIs: a UUID)
LAMBDA_REQUEST_ID = "8f5e4a2b-1c3d-4e5f-9a8b-7c6d5e4f3a2b"
OPERATOR = "agent-ada"
CONTEXT = SimpleNamespace(
    function_name="cardline-BackofficeFunction",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:cardline-Backoffice",
    aws_request_id=LAMBDA_REQUEST_ID,
)


def _rest_event(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "path": path,
        "headers": {"content-type": "application/json"},
        "queryStringParameters": None,
        "body": None,
        "requestContext": {
            "requestId": REQUEST_ID,
            "identity": {"sourceIp": "203.0.113.9"},
            "authorizer": {"principalId": OPERATOR, "groups": "agent"},
        },
        **extra,
    }


def _lines(text: str) -> list[dict[str, Any]]:
    """Every line of a function's stdout as JSON: each one must be."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _logs(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "level" in line and "_aws" not in line]


def _emf(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "_aws" in line]


def _audit(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("schema") == audit.SCHEMA]


def _assert_catalogued(emf: dict[str, Any], service: str) -> dict[str, list[float]]:
    """The EMF line's metrics are the catalogue's (name, unit, a dimension set), in
    namespace cardline with the ``service`` dimension; their values by name (Powertools
    writes each as a list of the values added in the invocation)."""
    assert emf[metrics.SERVICE] == service
    values = {}
    for directive in emf["_aws"]["CloudWatchMetrics"]:
        assert directive["Namespace"] == metrics.NAMESPACE
        for metric in directive["Metrics"]:
            unit, dimension_sets, _emitters, _meaning = metrics.CATALOGUE[metric["Name"]]
            assert metric["Unit"] == unit
            assert all(tuple(d) in dimension_sets for d in directive["Dimensions"])
            values[metric["Name"]] = emf[metric["Name"]]
    return values


class RecordingSink(audit.StreamSink):
    """The functions' StreamSink (stdout), remembering what it wrote."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)
        super().emit(event)


@dataclass
class Function:
    """One function's Telemetry writing to the test's stdout, as all of it does on Lambda."""

    telemetry: Telemetry
    capsys: pytest.CaptureFixture[str]
    sink: RecordingSink = field(default_factory=RecordingSink)

    def stdout(self) -> str:
        return self.capsys.readouterr().out


class _Stdout:
    """Whatever sys.stdout is when written to (the test's capture), as the audit sink and
    the metrics write: on Lambda all three share the one stream."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _on_lambda(telemetry: Telemetry, capsys: pytest.CaptureFixture[str]) -> Iterator[Function]:
    """``telemetry`` as on Lambda: its Logger writing to stdout, the cardline.* loggers
    routed through it; the process's logging as it was afterwards."""
    handler = telemetry.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = handler.setStream(_Stdout())  # type: ignore[arg-type]
    own = logging.getLogger("cardline")
    saved = (list(own.handlers), own.propagate, own.level)
    telemetry.route_own_loggers()
    try:
        yield Function(telemetry, capsys)
    finally:
        own.handlers, own.propagate = saved[0], saved[1]
        own.setLevel(saved[2])
        telemetry._routed = False
        if stream is not None:
            handler.setStream(stream)


@pytest.fixture
def backoffice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Function]:
    """The backoffice function on a SQLite ledger, no PayPal call made, no webhook id."""
    for name in (
        "CARDLINE_PAYPAL_SECRET_ID",
        "CARDLINE_LEDGER_TABLE",
        "CARDLINE_COGNITO_CLIENT_ID",
        "CARDLINE_OPERATOR_POOL_ID",
        "CARDLINE_IVR_SESSIONS_TABLE",
        "PAYPAL_WEBHOOK_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAYPAL_CLIENT_ID", "client")
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET", "secret")
    monkeypatch.setenv("PAYPAL_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CARDLINE_LEDGER_PATH", str(tmp_path / "ledger.sqlite3"))
    secrets.forget_secrets()
    sink = RecordingSink()
    monkeypatch.setattr(lambda_backoffice, "_sink", sink)
    monkeypatch.setattr(lambda_backoffice._function, "app", None)
    for function in _on_lambda(lambda_backoffice.telemetry, capsys):
        function.sink = sink
        capsys.readouterr()
        yield function
    secrets.forget_secrets()


def test_each_answer_is_a_json_line_naming_both_request_ids_and_the_operator(
    backoffice: Function,
) -> None:
    answer = lambda_backoffice.handler(_rest_event("GET", "/v1/payments"), CONTEXT)
    assert answer["statusCode"] == 200
    assert answer["headers"]["X-Request-Id"] == REQUEST_ID
    (line,) = [log for log in _logs(_lines(backoffice.stdout())) if log["message"] == "answered"]
    assert line["level"] == "INFO"
    assert line["service"] == "backoffice"
    assert line["correlation_id"] == REQUEST_ID  # API Gateway's: the answer's X-Request-Id
    assert line["function_request_id"] == LAMBDA_REQUEST_ID  # Lambda's
    assert line["operator"] == OPERATOR
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/payments", 200)
    assert line["timestamp"].endswith("+00:00")


def test_no_key_outlives_its_invocation(backoffice: Function) -> None:
    lambda_backoffice.handler(_rest_event("GET", "/v1/payments"), CONTEXT)
    anonymous = _rest_event("GET", "/v1/payments", requestContext={"requestId": "other"})
    assert lambda_backoffice.handler(anonymous, CONTEXT)["statusCode"] == 401
    last = _logs(_lines(backoffice.stdout()))[-1]
    assert last["correlation_id"] == "other"
    assert "operator" not in last


def test_the_operator_is_the_identity_api_gateway_vouched_for_in_either_event_version() -> None:
    assert gateway_identity(_rest_event("GET", "/")) == OPERATOR
    v2 = {"version": "2.0", "requestContext": {"authorizer": {"lambda": {"operator": "bob"}}}}
    assert gateway_identity(v2) == "bob"
    assert gateway_identity({"requestContext": "junk"}) is None
    assert gateway_identity("junk") is None


def test_a_card_number_logged_through_powertools_comes_out_masked(
    backoffice: Function, planted_logs: Path
) -> None:
    log = logging.getLogger("cardline.http")
    log.warning("a caller read out %s", VISA)
    backoffice.telemetry.logger.info("noted", note=f"card {VISA}")
    try:
        raise ValueError(f"could not read {VISA}")
    except ValueError:
        log.exception("failed")
    lambda_backoffice.handler(_rest_event("GET", f"/v1/payments/{VISA}"), CONTEXT)
    printed = backoffice.stdout()
    lines = _lines(printed)  # still one JSON object per line
    assert scan_text(printed) == []
    assert all(pan not in printed for pan in TEST_PANS)
    assert printed.count("••••" + VISA[-4:]) >= 4
    by_message = {line["message"]: line for line in _logs(lines)}
    assert by_message["a caller read out [PAN ••••1881 masked]"]["name"] == "cardline.http"
    assert by_message["failed"]["exception_name"] == "ValueError"  # the traceback stays
    assert by_message["answered"]["path"] == "/v1/payments/[PAN ••••1881 masked]"


def test_the_audit_stream_is_written_as_before_beside_the_logs_and_metrics(
    backoffice: Function,
) -> None:
    """The audit lines on stdout are the events' own lines, unwrapped; the projector reads
    exactly those (and the subscription filter, on schema, passes only those)."""
    event = _rest_event("POST", "/v1/webhooks/paypal", body="{}")
    assert lambda_backoffice.handler(event, CONTEXT)["statusCode"] == 400
    printed = backoffice.stdout().splitlines()
    expected = [audit.mask_pans(e.to_json()) for e in backoffice.sink.events]
    assert expected  # the refusal is audited
    assert [line for line in printed if line in expected] == expected
    parsed = [json.loads(line) for line in printed]
    assert _audit(parsed) == [e.to_dict() for e in backoffice.sink.events]
    others = [line for line in parsed if line.get("schema") != audit.SCHEMA]
    assert _logs(others)
    assert _emf(others)
    assert all("schema" not in line for line in others)
    document = {"logEvents": [{"message": line} for line in printed]}
    read = list(audit_events(document))
    assert [e.to_dict() for e in read if e is not None] == [
        e.to_dict() for e in backoffice.sink.events
    ]
    assert read.count(None) == len(others)


def test_a_webhook_delivery_refused_counts_one_verification_failure(backoffice: Function) -> None:
    event = _rest_event("POST", "/v1/webhooks/paypal", body="{}")
    lambda_backoffice.handler(event, CONTEXT)
    (emf,) = _emf(_lines(backoffice.stdout()))
    assert _assert_catalogued(emf, "backoffice") == {"WebhookVerificationFailures": [1.0]}
    assert emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    lambda_backoffice.handler(_rest_event("GET", "/v1/payments"), CONTEXT)
    assert _emf(_lines(backoffice.stdout())) == []  # nothing counted, nothing written


def test_the_projector_counts_the_events_it_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lambda_projector, "_ledger", SqliteLedger(tmp_path / "l.sqlite3"))
    payment = audit.AuditEvent(
        audit.PAYMENT,
        OPERATOR,
        "success",
        "203.0.113.10",
        "pay_a",
        {"status": "approved", "amount": "20.00", "currency": "USD", "last4": "1881"},
    )
    delivery = subscription_event([payment.to_json(), "START RequestId: 6f1e"])
    for function in _on_lambda(lambda_projector.telemetry, capsys):
        capsys.readouterr()
        assert lambda_projector.handler(delivery, CONTEXT)["applied"] == 1
        assert lambda_projector.handler(delivery, CONTEXT)["applied"] == 0  # a retry
        first, again = _emf(_lines(function.stdout()))
        assert _assert_catalogued(first, "projector") == {"ProjectedEvents": [1.0]}
        assert _assert_catalogued(again, "projector") == {"ProjectedEvents": [0.0]}


@pytest.mark.parametrize("found", [0, 2])
def test_reconcile_counts_the_differences_of_every_run(
    found: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cardline import reconcile
    from cardline.ledger import dynamodb

    monkeypatch.delenv("CARDLINE_PAYPAL_SECRET_ID", raising=False)
    monkeypatch.setenv("PAYPAL_CLIENT_ID", "client")
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET", "secret")
    monkeypatch.setenv("CARDLINE_LEDGER_TABLE", "ledger")
    monkeypatch.setattr(dynamodb, "DynamoDbLedger", lambda table: object())
    differences = [SimpleNamespace(repaired=True) for _ in range(found)]
    monkeypatch.setattr(reconcile, "scheduled_run", lambda *args, **kwargs: differences)
    secrets.forget_secrets()
    for function in _on_lambda(lambda_reconcile.telemetry, capsys):
        capsys.readouterr()
        assert lambda_reconcile.handler({}, CONTEXT)["differences"] == found
        (emf,) = _emf(_lines(function.stdout()))
        assert _assert_catalogued(emf, "reconcile") == {"ReconcileDifferences": [float(found)]}


def test_a_failure_is_logged_masked_and_raised_by_its_type_only(
    capsys: pytest.CaptureFixture[str], planted_logs: Path
) -> None:
    def handler(event: Any, context: Any) -> Any:
        raise ValueError(f"could not apply {VISA}")

    telemetry = lambda_projector.telemetry
    entry = telemetry.entry_point(handler)
    for function in _on_lambda(telemetry, capsys):
        capsys.readouterr()
        with pytest.raises(HandlerFailed) as raised:
            entry({}, CONTEXT)
        assert str(raised.value) == "ValueError"
        assert raised.value.__cause__ is None
        assert raised.value.__suppress_context__
        printed = function.stdout()
        (line,) = _logs(_lines(printed))
        assert line["exception_name"] == "ValueError"
        assert VISA not in printed
        assert "••••1881" in printed


class CapturingEmitter:
    """An X-Ray emitter that keeps what would go to the daemon, as the daemon gets it."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.sent.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        pass

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


@pytest.fixture
def xray() -> Iterator[CapturingEmitter]:
    """The X-Ray SDK recording into a list (Powertools' Tracer is its recorder's user);
    the SDK as it was afterwards (off outside Lambda)."""
    emitter = CapturingEmitter()
    was = global_sdk_config.sdk_enabled()
    saved_emitter, saved_context = xray_recorder._emitter, xray_recorder.context
    xray_recorder.configure(emitter=emitter, context=Context(), sampling=False)
    global_sdk_config.set_sdk_enabled(True)
    try:
        yield emitter
    finally:
        global_sdk_config.set_sdk_enabled(was)
        xray_recorder.configure(emitter=saved_emitter, context=saved_context)


def _traced(emitter: CapturingEmitter, invoke: Any) -> dict[str, Any]:
    xray_recorder.begin_segment("test-invocation")
    try:
        invoke()
    finally:
        xray_recorder.end_segment()
    (sent,) = emitter.sent
    segment: dict[str, Any] = json.loads(sent)
    return segment


def test_the_backoffice_trace_holds_its_subsegment_and_annotations_and_no_card_data(
    backoffice: Function, xray: CapturingEmitter
) -> None:
    event = _rest_event("GET", f"/v1/payments/{VISA}")
    event["queryStringParameters"] = {"search": VISA}
    segment = _traced(xray, lambda: lambda_backoffice.handler(event, CONTEXT))
    (subsegment,) = segment["subsegments"]
    assert subsegment["name"] == "## backoffice"
    assert subsegment["annotations"] == {
        "ColdStart": subsegment["annotations"]["ColdStart"],
        "Service": "backoffice",
    }
    assert "metadata" not in subsegment  # neither the response nor an error
    assert scan_text(json.dumps(segment)) == []


def test_a_failed_invocation_s_trace_names_the_failure_by_its_type_only(
    capsys: pytest.CaptureFixture[str], xray: CapturingEmitter, planted_logs: Path
) -> None:
    def handler(event: Any, context: Any) -> Any:
        raise ValueError(f"could not apply {VISA} {CVV}")

    entry = lambda_projector.telemetry.entry_point(handler)
    for _function in _on_lambda(lambda_projector.telemetry, capsys):
        segment = _traced(xray, lambda: pytest.raises(HandlerFailed, entry, {}, CONTEXT))
    text = json.dumps(segment)
    assert scan_text(text) == []
    (subsegment,) = segment["subsegments"]
    (exception,) = subsegment["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("HandlerFailed", "ValueError")
    assert "metadata" not in subsegment
