"""PayPalClient: a small pool of kept-alive connections, one OAuth token, retries under one
request id, and a deadline per call.

- http.client writes every request and parses every answer; :mod:`cardline.cde.paypal.transport`
  binds each exchange to a deadline and a byte budget, and keeps idle connections in a
  small pool (one per concurrent caller, reused by warm invocations, never shared by two
  exchanges at once: no lock is held across a network exchange). TLS rules are in
  :mod:`cardline.cde.paypal.config`.
- A deadline per call (``PayPalConfig.deadline``) spans every attempt, read and backoff;
  each attempt also ends at ``PayPalConfig.timeout``.
- One OAuth token per client life, refreshed shortly before it expires (one caller
  fetches; the others keep using the old one while it is still valid), fetched once more
  on a 401.
- Every POST carries the caller's ``PayPal-Request-Id``; retries (timeouts, dropped
  connections, 429, 409 in progress, 500/502/503/504) reuse it, so PayPal replays its
  first answer instead of charging twice.
- When a call ends without a usable answer, the error says whether a POST may have been
  processed (:class:`~cardline.cde.errors.GatewayOutcomeUnknown`: any failure at all once a
  request was handed to the network) or provably was not
  (:class:`~cardline.cde.errors.GatewayUnavailable`).
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import threading
import time
from urllib.parse import quote, urlencode

from cardline.cde.encoding import compact
from cardline.cde.errors import (
    CardlineError,
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    NotFound,
)
from cardline.cde.metrics import Recorder
from cardline.cde.paypal.codes import CARD_ISSUES, ISSUE_MESSAGES
from cardline.cde.paypal.config import _parse_base_url, _tls_context
from cardline.cde.paypal.outcome import (
    ChargeOutcome,
    _dict,
    _first,
    _text,
    interpret_order,
    order_id_of,
    refused_card,
)
from cardline.cde.paypal.transport import MAX_BODY, Connection, Pool, TLSConnection
from cardline.cde.request_rules import INTENT_RULE, INTENTS

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from cardline.cde.card import Card
    from cardline.cde.money import Money
    from cardline.cde.paypal.config import PayPalConfig

__all__ = ["PayPalClient"]

logger = logging.getLogger("cardline.cde.paypal")

_OAUTH2 = "/v1/oauth2/token"
_ORDERS = "/v2/checkout/orders"
_ORDER = "/v2/checkout/orders/{id}"
_AUTH_CAPTURE = "/v2/payments/authorizations/{authorization_id}/capture"
_AUTH_VOID = "/v2/payments/authorizations/{authorization_id}/void"
_AUTH_REAUTHORIZE = "/v2/payments/authorizations/{authorization_id}/reauthorize"
_CAPTURE = "/v2/payments/captures/{capture_id}"
_CAPTURE_REFUND = "/v2/payments/captures/{capture_id}/refund"
_REFUND = "/v2/payments/refunds/{refund_id}"
_TRANSACTIONS = "/v1/reporting/transactions"
_VERIFY_WEBHOOK = "/v1/notifications/verify-webhook-signature"
_WEBHOOKS = "/v1/notifications/webhooks"
_SEARCH_PAGE_SIZE = 500  # the Transaction Search maximum
_SEARCH_MAX_PAGES = 20  # bounds one window's walk: 10,000 transactions

_POOL_SIZE = 16  # idle connections kept: one per concurrent caller of a threaded host
_RETRY_AFTER_CAP = 30.0
_TOKEN_MARGIN_CAP = 300.0  # refresh when < min(5 min, 10 % of expires_in) remain
_MAX_REQUEST_ID = 108  # PayPal-Request-Id maxLength in the OpenAPI documents
_MAX_TEXT = 127  # invoice_id, custom_id, description maxLength
_USER_AGENT = "cardline-paypal/1"
_MAYBE_PROCESSED = "the request may have been processed: retry with the same request id"
_CREDENTIALS_REFUSED = "PayPal credentials were refused"
_GET_HEADERS = {"Accept": "application/json", "User-Agent": _USER_AGENT}
_POST_HEADERS = {
    **_GET_HEADERS,
    "Content-Type": "application/json",
    "Prefer": "return=representation",
}


# --------------------------------------------------------------------------- transport


class _Payload:
    """Request body bytes that never show themselves in a repr (tracebacks, debuggers)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<request body: {len(self.data)} bytes>"


