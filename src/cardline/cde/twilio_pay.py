"""Twilio's Generic Pay Connector contract: what Twilio sends, what it takes back, who it is.

Twilio's ``<Pay>`` verb (and its agent-assisted Payments API) collects the card over DTMF
and hands it to a *Pay Connector*; the Generic Pay Connector posts it to any HTTPS endpoint
that answers in Twilio's shape. cardline is that endpoint: ``POST /v1/twilio/pay``
(:mod:`cardline.cde.http.twilio_route`), charged through the same ``Charger`` as
``POST /v1/payments``.

What the contract is, and where it was read (December 2026):

- Twilio, "Generic Pay Connector" (twilio.com/docs/voice/twiml/pay/generic-pay-connector):
  Twilio passes the payment information to the connector's endpoint "using an HTTPS POST
  request", with a JSON body; the connector is configured in the console (Voice → Pay
  Connectors → Generic Pay Connector) with a unique name, the endpoint URL and HTTP basic
  authentication credentials (username, password), and a test/live mode.
- Twilio's announcement of the connector (twilio.com/blog, "Now use any payment processor
  with Twilio Pay", 2022-03-30): the older ``/charge`` and ``/tokenize`` endpoints of branded
  connectors are replaced by one endpoint; the ``method`` field says which; ``<Parameter>``
  values of the ``<Pay>`` verb reach the processor as ``parameters``.
- Hyperswitch's implementation of this contract (github.com/juspay/hyperswitch,
  ``crates/api_models/src/twilio_generic_pay.rs`` and ``crates/router/src/core/
  twilio_generic_pay.rs``), and its published request example
  (api-reference.hyperswitch.io, "Telephone Order - Charge", called with
  ``Authorization: Basic``). The request body::

      {"method": "charge", "transaction_id": "...", "cardnumber": "4242424242424242",
       "cvv": "123", "expiry_month": "12", "expiry_year": "28", "amount": "1.00",
       "currency_code": "USD", "postal_code": "94122", "description": "...",
       "parameters": {"name": "value"}}

  ``method`` is ``charge`` or ``tokenize``; ``transaction_id`` is Twilio's id of the payment
  attempt, stable across Twilio's retries; ``amount`` a decimal string in major units and
  ``currency_code`` absent for ``tokenize``; ``expiry_year`` two or four digits;
  ``bankaccountnumber`` and ``routingnumber`` come instead of a card for ACH.
- The answer Twilio reads: ``{"charge_id": ..., "error_code": ..., "error_message": ...}``
  (``token_id`` in place of ``charge_id`` for ``tokenize``), every key present, ``null``
  when unused: success is ``error_code`` null, a decline is a ``200`` with ``error_code``
  set (Twilio's docs and Hyperswitch agree; a third-party stub, github.com/scarabaeus/
  twilio-pay-connector-stub, answers the same shape). Twilio then reports the outcome to
  the ``<Pay>`` action URL (or the Payments API's statusCallback).
- Twilio's error 64005 ("Pay: Connector does not support tokenization"): what Twilio calls
  the case of a connector that cannot tokenize.

Where those sources are silent, the choices made here, conservatively:

- **The call SID and payment SID** are not in the documented body. The ``<Pay>`` verb can
  pass them as ``<Parameter name="call_sid" value="CA…"/>`` (and ``payment_sid``, ``PK…``,
  for the Payments API); when given, they are checked for Twilio's SID shape and the call
  SID names the audit origin (``twilio:<call SID>``) and enters the idempotency key with
  ``transaction_id``. Without them, ``transaction_id`` alone keys the payment
  (``twilio-transaction:<id>``): it is Twilio's id of the attempt.
- **Status codes**: every answer has the contract's body. A request cardline read and
  decided (approved, declined, refused input, tokenization) is answered ``200``, as a
  decline is; wrong credentials ``401`` with ``WWW-Authenticate: Basic``; a request that
  could not be read at all the host's status (400, 405, 413, 415, 500).
- **Fields**: the documented fields are read; any other top-level field is ignored, never
  kept or echoed (Twilio may add fields; a refusal would stop every payment). A card number
  anywhere in ``description`` or ``parameters`` is refused.
- **The cardholder's name**, which ``<Pay>`` does not collect, comes from
  ``parameters.cardholder_name`` when given, else ``Telephone Customer`` (as the IVR).
- ``description`` becomes the payment's reference (``parameters.reference`` wins).

Nothing here is written with card data: errors name Twilio's field, never its value.

This module is in the charge path: standard library only, plus cardline's own domain.
"""

