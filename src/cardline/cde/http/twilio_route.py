"""``POST /v1/twilio/pay``: Twilio's Generic Pay Connector, charging through the Charger.

The contract (what Twilio sends and reads back, and where it was looked up) is in
:mod:`cardline.cde.twilio_pay`. This module is the route around it:

- **No operator key.** Twilio authenticates with HTTP basic auth, the username and password
  configured on the connector in Twilio's console and held where the charge function reads
  its PayPal secret (``TWILIO_CONNECTOR_USERNAME``, ``TWILIO_CONNECTOR_PASSWORD``:
  :func:`cardline.cde.secrets.settings`). Both halves are compared in constant time; a
  missing, malformed or wrong credential is answered ``401`` with ``WWW-Authenticate: Basic``
  and reported where the App reports failed authentication (an ``auth_failure`` audit
  event: aggregated per source on a long-running host, one per failure on Lambda), naming
  the reason, never what was sent. Without configured credentials every request is refused.
- **One payment per Twilio transaction.** The idempotency key is derived from Twilio's
  ``transaction_id`` (and the call SID when the ``<Pay>`` verb passes it), the operator is
  ``twilio:<connector name>``, the origin ``twilio:<call SID>``: a retry by Twilio replays
  PayPal's first answer, the same ``charge_id``, without a second capture.
- **Every answer in the contract's shape** (``charge_id`` or ``token_id``, ``error_code``,
  ``error_message``), refusals included: the App hands this route's refusals to
  :func:`refusal`. A refused request is recorded as a ``twilio_request`` audit event (its
  code and field, never a value); a decided payment as the Charger's ``payment`` event.
- ``tokenize`` is refused (cardline holds no vault): ``token_id`` null, ``error_code``
  ``tokenization_unsupported``.

Standard library only: the charge Lambda serves this route.
"""

from __future__ import annotations

import binascii
import logging

from cardline.cde import audit, roles
from cardline.cde.errors import (
    AuthenticationFailed,
    CardlineError,
    InvalidRequest,
    MalformedRequest,
)
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Response, json_response
from cardline.cde.twilio_pay import (
    PATH,
    TOKENIZE,
    ConnectorCredentials,
    TokenizationRefused,
    answer,
    charge_answer,
    idempotency_key_for,
    origin_for,
    parse_connector_request,
)

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Callable

    from cardline.cde.charge import Charger
    from cardline.cde.http.failure_audit import FailureAudit

__all__ = ["PATH", "TWILIO_REQUEST", "refusal", "twilio_route"]

TWILIO_REQUEST = "twilio_request"  # a connector request refused before any charge
_ATTEMPT = f"POST {PATH}"
_REALM = 'Basic realm="cardline twilio connector", charset="UTF-8"'
_NOT_CONFIGURED = "The Twilio connector has no credentials configured"

log = logging.getLogger("cardline.twilio")


def refusal(error: CardlineError) -> Response:
    """The contract's answer to a request refused before or outside a decision: the
    problem's status (401 with the Basic challenge; 200 for the route's own decisions)."""
    headers = {"WWW-Authenticate": _REALM} if error.status == 401 else None
    return json_response(error.status, answer(error), headers)


def _credentials(header: str | None) -> tuple[bytes, bytes]:
    """The username and password of a Basic ``Authorization`` header (RFC 7617); the reason
    words of AuthenticationFailed never quote the header."""
    if header is None:
        raise AuthenticationFailed("No credentials came with the request")
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded or len(encoded) > 1024:
        raise AuthenticationFailed("The credentials are not HTTP basic credentials")
    try:
        decoded = binascii.a2b_base64(encoded.strip().encode("ascii"), strict_mode=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise AuthenticationFailed("The basic credentials are not base64") from None
    username, colon, password = decoded.partition(b":")
    if not colon:
        raise AuthenticationFailed("The basic credentials hold no username:password pair")
    return username, password


def twilio_route(
    charger: Charger,
    credentials: ConnectorCredentials | None,
    sink: audit.AuditSink,
    failures: Callable[[], FailureAudit],
) -> Route:
    """The Generic Pay Connector's route, charging through ``charger`` once Twilio's basic
    credentials match ``credentials`` (every request refused when None); ``failures`` is
    where failed authentication is reported (the App's: ``lambda: app.failures``)."""
    if credentials is None:
        log.warning("%s; every Twilio Pay request will be refused", _NOT_CONFIGURED)

    def authenticate(call: Call) -> ConnectorCredentials:
        request = call.request
        try:
            if credentials is None:
                raise AuthenticationFailed(_NOT_CONFIGURED)
            username, password = _credentials(request.header("authorization"))
            if not credentials.match(username, password):
                raise AuthenticationFailed("Wrong username or password")
        except AuthenticationFailed as error:
            failures().record(request.source_ip, _ATTEMPT, error.detail)
            raise AuthenticationFailed("Twilio's connector credentials are required") from None
        return credentials

    def refused(call: Call, operator: str, error: CardlineError, method: object) -> None:
        charger.metrics.validation_refusal(error.field)
        details: dict[str, object] = {
            "error": error.code,
            "method": method if method in ("charge", TOKENIZE) else None,
            "request_id": call.request.request_id,
        }
        if error.field is not None:
            details["field"] = error.field
        try:
            audit.record(
                sink,
                TWILIO_REQUEST,
                operator=operator,
                outcome="refused",
                origin=f"twilio-source:{call.request.source_ip}",
                resource=_ATTEMPT,
                details=details,
            )
        except Exception as failure:  # noqa: BLE001 - the refusal stands without its record
            log.error("a Twilio Pay refusal was not audited: %s", type(failure).__name__)

    def pay(call: Call) -> Response:
        connector = authenticate(call)
        # Every audit event of this request records the connector's identity and role.
        audit.act_as(connector.operator, roles.AGENT)
        try:
            return _pay(call, connector)
        finally:
            audit.act_as("", "")

    def _pay(call: Call, connector: ConnectorCredentials) -> Response:
        try:
            body = call.request.json()
        except MalformedRequest as error:
            refused(call, connector.operator, error, None)
            raise
        method = body.get("method") if isinstance(body, dict) else None
        try:
            charge = parse_connector_request(body)
        except TokenizationRefused as error:
            refused(call, connector.operator, error, method)
            return json_response(200, answer(error, tokenize=True))
        except InvalidRequest as error:
            refused(call, connector.operator, error, method)
            return json_response(200, answer(error))
        try:
            receipt = charger.charge(
                charge.payment,
                operator=connector.operator,
                idempotency_key=idempotency_key_for(charge.transaction_id, charge.call_sid),
                origin=origin_for(charge),
                role=roles.AGENT,
            )
        except CardlineError as error:
            # Recorded by the Charger. An unknown outcome (outcome_unknown) says the card
            # may have been charged and must not be taken again; Twilio retries with the
            # same transaction_id (the same payment) only when no answer came at all.
            return json_response(200, answer(error))
        finally:
            charge.payment.card.wipe()
        return json_response(200, charge_answer(receipt))

    # Public for the App (no operator key): the route authenticates Twilio itself.
    return Route("POST", PATH, pay, role=roles.PUBLIC, refusal=refusal)