class _Reply:
    __slots__ = ("data", "debug_id", "retry_after", "status")

    def __init__(
        self, status: int, data: bytes | None, retry_after: float | None, debug_id: str | None
    ) -> None:
        self.status = status
        self.data = data  # None when the body was too large to read
        self.retry_after = retry_after
        self.debug_id = debug_id


class _Transient(Exception):
    """One attempt failed in a way worth retrying. Internal; never leaves this module."""

    def __init__(
        self,
        reason: str,
        *,
        maybe_processed: bool,
        status: int | None = None,
        debug_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_processed = maybe_processed
        self.status = status
        self.debug_id = debug_id
        self.retry_after = retry_after


class _Problem:
    """The safe parts of a PayPal error body: never ``details[].value``, never messages."""

    __slots__ = ("debug_id", "field", "issue", "name")

    def __init__(self, reply: _Reply) -> None:
        doc = _json_object(reply.data) or {}
        detail = _first(doc.get("details"))
        self.name = _token(doc.get("name"))
        # OAuth errors carry {"error": "invalid_client", ...} instead of details.
        self.issue = _token(detail.get("issue")) or _token(doc.get("error"))
        self.field = _field(detail.get("field"))
        self.debug_id = _token(doc.get("debug_id")) or reply.debug_id


def _token(value: object) -> str | None:
    """An enum-like token (issue, name, debug id) or None: no free text reaches our errors."""
    if (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and all(c.isascii() and (c.isalnum() or c in "_-.") for c in value)
    ):
        return value
    return None


def _field(value: object) -> str | None:
    """A JSON-pointer-like field name, or None; never anything holding a long digit run."""
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        return None
    if not all(c.isascii() and (c.isalnum() or c in "_-./@='[]") for c in value):
        return None
    run = 0
    for c in value:
        run = run + 1 if c.isdigit() else 0
        if run >= 5:
            return None
    return value


def _json_object(data: bytes | None) -> dict[str, Any] | None:
    """Decoded JSON object, or None. Never raises: a decode error would hold the body."""
    if not data:
        return None
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, deep nesting
        return None
    return parsed if isinstance(parsed, dict) else None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), _RETRY_AFTER_CAP)


def _printable_ascii(text: str) -> bool:
    # " " to "~" only: no CR or LF can split a header or the request line.
    return text.isascii() and text.isprintable()


def _check_header_value(name: str, value: str, max_len: int) -> None:
    # isascii() and isprintable(): every character from " " to "~", at C speed.
    if not 0 < len(value) <= max_len or not (value.isascii() and value.isprintable()):
        raise ValueError(f"{name} must be 1 to {max_len} printable ASCII characters")


def _check_text(name: str, value: str | None) -> None:
    if value is not None and (not 0 < len(value) <= _MAX_TEXT or not value.isprintable()):
        raise ValueError(f"{name} must be 1 to {_MAX_TEXT} printable characters")


def _resource_id(value: str) -> str | None:
    """A PayPal id safe to put in a path, or None. PayPal's ids are short and alphanumeric."""
    if (
        isinstance(value, str)
        and 0 < len(value) <= 64
        and all(c.isascii() and (c.isalnum() or c in "_-") for c in value)
    ):
        return quote(value, safe="")
    return None


def _money(money: Money) -> dict[str, str]:
    return {"currency_code": money.currency, "value": money.value}


def _encode(document: Mapping[str, Any]) -> _Payload:
    return _Payload(compact(document).encode("utf-8"))


def _order_payload(
    money: Money,
    card: Card,
    intent: str,
    invoice_id: str | None,
    custom_id: str | None,
    description: str | None,
    billing_address: Mapping[str, str] | None = None,
) -> _Payload:
    # Built and encoded here so that no longer-lived frame holds a dict with the PAN.
    unit: dict[str, Any] = {"amount": _money(money)}
    if invoice_id is not None:
        unit["invoice_id"] = invoice_id
    if custom_id is not None:
        unit["custom_id"] = custom_id
    if description is not None:
        unit["description"] = description
    return _encode(
        {
            "intent": intent,
            "purchase_units": [unit],
            "payment_source": {"card": _card(card, billing_address)},
        }
    )


