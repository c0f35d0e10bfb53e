"""PayPal Orders v2 / Payments v2 REST client for the charge path.

Standard library only (http.client + ssl + json): this module is imported by every cold
Lambda that takes a card payment, so it must import fast and bring no third-party code
into PCI scope.

- One persistent connection per client, guarded by a lock, reopened after any error, so
  warm invocations reuse the TLS session. TLS 1.2+ with certificate verification always
  on; plain HTTP only to a loopback host (the local emulator).
- One OAuth token per client life, refreshed shortly before it expires, fetched once more
  on a 401.
- Every POST carries the caller's ``PayPal-Request-Id``; retries (timeouts, dropped
  connections, 429, 409 in progress, 500/502/503/504) reuse it, so PayPal replays its
  first answer instead of charging twice.
- When retries run out, the error says whether a POST may have been processed
  (:class:`~cardline.errors.GatewayOutcomeUnknown`) or provably was not
  (:class:`~cardline.errors.GatewayUnavailable`).

Card data never appears in an exception message, a log line or an exception's chain:
PayPal's ``details[].value`` echoes are never read, request bodies and headers are never
logged, and transport errors are re-raised as fresh exceptions rather than chained (the
original's traceback holds http.client frames whose locals contain the request body).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, urlencode, urlsplit

from cardline.errors import (
    CardlineError,
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    NotFound,
)

if TYPE_CHECKING:
    import random

    from cardline.card import Card
    from cardline.money import Money

__all__ = [
    "DECLINE_KEY",
    "RESPONSE_CODES",
    "RETRYABLE_RESPONSE_CODES",
    "ChargeOutcome",
    "PayPalClient",
    "PayPalConfig",
    "interpret_order",
    "order_id_of",
    "timeout_from_env",
]

logger = logging.getLogger("cardline.paypal")

_OAUTH2 = "/v1/oauth2/token"
_ORDERS = "/v2/checkout/orders"
_ORDER = "/v2/checkout/orders/{id}"
_AUTH_CAPTURE = "/v2/payments/authorizations/{authorization_id}/capture"
_AUTH_VOID = "/v2/payments/authorizations/{authorization_id}/void"
_CAPTURE = "/v2/payments/captures/{capture_id}"
_CAPTURE_REFUND = "/v2/payments/captures/{capture_id}/refund"
_REFUND = "/v2/payments/refunds/{refund_id}"
_TRANSACTIONS = "/v1/reporting/transactions"
_SEARCH_PAGE_SIZE = 500  # the Transaction Search maximum
_SEARCH_MAX_PAGES = 20  # bounds one window's walk: 10,000 transactions

_MAX_BODY = 1 << 20  # PayPal's answers are a few kB; refuse to buffer anything huge
_RETRY_AFTER_CAP = 30.0
_TOKEN_MARGIN_CAP = 300.0  # refresh when < min(5 min, 10 % of expires_in) remain
_MAX_REQUEST_ID = 108  # PayPal-Request-Id maxLength in the OpenAPI documents
_MAX_TEXT = 127  # invoice_id, custom_id, description maxLength
_USER_AGENT = "cardline-paypal/1"

# Key of the dict create_order returns when PayPal refused the card with a 422.
DECLINE_KEY = "cardline_decline"


# --------------------------------------------------------------------------- configuration


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost, without importing ipaddress (import time)."""
    host = host.lower()
    if host in ("localhost", "::1"):
        return True
    parts = host.split(".")
    return (
        len(parts) == 4
        and parts[0] == "127"
        and all(p.isascii() and p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)
    )