from __future__ import annotations

import hmac
import re

from cardline.cde.card import Card
from cardline.cde.charge import PaymentRequest
from cardline.cde.errors import CardlineError, InvalidCard, InvalidRequest
from cardline.cde.money import parse_money
from cardline.cde.pan import contains_pan
from cardline.cde.request_rules import MAX_REFERENCE, NOT_AN_OBJECT
from cardline.cde.values import FrozenValue

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from typing import Any

    from cardline.cde.charge import Receipt

__all__ = [
    "DEFAULT_CARDHOLDER",
    "DEFAULT_CONNECTOR_NAME",
    "PATH",
    "ConnectorCharge",
    "ConnectorCredentials",
    "TokenizationRefused",
    "answer",
    "charge_answer",
    "idempotency_key_for",
    "origin_for",
    "parse_connector_request",
]

PATH = "/v1/twilio/pay"
DEFAULT_CARDHOLDER = "Telephone Customer"
DEFAULT_CONNECTOR_NAME = "cardline"
# Where the charge function's secret (and locally the environment) holds the connector's
# basic-auth credentials and its name (cardline.cde.secrets.settings).
USERNAME_SETTING = "TWILIO_CONNECTOR_USERNAME"
PASSWORD_SETTING = "TWILIO_CONNECTOR_PASSWORD"  # noqa: S105 - a setting's name
NAME_SETTING = "TWILIO_CONNECTOR_NAME"
MIN_PASSWORD_LENGTH = 16
MAX_TRANSACTION_ID = 64
MAX_PARAMETERS = 20
MAX_PARAMETER_VALUE = 255

CHARGE = "charge"
TOKENIZE = "tokenize"
# Twilio's SIDs: two letters and 32 hex digits (calls CA…, payments PK…, accounts AC…).
_SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TRANSACTION_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_TRANSACTION_ID}}}")
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# cardline's field names (the card module's, the money module's) as Twilio names them.
_TWILIO_FIELD = {
    "card.number": "cardnumber",
    "card.expiry": "expiry_month",
    "card.security_code": "cvv",
    "card.name": "parameters.cardholder_name",
    "currency": "currency_code",
}


class TokenizationRefused(CardlineError):
    """Twilio asked to tokenize (store) the card: cardline holds no vault, so it only
    charges. Twilio calls this case error 64005."""

    status = 200  # a decision, answered like a decline: error_code says it
    code = "tokenization_unsupported"
    title = "This connector does not tokenize cards"


class ConnectorCredentials(FrozenValue):
    """The basic-auth credentials configured on the Generic Pay Connector in Twilio's
    console, and the connector's name (the operator payments are taken as:
    ``twilio:<name>``). The password stays out of the repr."""

    username: str
    password: str
    name: str = DEFAULT_CONNECTOR_NAME
    _hidden = frozenset({"password"})

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> ConnectorCredentials | None:
        """The credentials in ``values`` (the environment with the charge function's secret
        over it); None when they are not set. ValueError (naming the setting, never its
        value) when they are set but unusable."""
        username = values.get(USERNAME_SETTING, "")
        password = values.get(PASSWORD_SETTING, "")
        if not username and not password:
            return None
        if not 1 <= len(username) <= 128 or ":" in username or not username.isprintable():
            raise ValueError(f"{USERNAME_SETTING} must be 1 to 128 printable characters, no ':'")
        if len(password) < MIN_PASSWORD_LENGTH or not password.isprintable():
            raise ValueError(
                f"{PASSWORD_SETTING} must be at least {MIN_PASSWORD_LENGTH} printable characters"
            )
        name = values.get(NAME_SETTING) or DEFAULT_CONNECTOR_NAME
        if not _NAME.fullmatch(name):
            raise ValueError(f"{NAME_SETTING} must be 1 to 64 letters, digits, '-' or '_'")
        return cls(username, password, name)

    @property
    def operator(self) -> str:
        """The identity Twilio's payments are taken under (PCI DSS 8.2.1: its own)."""
        return f"twilio:{self.name}"

    def match(self, username: bytes, password: bytes) -> bool:
        """Whether the pair is this connector's, in time that does not depend on where
        they differ: both halves are always compared."""
        same_user = hmac.compare_digest(username, self.username.encode())
        same_password = hmac.compare_digest(password, self.password.encode())
        return same_user & same_password