def _card(card: Card, billing_address: Mapping[str, str] | None) -> dict[str, Any]:
    fields: dict[str, Any] = card.paypal_card()
    if billing_address:
        fields["billing_address"] = dict(billing_address)
    return fields


# --------------------------------------------------------------------------- the client


class PayPalClient:
    """A small, thread-safe PayPal REST client: a few kept-alive connections, one token.

    ``sleep`` and ``clock`` are injectable so tests run without waiting; ``rng`` (a
    ``random.Random``) makes the backoff jitter reproducible. ``stats`` counts HTTP
    ``requests`` (token requests included), ``token_fetches``, ``retries`` and TCP
    ``connections`` opened. ``metrics`` (cardline.cde.metrics) is told each call's
    latency and each retry.
    """

    def __init__(
        self,
        config: PayPalConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        metrics: Recorder | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics or Recorder("paypal")
        self._scheme, self._host, self._port, self._prefix = _parse_base_url(config.base_url)
        self._ssl_context = _tls_context() if self._scheme == "https" else None
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._basic = "Basic " + base64.b64encode(
            f"{config.client_id}:{config.client_secret}".encode()
        ).decode("ascii")
        self._pool = Pool(self._new_connection, _POOL_SIZE)
        self._stats_lock = threading.Lock()  # held for a counter, never across an exchange
        self._token_lock = threading.Lock()  # guards the token's fields
        self._fetch_lock = threading.Lock()  # one token request at a time (single flight)
        self._token: str | None = None
        self._token_refresh_at = 0.0
        self._token_expires_at = 0.0
        self.stats: dict[str, int] = {
            "requests": 0,
            "token_fetches": 0,
            "retries": 0,
            "connections": 0,
        }

    def __repr__(self) -> str:
        return f"PayPalClient({self._scheme}://{self._host}:{self._port})"

    # ----------------------------------------------------------------- public API

    def create_order(
        self,
        *,
        request_id: str,
        money: Money,
        card: Card,
        intent: str = "CAPTURE",
        invoice_id: str | None = None,
        custom_id: str | None = None,
        description: str | None = None,
        mock_response: str | None = None,
        billing_address: Mapping[str, str] | None = None,
    ) -> tuple[ChargeOutcome, dict[str, Any]]:
        """Charge (or authorize) the card in one round trip: ``POST /v2/checkout/orders``.

        Returns what the payment came to and PayPal's order (full representation). When
        PayPal refuses the card itself (HTTP 422 with a card issue such as
        ``INSTRUMENT_DECLINED``, or 3-D Secure required), no order exists: the outcome is
        then declined or failed with ``order_id`` None (:func:`refused_card`), and the
        order ``{}``.

        Raises GatewayRejected, GatewayUnavailable (nothing charged) or
        GatewayOutcomeUnknown (may be charged: retry with the same ``request_id``).
        """
        if intent not in INTENTS:
            raise ValueError(INTENT_RULE)
        _check_header_value("request_id", request_id, _MAX_REQUEST_ID)
        _check_text("invoice_id", invoice_id)
        _check_text("custom_id", custom_id)
        _check_text("description", description)
        extra: dict[str, str] = {}
        if mock_response is not None:
            _check_header_value("mock_response", mock_response, 2000)
            extra["PayPal-Mock-Response"] = mock_response
        reply = self._call(
            "POST",
            _ORDERS,
            _ORDERS,
            body=_order_payload(
                money, card, intent, invoice_id, custom_id, description, billing_address
            ),
            request_id=request_id,
            extra_headers=extra,
        )
        if reply.status == 422:
            problem = _Problem(reply)
            if problem.issue in CARD_ISSUES:
                logger.info(
                    "PayPal refused the card: issue=%s debug_id=%s", problem.issue, problem.debug_id
                )
                refused = refused_card(
                    problem.issue,
                    brand=str(card.brand),
                    last_digits=str(card.last4),
                    amount=money.value,
                    currency=money.currency,
                    custom_id=custom_id,
                )
                return refused, {}
        order = self._result("POST", _ORDERS, reply, resource="order")
        return interpret_order(order), order

    def get_order(self, order_id: str) -> dict[str, Any]:
        """``GET /v2/checkout/orders/{id}``; NotFound when PayPal has no such order."""
        return self._get(_ORDER, order_id, "order")

    def capture_authorization(
        self,
        authorization_id: str,
        *,
        request_id: str,
        money: Money | None = None,
        final_capture: bool = True,
    ) -> dict[str, Any]:
        """Capture an authorized payment (all of it unless ``money`` is given)."""
        body: dict[str, Any] = {"final_capture": final_capture}
        if money is not None:
            body["amount"] = _money(money)
        reply = self._post(_AUTH_CAPTURE, authorization_id, request_id, _encode(body))
        return self._result("POST", _AUTH_CAPTURE, reply, resource="capture")

    def void_authorization(
        self, authorization_id: str, *, request_id: str
    ) -> dict[str, Any] | None:
        """Void an authorization; PayPal's representation, or None on 204 No Content."""
        reply = self._post(_AUTH_VOID, authorization_id, request_id, None)
        if 200 <= reply.status < 300 and reply.data == b"":
            return None
        return self._result("POST", _AUTH_VOID, reply, resource="authorization")

    def reauthorize_authorization(
        self, authorization_id: str, *, request_id: str
    ) -> dict[str, Any]:
        """Reauthorize an authorization for its original amount: PayPal's new authorization,
        which takes over the hold (captures go to it; voids still go to the original)."""
        reply = self._post(_AUTH_REAUTHORIZE, authorization_id, request_id, _encode({}))
        return self._result("POST", _AUTH_REAUTHORIZE, reply, resource="authorization")

    def refund_capture(
        self,
        capture_id: str,
        *,
        request_id: str,
        money: Money | None = None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Refund a capture: the rest of it, or ``money`` for a partial refund."""
        body: dict[str, Any] = {}
        if money is not None:
            body["amount"] = _money(money)
        if note is not None:
            if not 0 < len(note) <= 255 or not note.isprintable():
                raise ValueError("note must be 1 to 255 printable characters")
            body["note_to_payer"] = note
        reply = self._post(_CAPTURE_REFUND, capture_id, request_id, _encode(body))
        return self._result("POST", _CAPTURE_REFUND, reply, resource="refund")

    def get_capture(self, capture_id: str) -> dict[str, Any]:
        """``GET /v2/payments/captures/{capture_id}``; NotFound when there is none."""
        return self._get(_CAPTURE, capture_id, "capture")

    def get_refund(self, refund_id: str) -> dict[str, Any]:
        """``GET /v2/payments/refunds/{refund_id}``; NotFound when there is none."""
        return self._get(_REFUND, refund_id, "refund")

    def verify_webhook_signature(self, body: bytes) -> bool:
        """Ask PayPal whether a webhook delivery is genuine: ``POST
        /v1/notifications/verify-webhook-signature`` with ``body`` sent byte for byte (the
        request ``Delivery.verification_request`` builds around the event as it arrived).

        True only for ``verification_status`` ``SUCCESS``; False for ``FAILURE`` and for a
        request PayPal refuses (4xx: the delivery's headers are not PayPal's). Raises
        GatewayError when PayPal gives no usable answer (unreachable, 5xx, unreadable): the
        delivery is then neither believed nor refused, and PayPal delivers it again.
        """
        reply = self._call("POST", _VERIFY_WEBHOOK, _VERIFY_WEBHOOK, body=_Payload(body))
        if 400 <= reply.status < 500 and reply.status not in (401, 403):
            return False
        document = self._result("POST", _VERIFY_WEBHOOK, reply, resource="verification")
        return document.get("verification_status") == "SUCCESS"

    def create_webhook(self, url: str, event_types: Sequence[str]) -> str:
        """Subscribe ``url`` to ``event_types``: ``POST /v1/notifications/webhooks``;
        returns the webhook id PayPal gave the subscription (what deliveries are verified
        against)."""
        body = _encode({"url": url, "event_types": [{"name": name} for name in event_types]})
        reply = self._call("POST", _WEBHOOKS, _WEBHOOKS, body=body)
        webhook = self._result("POST", _WEBHOOKS, reply, resource="webhook")
        webhook_id = _text(webhook.get("id"))
        if webhook_id is None:
            raise GatewayError("PayPal's webhook subscription came without an id")
        return webhook_id

    def search_transactions(self, start: str, end: str) -> list[dict[str, Any]]:
        """Every ``transaction_info`` PayPal lists between ``start`` and ``end``.

        ``GET /v1/reporting/transactions`` (Transaction Search), all pages. The dates are
        RFC 3339 with seconds, at most 31 days apart. PayPal lists a transaction up to three
        hours after it happened: an empty answer for the last hours proves nothing.
        """
        found: list[dict[str, Any]] = []
        for page in range(1, _SEARCH_MAX_PAGES + 1):
            query = urlencode(
                {
                    "start_date": start,
                    "end_date": end,
                    "fields": "transaction_info",
                    "balance_affecting_records_only": "N",
                    "page_size": _SEARCH_PAGE_SIZE,
                    "page": page,
                }
            )
            reply = self._call("GET", f"{_TRANSACTIONS}?{query}", _TRANSACTIONS)
            document = self._result("GET", _TRANSACTIONS, reply, resource="transaction list")
            details = document.get("transaction_details")
            for detail in details if isinstance(details, list) else []:
                info = _dict(_dict(detail).get("transaction_info"))
                if info:
                    found.append(info)
            total_pages = document.get("total_pages")
            if not isinstance(total_pages, int) or page >= total_pages:
                break
        return found

    def find_order_by_invoice(self, invoice_id: str, *, days: int = 31) -> dict[str, Any] | None:
        """The order whose payment carries ``invoice_id``, searched over the last ``days``
        days (31 at most, Transaction Search's limit), or None when PayPal lists none yet."""
        until = time.time() + 60
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until - min(days, 31) * 86400))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until))
        for info in self.search_transactions(start, end):
            if info.get("invoice_id") != invoice_id:
                continue
            order_id = order_id_of(info) or self._order_of_capture(info)
            if order_id is not None:
                return self.get_order(order_id)
        return None

    def _order_of_capture(self, info: Mapping[str, Any]) -> str | None:
        transaction_id = _text(info.get("transaction_id"))
        if transaction_id is None:
            return None
        capture = self.get_capture(transaction_id)
        related = _dict(_dict(capture.get("supplementary_data")).get("related_ids"))
        return _text(related.get("order_id"))

    def close(self) -> None:
        """Close the idle kept-alive connections (the next call opens one)."""
        self._pool.close()

    def _count(self, stat: str) -> None:
        with self._stats_lock:
            self.stats[stat] += 1

    # ----------------------------------------------------------------- call helpers

    def _get(self, template: str, resource_id: str, resource: str) -> dict[str, Any]:
        safe = _resource_id(resource_id)
        if safe is None:
            raise NotFound(f"PayPal has no such {resource}")
        path = template.replace(template[template.index("{") : template.index("}") + 1], safe)
        reply = self._call("GET", path, template)
        return self._result("GET", template, reply, resource=resource)

    def _post(
        self, template: str, resource_id: str, request_id: str, body: _Payload | None
    ) -> _Reply:
        _check_header_value("request_id", request_id, _MAX_REQUEST_ID)
        safe = _resource_id(resource_id)
        if safe is None:
            raise GatewayRejected(
                "The PayPal resource id is not valid", issue="INVALID_RESOURCE_ID"
            )
        path = template.replace(template[template.index("{") : template.index("}") + 1], safe)
        return self._call("POST", path, template, body=body, request_id=request_id)

    def _result(
        self,
        method: str,
        template: str,
        reply: _Reply,
        *,
        resource: str,
    ) -> dict[str, Any]:
        """The JSON object of a final reply, or the error it stands for."""
        if 200 <= reply.status < 300:
            document = _json_object(reply.data)
            if document is not None:
                return document
            if method == "POST":
                raise GatewayOutcomeUnknown(
                    f"PayPal's answer to POST {template} could not be read; {_MAYBE_PROCESSED}",
                    http_status=reply.status,
                    debug_id=reply.debug_id,
                )
            raise GatewayError(
                f"PayPal's answer to GET {template} could not be read",
                http_status=reply.status,
                debug_id=reply.debug_id,
            )
        raise self._error(method, template, reply, resource)

    @staticmethod
    def _error(method: str, template: str, reply: _Reply, resource: str) -> CardlineError:
        problem = _Problem(reply)
        status = reply.status
        label = problem.issue or problem.name or f"HTTP {status}"
        kwargs: dict[str, Any] = {
            "http_status": status,
            "name": problem.name,
            "issue": problem.issue,
            "debug_id": problem.debug_id,
            "field": problem.field,
        }
        if status == 404 and method == "GET":
            return NotFound(f"PayPal has no such {resource}")
        if 400 <= status < 500:
            sentence = ISSUE_MESSAGES.get(problem.issue or "")
            detail = f"PayPal refused {method} {template} ({label})"
            if sentence:
                detail = f"{detail}: {sentence}"
            return GatewayRejected(detail, **kwargs)
        if method == "POST" and not 400 <= status < 500:
            # 5xx, or a status no final answer to an order should have (3xx, 2xx without a
            # body we can read is handled by _result): PayPal may have acted on it.
            return GatewayOutcomeUnknown(
                f"PayPal failed on POST {template} ({label}); {_MAYBE_PROCESSED}",
                **kwargs,
            )
        return GatewayError(f"PayPal answered {method} {template} with {label}", **kwargs)

    # ----------------------------------------------------------------- the retry loop

    def _call(
        self,
        method: str,
        path: str,
        template: str,
        *,
        body: _Payload | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> _Reply:
        """Send with retries; return the first reply that is not worth retrying.

        Once a POST attempt may have reached PayPal, the call ends either with PayPal's
        answer to that request id or with GatewayOutcomeUnknown.
        """
        is_post = method == "POST"
        maybe_processed = False
        refreshed = False
        attempt = 0
        started = self._clock()
        call_deadline = started + self.config.deadline
        try:
            while True:
                attempt += 1
                failure: _Transient | None = None
                fatal: GatewayError | None = None
                deadline = min(call_deadline, self._clock() + self.config.timeout)
                try:
                    token = self._access_token(deadline)
                    headers = self._headers(token, is_post, request_id, extra_headers)
                    reply = self._exchange(method, path, body, headers, deadline)
                except _Transient as transient:
                    failure = transient
                except GatewayError as error:  # the token could not be had
                    fatal = error
                if fatal is not None:
                    raise self._unknown_if(is_post and maybe_processed, template, fatal)
                if failure is None:
                    if reply.status == 401:
                        if not refreshed:
                            refreshed = True
                            self._forget_token(token)
                            attempt -= 1  # the one allowed re-try does not count
                            continue
                        raise self._unknown_if(
                            is_post and maybe_processed,
                            template,
                            GatewayRejected(
                                _CREDENTIALS_REFUSED,
                                http_status=401,
                                issue=_Problem(reply).issue,
                                debug_id=reply.debug_id,
                            ),
                        )
                    failure = self._transient_status(method, reply, request_id)
                    if failure is None:
                        return reply
                maybe_processed = maybe_processed or (is_post and failure.maybe_processed)
                if attempt >= self.config.max_attempts:
                    raise self._give_up(method, template, attempt, failure, maybe_processed)
                delay = self._backoff(attempt, failure.retry_after)
                if self._clock() + delay >= call_deadline:
                    failure.reason += "; no time left for another attempt"
                    raise self._give_up(method, template, attempt, failure, maybe_processed)
                self._count("retries")
                self.metrics.paypal_retry()
                logger.info(
                    "PayPal %s %s: %s on attempt %d/%d, retrying in %.2fs (debug_id=%s)",
                    method,
                    template,
                    failure.reason,
                    attempt,
                    self.config.max_attempts,
                    delay,
                    failure.debug_id,
                )
                self._sleep(delay)
        finally:
            if body is not None:
                body.data = b""  # drop our reference to the card-bearing bytes
            self.metrics.paypal_call((self._clock() - started) * 1000)

    def _transient_status(
        self, method: str, reply: _Reply, request_id: str | None
    ) -> _Transient | None:
        status = reply.status
        reason = f"HTTP {status}"
        if status == 429 or status == 503:
            # Refused at the door: nothing was processed.
            return _Transient(
                reason,
                maybe_processed=False,
                status=status,
                debug_id=reply.debug_id,
                retry_after=reply.retry_after,
            )
        if status in (500, 502, 504):
            return _Transient(reason, maybe_processed=True, status=status, debug_id=reply.debug_id)
        if status == 409:
            problem = _Problem(reply)
            in_progress = problem.issue == "PREVIOUS_REQUEST_IN_PROGRESS"
            if in_progress or (method == "POST" and request_id is not None):
                return _Transient(
                    f"HTTP 409 {problem.issue or ''}".rstrip(),
                    maybe_processed=True,  # a request with this id is being processed
                    status=status,
                    debug_id=problem.debug_id,
                    retry_after=reply.retry_after,
                )
        return None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        if self._rng is None:
            import random  # only a retry needs it: kept off the cold start

            self._rng = random.Random()
        return self._rng.uniform(0.0, ceiling)  # "full jitter"

    def _give_up(
        self,
        method: str,
        template: str,
        attempts: int,
        failure: _Transient,
        maybe_processed: bool,
    ) -> GatewayError:
        logger.warning(
            "PayPal %s %s failed after %d attempts: %s (debug_id=%s, may_be_processed=%s)",
            method,
            template,
            attempts,
            failure.reason,
            failure.debug_id,
            maybe_processed,
        )
        where = f"{method} {template}"
        if maybe_processed:
            return GatewayOutcomeUnknown(
                f"PayPal did not give a usable answer to {where} after {attempts} attempts "
                f"(last: {failure.reason}); {_MAYBE_PROCESSED}",
                http_status=failure.status,
                debug_id=failure.debug_id,
            )
        return GatewayUnavailable(
            f"PayPal could not be reached for {where} after {attempts} attempts "
            f"(last: {failure.reason}); nothing was processed",
            http_status=failure.status,
            debug_id=failure.debug_id,
        )

    @staticmethod
    def _unknown_if(condition: bool, template: str, error: GatewayError) -> GatewayError:
        if not condition:
            return error
        return GatewayOutcomeUnknown(
            f"POST {template} may have been processed by an earlier attempt, and the call "
            f"then failed ({error.detail}): retry with the same request id",
            http_status=error.http_status,
            issue=error.issue,
            debug_id=error.debug_id,
        )

    def _headers(
        self,
        token: str,
        is_post: bool,
        request_id: str | None,
        extra: Mapping[str, str] | None,
    ) -> dict[str, str]:
        # A new dict per call (the bearer token changes), filled from a prebuilt one.
        headers = {"Authorization": "Bearer " + token}
        headers.update(_POST_HEADERS if is_post else _GET_HEADERS)
        if is_post and request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        if extra:
            headers.update(extra)
        return headers

    # ----------------------------------------------------------------- OAuth token

    def _access_token(self, deadline: float | None = None) -> str:
        """The cached token, or one fetched by a single caller while the others wait for it
        (until their deadline) or, if theirs has not expired yet, keep using theirs."""
        token = self._token
        now = self._clock()
        if token is not None and now < self._token_refresh_at:
            return token
        if deadline is None:
            deadline = now + self.config.timeout
        still_valid = token if token is not None and now < self._token_expires_at else None
        if still_valid is not None:
            if not self._fetch_lock.acquire(False):
                return still_valid  # another caller is refreshing it
        elif not self._fetch_lock.acquire(True, max(deadline - now, 0.0)):
            raise _Transient(
                "token: another caller's token request outlasted the deadline",
                maybe_processed=False,
            )
        try:
            if self._token is not None and self._clock() < self._token_refresh_at:
                return self._token  # fetched by the caller this one waited for
            return self._fetch_token(deadline)
        except (_Transient, GatewayError):
            if still_valid is not None and self._clock() < self._token_expires_at:
                return still_valid  # the refresh failed; the old token has not expired
            raise
        finally:
            self._fetch_lock.release()

    def _forget_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:  # another thread may already hold a newer one
                self._token = None

    def _fetch_token(self, deadline: float) -> str:
        """One token request (the caller's retry loop retries it). Holds _fetch_lock."""
        started = self._clock()
        self._count("token_fetches")
        headers = {
            "Authorization": self._basic,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": _USER_AGENT,
        }
        try:
            reply = self._exchange(
                "POST", _OAUTH2, _Payload(b"grant_type=client_credentials"), headers, deadline
            )
        except _Transient as transient:
            transient.maybe_processed = False  # the API call itself was not sent
            transient.reason = f"token: {transient.reason}"
            raise
        if reply.status in (429, 500, 502, 503, 504):
            raise _Transient(
                f"token: HTTP {reply.status}",
                maybe_processed=False,
                status=reply.status,
                debug_id=reply.debug_id,
                retry_after=reply.retry_after,
            )
        if reply.status in (400, 401, 403):
            raise GatewayRejected(
                _CREDENTIALS_REFUSED,
                http_status=reply.status,
                issue=_Problem(reply).issue,
                debug_id=reply.debug_id,
            )
        document = _json_object(reply.data) if reply.status == 200 else None
        token = _text((document or {}).get("access_token"))
        expires_in = (document or {}).get("expires_in")
        if token is None or isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise GatewayError(
                "PayPal's token answer could not be used",
                http_status=reply.status,
                debug_id=reply.debug_id,
            )
        lifetime = max(float(expires_in), 0.0)
        with self._token_lock:
            self._token = token
            self._token_refresh_at = started + lifetime - min(_TOKEN_MARGIN_CAP, 0.1 * lifetime)
            self._token_expires_at = started + lifetime
        logger.debug("PayPal token fetched, valid for %.0fs", lifetime)
        return token

    # ----------------------------------------------------------------- one HTTP exchange

    def _target(self, path: str, headers: Mapping[str, str]) -> str:
        """The request target; ValueError for a target or field that is not printable ASCII,
        so nothing can inject a line (checked before anything is sent)."""
        target = self._prefix + path
        if not _printable_ascii(target) or " " in target:
            raise ValueError("The request path must be printable ASCII without spaces")
        for name, value in headers.items():
            if not (_printable_ascii(name) and ":" not in name and " " not in name):
                raise ValueError("Invalid header name")
            if not _printable_ascii(value):
                raise ValueError(f"Invalid header value for {name}")  # never the value
        return target

    def _new_connection(self) -> Connection | TLSConnection:
        if self._ssl_context is not None:
            return TLSConnection(self._host, self._port, self._clock, self._ssl_context)
        return Connection(self._host, self._port, self._clock)

    def _exchange(
        self,
        method: str,
        path: str,
        body: _Payload | None,
        headers: Mapping[str, str],
        deadline: float,
    ) -> _Reply:
        """One request/response on a pooled connection, over by ``deadline``.

        Raises _Transient for every failure, with ``maybe_processed`` True once the whole
        request had been handed to the network (a failure while connecting or sending
        leaves PayPal with, at most, an incomplete request). After that point anything at
        all, a parser's or our own, is such a failure: PayPal may have acted on it.
        """
        target = self._target(path, headers)
        self._count("requests")
        conn = self._pool.take()
        sent = False
        error: str | None = None
        bad_certificate = False
        status = 0
        data: bytes | None = None
        retry_after: str | None = None
        debug_id: str | None = None
        try:
            if conn.sock is None:
                conn.deadline = deadline
                conn.connect()
                self._count("connections")
            conn.begin_exchange(deadline)
            conn.request(method, target, body.data if body is not None else None, headers)
            sent = True
            response = conn.getresponse()
            status = response.status
            retry_after = response.getheader("retry-after")
            debug_id = response.getheader("paypal-debug-id")
            if status < 200:
                # http.client skips only 100 Continue: any other interim answer would stand
                # for the final one, which is still on its way.
                error = f"interim HTTP {status} answer"
            elif response.length is not None and response.length > MAX_BODY:
                conn.close()  # not read: the connection cannot be reused
            else:
                data = response.read()
        except ssl.SSLCertVerificationError:
            bad_certificate = True
        except TimeoutError:  # a socket timeout, or the deadline passed
            error = "timeout"
        except Exception as exc:  # noqa: BLE001 - see the docstring
            error = type(exc).__name__
        if bad_certificate or error is not None:
            conn.close()
        self._pool.give_back(conn)
        if bad_certificate:
            raise GatewayUnavailable(
                "PayPal's TLS certificate could not be verified; nothing was sent"
            )
        if error is not None:
            raise _Transient(
                f"{error} while {'waiting for the answer' if sent else 'connecting/sending'}",
                maybe_processed=sent,
            )
        return _Reply(status, data, _retry_after(retry_after), _token(debug_id))
