"""Finding 1 through the real HTTP surface: every string a client writes.

Each free-text field, identifier, field name, query parameter and path segment is sent
holding a card number written every way in ``WRITTEN_FORMS``. A free-text field is refused
with a 422 naming the field; nothing answers with the number, and after every request the
data folder (audit.jsonl, the SQLite ledger, the IVR sessions database, every other file)
is read with the card-number detector: it never holds the number, however written.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import audit, pan
from cardline.cde.http.app import App, Call, Caller, Route
from cardline.cde.http.messages import Request, Response
from cardline.cde.roles import PUBLIC
from cardline.local import AUDIT_FILE, LocalStack, build_local
from tests.adversarial.stored import holding, unescape
from tests.adversarial.written_pans import WRITTEN_FORMS
from tests.cards import AMEX, VISA, payment
from tests.ivr.conftest import INSTANCE, connect_event

FORMS = [pytest.param(text, id=label) for label, text in WRITTEN_FORMS]
NUMBERS = {VISA, AMEX}
CONTACT = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
_addresses = itertools.count(1)


class Surface:
    """The local stack's App, called in-process, with an operator key and one payment."""

    def __init__(self, stack: LocalStack, key: str) -> None:
        self.stack = stack
        self.key = key
        self._payment_id: str | None = None

    @property
    def payment_id(self) -> str:
        """An approved payment's id, taken on first use."""
        if self._payment_id is None:
            approved = self.call("POST", "/v1/payments", payment(VISA, reference="order-7"))
            assert approved.status == 201
            self._payment_id = str(approved.json()["id"])
        return self._payment_id

    @property
    def app(self) -> App:
        return self.stack.app

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        key: str | None = "",
        query: dict[str, str] | None = None,
    ) -> Response:
        sent = {"idempotency-key": str(uuid.uuid4())}
        if key is not None:
            sent["authorization"] = f"Bearer {key or self.key}"
        if body is not None:
            sent["content-type"] = "application/json"
        sent.update(headers or {})
        return self.app.handle(
            Request(
                method=method,
                path=path,
                headers=sent,
                query=query or {},
                body=b"" if body is None else json.dumps(body).encode(),
                # One address per request: the bad-key throttle is not what is tested here.
                source_ip=f"198.51.100.{next(_addresses) % 250 + 1}",
            )
        )

    def events(self) -> list[audit.AuditEvent]:
        return list(audit.read_events(self.stack.data_dir / AUDIT_FILE))


@pytest.fixture
def surface(data_dir: Path) -> Iterator[Surface]:
    """A fresh stack per test: what one test leaves cannot fail the next."""
    stack = build_local(data_dir, environ={})
    _operator, key = stack.operators.add("agent-adversary", role="supervisor")
    try:
        yield Surface(stack, key)
    finally:
        stack.close()


def _answer_text(answer: Response) -> str:
    return unescape(answer.body.decode("utf-8", "replace"))


def _assert_kept_nowhere(surface: Surface, answer: Response) -> None:
    assert not pan.find_pans(_answer_text(answer)), "the answer holds a card number"
    for name, value in answer.headers.items():
        assert not audit.contains_pan(value), f"the {name} header holds a card number"
    assert holding(surface.stack.data_dir, NUMBERS) == {}


def _assert_refused(surface: Surface, answer: Response, field: str) -> None:
    assert answer.status == 422, answer.body
    problem = answer.json()
    assert problem["field"] == field
    assert problem["code"] in {"invalid_request", "invalid_card"}
    _assert_kept_nowhere(surface, answer)


# -- free-text fields -----------------------------------------------------------------------


@pytest.mark.parametrize("text", FORMS)
def test_a_payment_reference_with_a_card_number_is_refused_and_kept_nowhere(
    surface: Surface, text: str
) -> None:
    answer = surface.call("POST", "/v1/payments", payment(VISA, reference=f"order {text}"))
    _assert_refused(surface, answer, "reference")


@pytest.mark.parametrize("text", FORMS)
def test_a_cardholder_name_with_a_card_number_is_refused_and_kept_nowhere(
    surface: Surface, text: str
) -> None:
    answer = surface.call("POST", "/v1/payments", payment(VISA, name=f"Ada {text}"))
    _assert_refused(surface, answer, "card.name")


@pytest.mark.parametrize("text", FORMS)
def test_a_refund_note_with_a_card_number_is_refused_and_kept_nowhere(
    surface: Surface, text: str
) -> None:
    answer = surface.call(
        "POST", f"/v1/payments/{surface.payment_id}/refunds", {"note": f"caller said {text}"}
    )
    _assert_refused(surface, answer, "note")


def _session(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "contact_id": CONTACT,
        "amount": "10.00",
        "currency": "USD",
        "cardholder_name": "Ada Lovelace",
        "reference": "order-9",
    }
    body.update(fields)
    return body