class ConnectorCharge(FrozenValue):
    """A validated ``charge`` request of the Generic Pay Connector: the payment, and Twilio's
    ids of the attempt and (when the ``<Pay>`` verb passed them) of the call and payment."""

    payment: PaymentRequest
    transaction_id: str
    call_sid: str | None = None
    payment_sid: str | None = None


def idempotency_key_for(transaction_id: str, call_sid: str | None) -> str:
    """One payment per Twilio transaction (and call, when known): every retry of it by
    Twilio reuses this key, so PayPal charges it once."""
    if call_sid is None:
        return f"twilio-transaction:{transaction_id}"
    return f"twilio-call:{call_sid}:{transaction_id}"


def origin_for(charge: ConnectorCharge) -> str:
    """The audit origin: the call, when known, else Twilio's transaction."""
    if charge.call_sid is not None:
        return f"twilio:{charge.call_sid}"
    return f"twilio-transaction:{charge.transaction_id}"


def answer(
    error: CardlineError | None = None, *, charge_id: str | None = None, tokenize: bool = False
) -> dict[str, Any]:
    """The body Twilio reads: every key present, ``null`` when unused. ``error_message`` is
    cardline's own words, which never hold card data."""
    id_key = "token_id" if tokenize else "charge_id"
    if error is None:
        return {id_key: charge_id, "error_code": None, "error_message": None}
    message = error.detail
    field = _TWILIO_FIELD.get(error.field, error.field) if error.field else None
    if field and field not in message:
        message = f"{message} ({field})"
    return {id_key: None, "error_code": error.code, "error_message": message}


class _Declined(CardlineError):
    status = 200
    code = "card_declined"


class _NotCompleted(CardlineError):
    status = 200


def charge_answer(receipt: Receipt) -> dict[str, Any]:
    """What Twilio is told of a decided payment: the payment id when approved, else why not."""
    if receipt.status == "approved":
        return answer(charge_id=receipt.id)
    if receipt.status == "declined":
        words = (receipt.message or "The card issuer declined the payment").rstrip(".")
        code = f" ({receipt.decline_code})" if receipt.decline_code else ""
        return answer(_Declined(f"{words}{code}. Nothing was charged."))
    # Pending: PayPal holds the payment; neither approved nor refused yet.
    refusal = _NotCompleted(
        f"Payment {receipt.id} is {receipt.status}: "
        + (receipt.message or "PayPal did not confirm it.")
        + " Do not take the card again: look the payment up first."
    )
    refusal.code = f"payment_{receipt.status}"
    return answer(refusal)


def _required(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name} is required and must be a string", field=name)
    return value


def _sid(parameters: Mapping[str, str], name: str, prefix: str) -> str | None:
    value = parameters.get(name)
    if value is None:
        return None
    if not _SID.fullmatch(value) or not value.startswith(prefix):
        raise InvalidRequest(
            f"parameters.{name} must be a Twilio SID ({prefix} and 32 hex digits)",
            field=f"parameters.{name}",
        )
    return value