@dataclass(frozen=True)
class PayPalConfig:
    """Where PayPal is and how to reach it.

    ``base_url`` must be ``https://``; ``http://`` is accepted only for a loopback host
    (the local sandbox emulator). Anything else raises ValueError.
    """

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    timeout: float = 20.0
    max_attempts: int = 4
    backoff_base: float = 0.25
    backoff_cap: float = 4.0

    SANDBOX_URL: ClassVar[str] = "https://api-m.sandbox.paypal.com"
    LIVE_URL: ClassVar[str] = "https://api-m.paypal.com"

    def __post_init__(self) -> None:
        _parse_base_url(self.base_url)
        if not self.client_id or not self.client_secret:
            raise ValueError("PayPal client id and secret must not be empty")
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must not be negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PayPalConfig | None:
        """Config from PAYPAL_CLIENT_ID / PAYPAL_CLIENT_SECRET, or None if either is unset.

        PAYPAL_TIMEOUT_SECONDS sets the per-attempt timeout (default 20 s).

        PAYPAL_BASE_URL wins when set; otherwise PAYPAL_ENV=live selects the live API and
        anything else empty or "sandbox" the sandbox. Other PAYPAL_ENV values raise
        ValueError rather than silently charging against the wrong environment.
        """
        client_id = environ.get("PAYPAL_CLIENT_ID", "").strip()
        secret = environ.get("PAYPAL_CLIENT_SECRET", "").strip()
        if not client_id or not secret:
            return None
        base_url = environ.get("PAYPAL_BASE_URL", "").strip()
        if not base_url:
            env = environ.get("PAYPAL_ENV", "").strip().lower()
            if env == "live":
                base_url = cls.LIVE_URL
            elif env in ("", "sandbox"):
                base_url = cls.SANDBOX_URL
            else:
                raise ValueError("PAYPAL_ENV must be 'sandbox' or 'live'")
        return cls(
            base_url=base_url,
            client_id=client_id,
            client_secret=secret,
            timeout=timeout_from_env(environ),
        )