@pytest.mark.parametrize("field", ["reference", "cardholder_name", "contact_id"])
@pytest.mark.parametrize("text", FORMS)
def test_an_ivr_session_field_with_a_card_number_is_refused_and_kept_nowhere(
    surface: Surface, text: str, field: str
) -> None:
    value = text if field == "contact_id" else f"Ada {text}"
    answer = surface.call("POST", "/v1/ivr/sessions", _session(**{field: value}))
    _assert_refused(surface, answer, field)


@pytest.mark.parametrize("field", ["reference", "cardholder_name"])
@pytest.mark.parametrize("text", FORMS)
def test_an_ivr_connect_parameter_with_a_card_number_is_refused_and_kept_nowhere(
    surface: Surface, text: str, field: str
) -> None:
    parameters = {"amount": "10.00", "currency": "USD", field: f"Ada {text}"}
    before = len(surface.events())
    answer = surface.call("POST", "/v1/ivr/connect", connect_event(CONTACT, parameters))
    assert answer.status == 200
    assert answer.json()["status"] == "failed"
    refused = surface.events()[before:]
    assert [e.details.get("field") for e in refused if e.type == "ivr_input"] == [field]
    _assert_kept_nowhere(surface, answer)


# -- identifiers ------------------------------------------------------------------------------

PAN_SHAPED_IDS = [
    pytest.param(VISA, id="digits"),
    pytest.param("-".join(VISA[i : i + 4] for i in range(0, 16, 4)), id="dashes"),
    pytest.param("_".join(VISA[i : i + 4] for i in range(0, 16, 4)), id="underscores"),
    pytest.param("X" + VISA, id="paypal-shaped"),
    pytest.param("x" + VISA, id="glued-to-a-letter"),
    pytest.param(f"{VISA[:8]}-{VISA[8:12]}-{VISA[12:]}-aaaa-aaaaaaaaaaaa", id="uuid-shaped"),
]


@pytest.mark.parametrize("where", ["ContactId", "InitialContactId", "InstanceARN"])
@pytest.mark.parametrize("text", [*FORMS, *PAN_SHAPED_IDS[:3]])
def test_a_connect_event_naming_a_card_number_as_its_contact_or_instance_is_refused(
    surface: Surface, text: str, where: str
) -> None:
    event = connect_event(CONTACT, {"amount": "10.00", "currency": "USD"})
    contact = event["Details"]["ContactData"]
    if where == "InstanceARN":
        contact[where] = f"arn:aws:connect:us-east-1:123456789012:instance/{text}"
    else:
        contact[where] = text
    answer = surface.call("POST", "/v1/ivr/connect", event)
    if where == "InitialContactId":
        # Only compared with a session's contact; never kept, so only never answered.
        assert answer.status in {200, 422}
    else:
        _assert_refused(surface, answer, f"Details.ContactData.{where}")
    _assert_kept_nowhere(surface, answer)


def test_a_connect_event_with_well_formed_ids_is_taken(surface: Surface) -> None:
    event = connect_event(CONTACT, {"amount": "10.00", "currency": "USD"}, instance=INSTANCE)
    answer = surface.call("POST", "/v1/ivr/connect", event)
    assert answer.status == 200  # reprompts for the card: the ids were accepted
    assert answer.json()["action"] == "reprompt"


@pytest.mark.parametrize(
    "contact_id",
    ["c-1", "not-a-uuid", CONTACT.replace("-", ""), CONTACT + "0", CONTACT.upper() + "-1"],
)
def test_an_ivr_session_contact_id_must_be_a_uuid(surface: Surface, contact_id: str) -> None:
    answer = surface.call("POST", "/v1/ivr/sessions", _session(contact_id=contact_id))
    _assert_refused(surface, answer, "contact_id")


@pytest.mark.parametrize("text", FORMS)
@pytest.mark.parametrize("path", ["/v1/payments", "/v1/payments/{id}/refunds"])
def test_an_idempotency_key_with_a_card_number_is_refused(
    surface: Surface, text: str, path: str
) -> None:
    body = payment(VISA) if path == "/v1/payments" else {"amount": "0.01"}
    # In-process, a header may hold any text (a real one is Latin-1: the narrower case).
    answer = surface.call(
        "POST", path.format(id=surface.payment_id), body, headers={"idempotency-key": text}
    )
    _assert_refused(surface, answer, "Idempotency-Key")


# -- names and paths ----------------------------------------------------------------------------


def _unknown_name_bodies(name: str) -> list[tuple[str, str, Any]]:
    card = payment(VISA)
    card["card"] = {**card["card"], name: "1"}  # type: ignore[dict-item]
    return [
        ("POST", "/v1/payments", {**payment(VISA), name: "1"}),
        ("POST", "/v1/payments", card),
        ("POST", "/v1/payments/{id}/refunds", {name: "1"}),
        ("POST", "/v1/ivr/sessions", {**_session(), name: "1"}),
    ]