def _parameters(body: Mapping[str, Any]) -> dict[str, str]:
    raw = body.get("parameters")
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_PARAMETERS:
        raise InvalidRequest(
            f"parameters must be an object of at most {MAX_PARAMETERS} strings",
            field="parameters",
        )
    parameters: dict[str, str] = {}
    for name, value in raw.items():
        # The message names neither the key nor the value: either may hold anything.
        if not isinstance(value, str) or len(value) > MAX_PARAMETER_VALUE or len(name) > 64:
            raise InvalidRequest(
                f"parameters must be an object of strings of at most {MAX_PARAMETER_VALUE} "
                "characters",
                field="parameters",
            )
        if contains_pan(name) or contains_pan(value, inside_identifiers=False):
            raise InvalidRequest("parameters must not contain a card number", field="parameters")
        parameters[name] = value
    return parameters


def _reference(body: Mapping[str, Any], parameters: Mapping[str, str]) -> str | None:
    field = "parameters.reference" if "reference" in parameters else "description"
    value = parameters.get("reference", body.get("description"))
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_REFERENCE or not value.isprintable():
        raise InvalidRequest(
            f"{field} must be printable text of at most {MAX_REFERENCE} characters", field=field
        )
    if contains_pan(value):
        raise InvalidRequest(f"{field} must not contain a card number", field=field)
    return value


def _expiry(body: Mapping[str, Any]) -> str:
    """``expiry_month`` and ``expiry_year`` as the ``MM/YY`` or ``MM/YYYY`` the card reads."""
    month, year = body.get("expiry_month"), body.get("expiry_year")
    if not isinstance(month, str) or not _DIGITS.fullmatch(month) or len(month) > 2:
        raise InvalidCard("expiry_month must be one or two digits", field="expiry_month")
    if not isinstance(year, str) or not _DIGITS.fullmatch(year) or len(year) not in (2, 4):
        raise InvalidCard("expiry_year must be two or four digits", field="expiry_year")
    return f"{month.zfill(2)}/{year}"


def _currency(body: Mapping[str, Any]) -> object:
    # <Pay currency="usd">: Twilio's own examples write it in lower case.
    value = body.get("currency_code")
    return value.upper() if isinstance(value, str) and value.isascii() else value


def parse_connector_request(body: object, *, today: date | None = None) -> ConnectorCharge:
    """Validate the Generic Pay Connector's JSON body into a charge. Raises
    TokenizationRefused for ``tokenize`` and InvalidRequest (InvalidCard, InvalidAmount)
    naming the field at fault, never its value."""
    if not isinstance(body, dict):
        raise InvalidRequest(NOT_AN_OBJECT, field="body")
    method = body.get("method")
    if method == TOKENIZE:
        raise TokenizationRefused(
            "This connector charges cards and holds no vault, so it does not tokenize them "
            "(Twilio error 64005): set a chargeAmount on <Pay> to charge the card"
        )
    if method != CHARGE:
        raise InvalidRequest("method must be charge or tokenize", field="method")
    transaction_id = _required(body, "transaction_id")
    if not _TRANSACTION_ID.fullmatch(transaction_id) or contains_pan(
        transaction_id, inside_identifiers=False
    ):
        raise InvalidRequest(
            f"transaction_id must be 1 to {MAX_TRANSACTION_ID} letters, digits, '.', ':', "
            "'_' or '-'",
            field="transaction_id",
        )
    if body.get("bankaccountnumber") is not None or body.get("routingnumber") is not None:
        raise InvalidRequest(
            "This connector charges cards only, not bank accounts (ACH)",
            field="bankaccountnumber",
        )
    parameters = _parameters(body)
    call_sid = _sid(parameters, "call_sid", "CA")
    payment_sid = _sid(parameters, "payment_sid", "PK")
    reference = _reference(body, parameters)
    money = parse_money(body.get("amount"), _currency(body))
    card = Card.parse(
        number=_required(body, "cardnumber"),
        expiry=_expiry(body),
        security_code=_required(body, "cvv"),
        name=parameters.get("cardholder_name") or DEFAULT_CARDHOLDER,
        today=today,
    )
    return ConnectorCharge(
        PaymentRequest(money=money, card=card, reference=reference),
        transaction_id,
        call_sid,
        payment_sid,
    )