def timeout_from_env(environ: Mapping[str, str], default: float = 20.0) -> float:
    """PAYPAL_TIMEOUT_SECONDS (per attempt, connect and read), else ``default``."""
    text = environ.get("PAYPAL_TIMEOUT_SECONDS", "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError("PAYPAL_TIMEOUT_SECONDS must be a number of seconds") from None
    if not 0 < seconds <= 300:
        raise ValueError("PAYPAL_TIMEOUT_SECONDS must be more than 0 and at most 300")
    return seconds


def _parse_base_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path prefix) of a base URL, or ValueError."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("https", "http") or not host:
        raise ValueError("PayPal base_url must be an https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("PayPal base_url must not carry credentials, a query or a fragment")
    if scheme == "http" and not _is_loopback(host):
        raise ValueError("Plain http:// is allowed only to a loopback host; use https://")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ValueError("PayPal base_url has an invalid port") from None
    return scheme, host, port, parts.path.rstrip("/")


def _tls_context() -> ssl.SSLContext:
    """System CAs, hostname checking, certificate verification required, TLS 1.2 minimum."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class ChargeOutcome:
    """What a card payment came to, in terms the agent and the ledger can use."""

    status: Literal["approved", "declined", "failed", "pending"]
    order_id: str | None = None
    capture_id: str | None = None
    authorization_id: str | None = None
    response_code: str | None = None
    decline_reason: str | None = None
    message: str | None = None
    retryable: bool = False
    brand: str | None = None
    last_digits: str | None = None
    custom_id: str | None = None
    amount: str | None = None
    currency: str | None = None


_GENERIC = "The card issuer declined the payment. Ask the caller to use another card."
_CONTACT_BANK = (
    "The card issuer declined the payment. Ask the caller to contact their bank or use "
    "another card."
)
_NO_RETRY = "The card issuer declined the payment. Do not try this card again; ask for another."
_CHECK_CVV = "The security code did not match. Check it with the caller and try again."
_MERCHANT = "The merchant account cannot take this payment. Contact support."
_TRY_LATER = "The card network had a problem and the payment did not go through. Try again later."

# processor_response.response_code -> (reason, sentence for the agent). The OpenAPI
# documents list the codes without descriptions; the reasons are PayPal's documented
# names for them. Fraud and lost/stolen read as a plain decline on purpose: the agent
# must not tell the caller why.
RESPONSE_CODES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "0000": ("APPROVED", "The payment was approved."),
        "00N7": ("CVV2_FAILURE", _CHECK_CVV),
        "0100": ("REFERRAL", "The issuer asks the cardholder to call them before paying."),
        "0390": ("ACCOUNT_NOT_FOUND", "The card account was not found. Ask for another card."),
        "0500": ("DO_NOT_HONOR", _CONTACT_BANK),
        "0580": ("UNAUTHORIZED_TRANSACTION", "The issuer does not allow this payment on the card."),
        "0800": ("BAD_RESPONSE_REVERSAL_REQUIRED", _TRY_LATER),
        "0880": ("CRYPTOGRAPHIC_FAILURE", _TRY_LATER),
        "0890": ("UNACCEPTABLE_PIN", _GENERIC),
        "0960": ("SYSTEM_MALFUNCTION", _TRY_LATER),
        "0R00": ("CANCELLED_PAYMENT", "The payment was cancelled."),
        "1000": ("PARTIAL_AUTHORIZATION", "The issuer approved only part of the amount."),
        "10BR": ("ISSUER_REJECTED", _CONTACT_BANK),
        "1300": ("INVALID_DATA_FORMAT", "The issuer could not read the card details."),
        "1310": ("INVALID_AMOUNT", "The issuer did not accept the amount."),
        "1312": ("INVALID_TRANSACTION_CARD_ISSUER_ACQUIRER", _GENERIC),
        "1317": ("INVALID_CAPTURE_DATE", "The capture date was refused."),
        "1320": ("INVALID_CURRENCY_CODE", "The issuer does not accept this currency."),
        "1330": (
            "INVALID_ACCOUNT",
            "The card account is not valid. Check the number or ask for another card.",
        ),
        "1335": ("INVALID_ACCOUNT_RECURRING", _GENERIC),
        "1340": ("INVALID_TERMINAL", _MERCHANT),
        "1350": ("INVALID_MERCHANT", _MERCHANT),
        "1352": (
            "RESTRICTED_OR_INACTIVE_ACCOUNT",
            "The card account is restricted or inactive. Ask for another card.",
        ),
        "1360": ("BAD_PROCESSING_CODE", _TRY_LATER),
        "1370": ("INVALID_MCC", _MERCHANT),
        "1380": ("INVALID_EXPIRATION", "The expiry date was refused. Check it with the caller."),
        "1382": ("INVALID_CARD_VERIFICATION_VALUE", _CHECK_CVV),
        "1384": ("INVALID_LIFE_CYCLE_OF_TRANSACTION", _TRY_LATER),
        "1390": ("INVALID_ORDER", "PayPal refused the order. Contact support."),
        "1393": ("TRANSACTION_CANNOT_BE_COMPLETED", _CONTACT_BANK),
        "5100": ("GENERIC_DECLINE", _CONTACT_BANK),
        "5110": ("CVV2_FAILURE", _CHECK_CVV),
        "5120": ("INSUFFICIENT_FUNDS", "The card has insufficient funds."),
        "5130": ("INVALID_PIN", _GENERIC),
        "5135": ("DECLINED_PIN_TRY_EXCEEDED", _GENERIC),
        "5140": ("CARD_CLOSED", "The card account is closed. Ask for another card."),
        "5150": ("PICKUP_CARD_SPECIAL_CONDITIONS", _NO_RETRY),
        "5160": ("UNAUTHORIZED_USER", _CONTACT_BANK),
        "5170": ("AVS_FAILURE", "The billing address did not match the card."),
        "5180": ("INVALID_OR_RESTRICTED_CARD", _NO_RETRY),
        "5190": ("SOFT_AVS", "The billing address could not be verified."),
        "5200": (
            "DUPLICATE_TRANSACTION",
            "The issuer saw a duplicate of a recent payment. Check for it before trying again.",
        ),
        "5210": ("INVALID_TRANSACTION", _CONTACT_BANK),
        "5400": ("EXPIRED_CARD", "The card has expired. Ask for another card."),
        "5500": ("INCORRECT_PIN_REENTER", _GENERIC),
        "5650": (
            "DECLINED_SCA_REQUIRED",
            "The issuer requires 3-D Secure, impossible on a phone call. Ask for another card.",
        ),
        "5700": (
            "TRANSACTION_NOT_PERMITTED",
            "The issuer does not permit this payment on the card. Ask for another card.",
        ),
        "5710": (
            "TX_ATTEMPTS_EXCEED_LIMIT",
            "Too many attempts on this card. Ask for another card.",
        ),
        "5800": ("REVERSAL_REJECTED", _TRY_LATER),
        "5900": ("INVALID_ISSUE", _CONTACT_BANK),
        "5910": (
            "ISSUER_NOT_AVAILABLE_NOT_RETRIABLE",
            "The card issuer could not be reached. Ask for another card.",
        ),
        "5920": (
            "ISSUER_NOT_AVAILABLE_RETRIABLE",
            "The card issuer could not be reached. Try again in a moment.",
        ),
        "5930": (
            "CARD_NOT_ACTIVATED",
            "The card is not activated. Ask the caller to activate it or use another card.",
        ),
        "5950": (
            "DECLINED_DUE_TO_UPDATED_ACCOUNT",
            "The issuer has replaced this card. Ask for the new card's details.",
        ),
        "6300": ("ACCOUNT_NOT_ON_FILE", _GENERIC),
        "7600": (
            "APPROVED_NON_CAPTURE",
            "The issuer approved the card but the payment was not captured.",
        ),
        "7700": (
            "ERROR_3DS",
            "3-D Secure failed; a caller on the phone cannot complete it. Ask for another card.",
        ),
        "7710": ("AUTHENTICATION_FAILED", "Card authentication failed. Ask for another card."),
        "7800": ("BIN_ERROR", _GENERIC),
        "7900": ("PIN_ERROR", _GENERIC),
        "8000": ("PROCESSOR_SYSTEM_ERROR", _TRY_LATER),
        "8010": ("HOST_KEY_ERROR", _TRY_LATER),
        "8020": ("CONFIGURATION_ERROR", _MERCHANT),
        "8030": ("UNSUPPORTED_OPERATION", _MERCHANT),
        "8100": ("FATAL_COMMUNICATION_ERROR", _TRY_LATER),
        "8110": (
            "RETRIABLE_COMMUNICATION_ERROR",
            "The card network could not be reached. Try again in a moment.",
        ),
        "8220": ("SYSTEM_UNAVAILABLE", _TRY_LATER),
        "9100": ("DECLINED_PLEASE_RETRY", "The issuer declined for now. Try again in a moment."),
        "9500": ("SUSPECTED_FRAUD", _NO_RETRY),
        "9510": ("SECURITY_VIOLATION", _NO_RETRY),
        "9520": ("LOST_OR_STOLEN", _NO_RETRY),
        "9530": ("HOLD_CALL_CENTER", "The issuer asks the cardholder to call them."),
        "9540": ("REFUSED_CARD", "The card was refused. Ask for another card."),
        "9600": ("UNRECOGNIZED_RESPONSE_CODE", _TRY_LATER),
        "PCNR": ("CONTINGENCIES_NOT_RESOLVED", _GENERIC),
        "PCVV": ("CVV_FAILURE", _CHECK_CVV),
        "PP06": ("ACCOUNT_CLOSED", "The card account is closed. Ask for another card."),
        "PPRN": ("REATTEMPT_NOT_PERMITTED", _NO_RETRY),
        "PPAD": ("BILLING_ADDRESS", "The billing address was refused."),
        "PPAE": (
            "AMEX_DISABLED",
            "American Express is not enabled for this merchant. Ask for another card.",
        ),
        "PPAX": ("AMOUNT_EXCEEDED", "The amount is over the limit for this card or merchant."),
        "PPCT": ("CARD_TYPE_UNSUPPORTED", "This card type is not accepted. Ask for another card."),
        "PPCU": ("CURRENCY_USED_INVALID", "This currency is not accepted for the card."),
        "PPD3": (
            "SECURE_ERROR_3DS",
            "3-D Secure failed; a caller on the phone cannot complete it. Ask for another card.",
        ),
        "PPDT": (
            "DECLINE_THRESHOLD_BREACH",
            "Too many declines on this card. Ask for another card.",
        ),
        "PPEF": ("EXPIRED_FUNDING_INSTRUMENT", "The card has expired. Ask for another card."),
        "PPEL": (
            "EXCEEDS_FREQUENCY_LIMIT",
            "Too many payments on this card in a short time. Try later or use another card.",
        ),
        "PPER": ("INTERNAL_SYSTEM_ERROR", _TRY_LATER),
        "PPEX": ("EXPIRY_DATE", "The expiry date was refused. Check it with the caller."),
        "PPFI": ("INVALID_FUNDING_INSTRUMENT", _GENERIC),
        "PPFR": ("RESTRICTED_FUNDING_INSTRUMENT", _GENERIC),
        "PPMC": ("BLOCKED_MASTERCARD", _GENERIC),
        "PPNL": (
            "EXCEEDS_NETWORK_FREQUENCY_LIMIT",
            "Too many payments on this card in a short time. Try later or use another card.",
        ),
        "PPNT": ("NETWORK_ERROR", _TRY_LATER),
        "PPSE": ("AMEX_DENIED", _GENERIC),
        "PPVT": ("VIRTUAL_TERMINAL_UNSUPPORTED", _MERCHANT),
    }
)

RETRYABLE_RESPONSE_CODES: frozenset[str] = frozenset({"9100", "5920", "8110"})
# Payment advice codes from the card networks that forbid another attempt.
_NO_RETRY_ADVICE = frozenset({"03", "21"})

_THREE_DS = (
    "The card issuer asked for 3-D Secure verification, which a caller on the phone "
    "cannot complete. Ask for another card."
)

# 422 issues on order create that are about the card: answered as an outcome, not raised.
_CARD_ISSUES: Mapping[str, tuple[Literal["declined", "failed"], str]] = MappingProxyType(
    {
        "INSTRUMENT_DECLINED": ("declined", "The card was declined. Ask for another card."),
        "CARD_EXPIRED": ("declined", "The card has expired. Ask for another card."),
        "INVALID_EXPIRY_DATE": (
            "declined",
            "The expiry date is not valid. Check it with the caller.",
        ),
        "INVALID_SECURITY_CODE_LENGTH": (
            "declined",
            "The security code has the wrong length for this card.",
        ),
        "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR": (
            "declined",
            "The card was declined by the processor. Ask for another card.",
        ),
        "PAYMENT_SOURCE_INFO_CANNOT_BE_VERIFIED": (
            "declined",
            "The card details could not be verified. Check them or ask for another card.",
        ),
        "TRANSACTION_REFUSED": ("declined", "The payment was refused. Ask for another card."),
        "CARD_BRAND_NOT_SUPPORTED": (
            "declined",
            "This card brand is not accepted. Ask for another card.",
        ),
        "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": (
            "declined",
            "Too many attempts with this card. Ask for another card.",
        ),
        "NOT_ENABLED_FOR_CARD_PROCESSING": (
            "failed",
            "The merchant's PayPal account is not enabled for card payments. Contact support.",
        ),
        "PAYER_ACTION_REQUIRED": ("failed", _THREE_DS),
    }
)

# Human sentences for PayPal issues raised as GatewayRejected (mostly Payments v2).
_ISSUE_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "DUPLICATE_INVOICE_ID": "PayPal already has a payment with this invoice id.",
        "AUTHORIZATION_EXPIRED": "The authorization has expired and can no longer be captured.",
        "AUTHORIZATION_ALREADY_CAPTURED": "The authorization has already been captured.",
        "PREVIOUSLY_CAPTURED": "The authorization has already been captured.",
        "PREVIOUSLY_VOIDED": "The authorization has already been voided.",
        "AUTHORIZATION_VOIDED": "The authorization has been voided.",
        "REFUND_AMOUNT_EXCEEDED": "The refund is more than what is left of the payment.",
        "CAPTURE_FULLY_REFUNDED": "The payment has already been fully refunded.",
        "PENDING_CAPTURE": "The payment is still pending and cannot be refunded yet.",
        "REFUND_TIME_LIMIT_EXCEEDED": "The payment is too old to be refunded through PayPal.",
        "PAYPAL_REQUEST_ID_REQUIRED": "PayPal requires a PayPal-Request-Id for this call.",
        "PERMISSION_DENIED": "The PayPal account is not permitted to make this call.",
    }
)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(value: object) -> dict[str, Any]:
    return _dict(value[0]) if isinstance(value, list) and value else {}


def order_id_of(info: Mapping[str, Any]) -> str | None:
    """The order id a Transaction Search ``transaction_info`` names, if it names one."""
    if info.get("paypal_reference_id_type") == "ODR":
        return _text(info.get("paypal_reference_id"))
    return None


def interpret_order(order: Mapping[str, Any]) -> ChargeOutcome:
    """The outcome of a single-step order, from its first capture or authorization.

    An order can be ``COMPLETED`` and still be a decline: what counts is
    ``purchase_units[0].payments.captures[0].status`` (or ``authorizations[0]``) and its
    ``processor_response``. Also accepts the dict :meth:`PayPalClient.create_order`
    returns when PayPal refused the card outright (HTTP 422).
    """
    unit = _first(order.get("purchase_units"))
    payments = _dict(unit.get("payments"))
    capture = _first(payments.get("captures"))
    authorization = _first(payments.get("authorizations")) if not capture else {}
    payment = capture or authorization
    card = _dict(_dict(order.get("payment_source")).get("card"))
    amount = _dict(payment.get("amount")) or _dict(unit.get("amount"))
    base: dict[str, Any] = {
        "order_id": _text(order.get("id")),
        "capture_id": _text(capture.get("id")),
        "authorization_id": _text(authorization.get("id")),
        "brand": _text(card.get("brand")),
        "last_digits": _text(card.get("last_digits")),
        "custom_id": _text(payment.get("custom_id")) or _text(unit.get("custom_id")),
        "amount": _text(amount.get("value")),
        "currency": _text(amount.get("currency_code")),
    }

    decline = _dict(order.get(DECLINE_KEY))
    if decline:
        issue = _text(decline.get("issue")) or "UNPROCESSABLE_ENTITY"
        status, message = _CARD_ISSUES.get(issue, ("declined", _GENERIC))
        return ChargeOutcome(status=status, decline_reason=issue, message=message, **base)

    if order.get("status") == "PAYER_ACTION_REQUIRED":
        return ChargeOutcome(
            status="failed", decline_reason="PAYER_ACTION_REQUIRED", message=_THREE_DS, **base
        )

    if not payment:
        if order.get("status") == "COMPLETED":
            # Only possible with a minimal representation: the state must be read back.
            return ChargeOutcome(
                status="pending",
                message="PayPal reported the order complete without payment details; "
                "read the order back to confirm.",
                **base,
            )
        return ChargeOutcome(
            status="failed",
            message="PayPal did not take the payment: the order has no capture or authorization.",
            **base,
        )

    state = payment.get("status")
    processor = _dict(payment.get("processor_response"))
    code = _text(processor.get("response_code"))
    reason = _text(_dict(payment.get("status_details")).get("reason"))

    approved = (
        ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
        if capture
        else ("CREATED", "CAPTURED", "PARTIALLY_CAPTURED")
    )
    if state in approved:
        return ChargeOutcome(
            status="approved", response_code=code, message="The payment was approved.", **base
        )
    if state == "PENDING":
        why = f" ({reason})" if reason else ""
        return ChargeOutcome(
            status="pending",
            response_code=code,
            decline_reason=reason,
            message=f"PayPal is holding the payment{why}; it is not confirmed yet.",
            **base,
        )
    if state in ("DECLINED", "FAILED", "DENIED"):
        if code is None:
            return ChargeOutcome(
                status="failed",
                decline_reason=_text(state),
                message="PayPal did not complete the payment and gave no reason.",
                **base,
            )
        known = RESPONSE_CODES.get(code)
        advice = _text(processor.get("payment_advice_code"))
        return ChargeOutcome(
            status="declined",
            response_code=code,
            decline_reason=known[0] if known else None,
            message=known[1] if known else f"The card issuer declined the payment (code {code}).",
            retryable=code in RETRYABLE_RESPONSE_CODES and advice not in _NO_RETRY_ADVICE,
            **base,
        )
    return ChargeOutcome(
        status="failed",
        decline_reason=_text(state),
        message="PayPal answered with a payment state this service does not expect.",
        **base,
    )


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
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
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


def _read_bounded(response: http.client.HTTPResponse) -> bytes | None:
    """The answer's body, or None past _MAX_BODY. With a Content-Length (already checked
    against the limit) one read; chunked answers in pieces, since read(n) allocates n."""
    if response.length is not None:
        return response.read()
    pieces: list[bytes] = []
    total = 0
    while piece := response.read(1 << 16):
        total += len(piece)
        if total > _MAX_BODY:
            return None
        pieces.append(piece)
    return b"".join(pieces)


def _peer_closed(sock: socket.socket) -> bool:
    """True when an idle kept-alive socket is readable: the server closed it (or sent junk)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _check_header_value(name: str, value: str, max_len: int) -> None:
    if not 0 < len(value) <= max_len or not all(" " <= c <= "~" for c in value):
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
    return _Payload(json.dumps(document, separators=(",", ":")).encode("utf-8"))