@pytest.mark.parametrize("text", [*FORMS, pytest.param("x4111111111111111", id="brief")])
def test_an_unknown_field_name_is_never_repeated_back(surface: Surface, text: str) -> None:
    for method, path, body in _unknown_name_bodies(text):
        answer = surface.call(method, path.format(id=surface.payment_id), body)
        assert answer.status == 422, (path, answer.body)
        assert text not in _answer_text(answer)
        _assert_kept_nowhere(surface, answer)
    listed = surface.call("GET", "/v1/payments", query={text: "1"})
    assert listed.status == 422
    assert text not in _answer_text(listed)
    _assert_kept_nowhere(surface, listed)


def test_an_unknown_field_name_is_refused_without_repeating_even_a_plain_name(
    surface: Surface,
) -> None:
    answer = surface.call("POST", "/v1/payments", {**payment(VISA), "colour": "red"})
    assert answer.status == 422
    assert "colour" not in _answer_text(answer)
    assert answer.json()["field"] == "body"


@pytest.mark.parametrize("parameter", ["status", "since", "until", "limit", "cursor"])
@pytest.mark.parametrize("text", FORMS)
def test_a_query_parameter_with_a_card_number_is_refused_without_it(
    surface: Surface, text: str, parameter: str
) -> None:
    answer = surface.call("GET", "/v1/payments", query={parameter: text})
    assert answer.status == 422
    _assert_kept_nowhere(surface, answer)


def _paths_of_every_route(app: App, segment: str) -> list[tuple[str, str]]:
    concrete = []
    for route in app.routes:
        if "{" in route.template:
            concrete.append((route.method, route.template.replace("{id}", segment)))
    return concrete


@pytest.mark.parametrize("segment", PAN_SHAPED_IDS)
@pytest.mark.parametrize("credential", ["good", "bad", "none"])
def test_a_card_shaped_path_segment_is_kept_nowhere_on_any_route(
    surface: Surface, segment: str, credential: str
) -> None:
    key = {"good": "", "bad": "cl_not-a-key", "none": None}[credential]
    paths = _paths_of_every_route(surface.app, segment)
    assert len(paths) >= 3  # a payment, its refunds, an IVR session
    for method, path in paths:
        answer = surface.call(method, path, {} if method == "POST" else None, key=key)
        assert answer.status in {401, 404, 422}, (method, path, answer.status)
        _assert_kept_nowhere(surface, answer)


@pytest.mark.parametrize("segment", PAN_SHAPED_IDS)
def test_a_card_shaped_path_on_no_route_is_kept_nowhere(surface: Surface, segment: str) -> None:
    for method in ("GET", "POST", "DELETE"):
        for path in (f"/v1/{segment}", f"/{segment}", f"/v1/payments/{segment}/x"):
            answer = surface.call(method, path, key="cl_not-a-key")
            assert answer.status in {404, 405}
            _assert_kept_nowhere(surface, answer)


def test_auth_failures_record_the_route_template_never_the_client_path(surface: Surface) -> None:
    before = len(surface.events())
    for method, path in _paths_of_every_route(surface.app, "pay_abc"):
        assert surface.call(method, path, key="cl_not-a-key").status == 401
    surface.app.flush()  # failed attempts are audited per source and interval
    templates = {f"{r.method} {r.template}" for r in surface.app.routes}
    failures = [e for e in surface.events()[before:] if e.type == audit.AUTH_FAILURE]
    assert failures
    assert {route for e in failures for route in e.details["routes"]} <= templates
    assert all(set(e.resource.split(", ")) <= templates for e in failures if len(e.resource) < 200)
    assert not [e for e in failures if "pay_abc" in e.to_json()]


@pytest.mark.parametrize("segment", PAN_SHAPED_IDS)
def test_an_unhandled_error_logs_no_card_shaped_method_or_path(
    segment: str, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(call: Call) -> Response:
        raise ValueError("a bug")

    app = App([Route("GET", "/boom/{id}", boom, role=PUBLIC)], _Refuse(), _NoSink())
    with caplog.at_level(logging.ERROR, logger="cardline.http"):
        for method in ("GET", segment):
            assert app.handle(Request(method, f"/boom/{segment}")).status in {405, 500}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "unhandled ValueError in GET /boom/" in logged
    assert not {d for _s, _e, d in pan.find_pans(logged)} & NUMBERS


class _Refuse:
    def authenticate(self, request: Request) -> Caller:
        raise AssertionError("not reached")


class _NoSink:
    def emit(self, event: audit.AuditEvent) -> None:
        raise AssertionError("not reached")