def _order_payload(
    money: Money,
    card: Card,
    intent: str,
    invoice_id: str | None,
    custom_id: str | None,
    description: str | None,
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
            "payment_source": {"card": card.paypal_card()},
        }
    )


# --------------------------------------------------------------------------- the client


class PayPalClient:
    """A small, thread-safe PayPal REST client holding one connection and one token.

    ``sleep`` and ``clock`` are injectable so tests run without waiting; ``rng`` (a
    ``random.Random``) makes the backoff jitter reproducible. ``stats`` counts HTTP
    ``requests`` (token requests included), ``token_fetches``, ``retries`` and TCP
    ``connections`` opened.
    """

    def __init__(
        self,
        config: PayPalConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._scheme, self._host, self._port, self._prefix = _parse_base_url(config.base_url)
        self._ssl_context = _tls_context() if self._scheme == "https" else None
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._basic = "Basic " + base64.b64encode(
            f"{config.client_id}:{config.client_secret}".encode()
        ).decode("ascii")
        self._conn: http.client.HTTPConnection | None = None
        self._conn_lock = threading.Lock()
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_refresh_at = 0.0
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
    ) -> dict[str, Any]:
        """Charge (or authorize) the card in one round trip: ``POST /v2/checkout/orders``.

        Returns PayPal's order (full representation); read it with :func:`interpret_order`.
        When PayPal refuses the card itself (HTTP 422 with a card issue such as
        ``INSTRUMENT_DECLINED``, or 3-D Secure required), no order exists: the answer is
        then ``{"cardline_decline": {"issue", "http_status", "debug_id"}, ...}`` with the
        masked card, amount and ``custom_id`` we sent, which :func:`interpret_order` turns
        into a declined or failed outcome with ``order_id`` None.

        Raises GatewayRejected, GatewayUnavailable (nothing charged) or
        GatewayOutcomeUnknown (may be charged: retry with the same ``request_id``).
        """
        if intent not in ("CAPTURE", "AUTHORIZE"):
            raise ValueError("intent must be CAPTURE or AUTHORIZE")
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
            body=_order_payload(money, card, intent, invoice_id, custom_id, description),
            request_id=request_id,
            extra_headers=extra,
        )
        if reply.status == 422:
            problem = _Problem(reply)
            if problem.issue in _CARD_ISSUES:
                return self._refused_card(problem, money, card, custom_id)
        return self._result("POST", _ORDERS, reply, resource="order")

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
        """Close the kept-alive connection (it reopens on the next call)."""
        with self._conn_lock:
            if self._conn is not None:
                self._conn.close()

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

    def _refused_card(
        self, problem: _Problem, money: Money, card: Card, custom_id: str | None
    ) -> dict[str, Any]:
        unit: dict[str, Any] = {"amount": _money(money)}
        if custom_id is not None:
            unit["custom_id"] = custom_id
        logger.info(
            "PayPal refused the card: issue=%s debug_id=%s", problem.issue, problem.debug_id
        )
        return {
            DECLINE_KEY: {"issue": problem.issue, "http_status": 422, "debug_id": problem.debug_id},
            "payment_source": {"card": {"brand": str(card.brand), "last_digits": str(card.last4)}},
            "purchase_units": [unit],
        }

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
                    f"PayPal's answer to POST {template} could not be read; the request may "
                    "have been processed: retry with the same request id",
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
            sentence = _ISSUE_MESSAGES.get(problem.issue or "")
            detail = f"PayPal refused {method} {template} ({label})"
            if sentence:
                detail = f"{detail}: {sentence}"
            return GatewayRejected(detail, **kwargs)
        if status >= 500 and method == "POST":
            return GatewayOutcomeUnknown(
                f"PayPal failed on POST {template} ({label}); the request may have been "
                "processed: retry with the same request id",
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
        try:
            while True:
                attempt += 1
                failure: _Transient | None = None
                fatal: GatewayError | None = None
                try:
                    token = self._access_token()
                    headers = self._headers(token, is_post, request_id, extra_headers)
                    reply = self._exchange(method, path, body, headers)
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
                                "PayPal credentials were refused",
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
                with self._conn_lock:
                    self.stats["retries"] += 1
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
                f"(last: {failure.reason}); the request may have been processed: retry with "
                "the same request id",
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
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if is_post:
            headers["Content-Type"] = "application/json"
            headers["Prefer"] = "return=representation"
            if request_id is not None:
                headers["PayPal-Request-Id"] = request_id
        if extra:
            headers.update(extra)
        return headers

    # ----------------------------------------------------------------- OAuth token

    def _access_token(self) -> str:
        with self._token_lock:
            if self._token is not None and self._clock() < self._token_refresh_at:
                return self._token
            return self._fetch_token()

    def _forget_token(self, token: str) -> None:
        with self._token_lock:
            if self._token == token:  # another thread may already hold a newer one
                self._token = None

    def _fetch_token(self) -> str:
        """One token request (the caller's retry loop retries it). Holds _token_lock."""
        started = self._clock()
        self.stats["token_fetches"] += 1
        headers = {
            "Authorization": self._basic,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": _USER_AGENT,
        }
        try:
            reply = self._exchange(
                "POST", _OAUTH2, _Payload(b"grant_type=client_credentials"), headers
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
                "PayPal credentials were refused",
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
        self._token = token
        self._token_refresh_at = started + lifetime - min(_TOKEN_MARGIN_CAP, 0.1 * lifetime)
        logger.debug("PayPal token fetched, valid for %.0fs", lifetime)
        return token

    # ----------------------------------------------------------------- one HTTP exchange

    def _new_connection(self) -> http.client.HTTPConnection:
        if self._ssl_context is not None:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.config.timeout, context=self._ssl_context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.config.timeout)

    def _exchange(
        self, method: str, path: str, body: _Payload | None, headers: Mapping[str, str]
    ) -> _Reply:
        """One request/response on the kept-alive connection.

        Raises _Transient for transport failures, with ``maybe_processed`` True only when
        the whole request had been handed to the network (a failure while connecting or
        sending leaves PayPal with, at most, an incomplete request).
        """
        with self._conn_lock:
            self.stats["requests"] += 1
            if self._conn is None:
                self._conn = self._new_connection()
            conn = self._conn
            if conn.sock is not None and _peer_closed(conn.sock):
                conn.close()  # the server dropped the idle connection: reconnect first
            sent = False
            error: str | None = None
            bad_certificate = False
            status = 0
            data: bytes | None = None
            retry_after: str | None = None
            debug_id: str | None = None
            try:
                if conn.sock is None:
                    conn.connect()
                    # http.client sends headers and body in two writes: without this the
                    # body can wait for the server's delayed ACK (tens of milliseconds).
                    if conn.sock is not None:
                        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.stats["connections"] += 1
                conn.request(
                    method,
                    self._prefix + path,
                    body=body.data if body is not None else None,
                    headers=dict(headers),
                )
                sent = True
                response = conn.getresponse()
                status = response.status
                retry_after = response.getheader("Retry-After")
                debug_id = response.getheader("Paypal-Debug-Id")
                if response.length is not None and response.length > _MAX_BODY:
                    conn.close()
                else:
                    data = _read_bounded(response)
                    if data is None or not response.isclosed():
                        data = None
                        conn.close()
            except ssl.SSLCertVerificationError:
                bad_certificate = True
            except TimeoutError:
                error = "timeout"
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
            if bad_certificate:
                conn.close()
                raise GatewayUnavailable(
                    "PayPal's TLS certificate could not be verified; nothing was sent"
                )
            if error is not None:
                conn.close()
                raise _Transient(
                    f"{error} while {'waiting for the answer' if sent else 'connecting/sending'}",
                    maybe_processed=sent,
                )
        return _Reply(status, data, _retry_after(retry_after), _token(debug_id))
