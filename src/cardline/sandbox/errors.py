"""PayPal's error answers: the exception the emulator raises and the body it renders.

Descriptions are copied verbatim from the official OpenAPI documents, because the
response schemas pin each issue's ``description`` to one exact sentence. An issue the
emulator has no sentence for is sent without a description (the field is optional).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from cardline.cde import ids

# status -> (name, message), as the ``error_4xx``/``error_5xx`` schemas spell them.
STATUS_NAMES: Mapping[int, tuple[str, str]] = {
    400: (
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
    ),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication "
        "credentials.",
    ),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    405: ("METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method."),
    409: ("RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."),
    413: ("PAYLOAD_TOO_LARGE", "The request payload is too large."),
    415: (
        "UNSUPPORTED_MEDIA_TYPE",
        "The server does not support the request payload's media type.",
    ),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed "
        "business validation.",
    ),
    429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error occurred."),
    502: ("BAD_GATEWAY", "The server received an invalid response from an upstream server."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
    504: ("GATEWAY_TIMEOUT", "The upstream server did not respond in time."),
}

# Issues the emulator raises (or is likely to be asked to mock), by API. Orders v2.13's
# create-order 422 list lacks CARD_BRAND_NOT_SUPPORTED and PAYER_ACTION_REQUIRED; their
# sentences come from the capture-order list, which a single-step create also performs.
_ORDERS: Mapping[str, tuple[int, str]] = {
    "MALFORMED_REQUEST_JSON": (400, "The request JSON is not well formed."),
    "MISSING_REQUIRED_PARAMETER": (400, "A required parameter is missing."),
    "INVALID_PARAMETER_VALUE": (400, "A parameter value is not valid."),
    "INVALID_PARAMETER_SYNTAX": (
        400,
        "The value of a field does not conform to the expected format.",
    ),
    "INVALID_STRING_LENGTH": (400, "The value of a field is either too short or too long"),
    "INVALID_ARRAY_MAX_ITEMS": (400, "The number of items in an array parameter is too large."),
    "INVALID_ARRAY_MIN_ITEMS": (400, "The number of items in an array parameter is too small."),
    "NOT_SUPPORTED": (400, "This field is not currently supported."),
    "PAYPAL_REQUEST_ID_REQUIRED": (
        400,
        "A PayPal-Request-Id is required if you are trying to process payment for an Order. "
        "Please specify a PayPal-Request-Id or Create the Order without a 'payment_source' "
        "specified.",
    ),
    "CARD_EXPIRED": (422, "The card is expired"),
    "INVALID_EXPIRY_DATE": (
        422,
        "Expiry date is invalid. Expiry date should be a date in future and within the "
        "threshold for the payment source.",
    ),
    "INVALID_SECURITY_CODE_LENGTH": (
        422,
        "The security_code length is invalid for the specified card brand.",
    ),
    "CANNOT_BE_ZERO_OR_NEGATIVE": (
        422,
        "Must be greater than zero. If the currency supports decimals, only two decimal place "
        "precision is supported.",
    ),
    "DECIMAL_PRECISION": (
        422,
        "If the currency supports decimals, only two decimal place precision is supported.",
    ),
    "INVALID_CURRENCY_CODE": (
        422,
        "Currency code is invalid or is not currently supported. Please refer "
        "https://developer.paypal.com/api/rest/reference/currency-codes/ for list of supported "
        "currency codes.",
    ),
    "MERCHANT_INITIATED_WITH_SECURITY_CODE": (
        422,
        "`stored_payment_source.payment_initiator` = `MERCHANT` is not supported if "
        "`payment_source.card.security_code` is present in the order. `security_code` can be "
        "present in the order only when customer is the payment initiator. It is semantically "
        "incorrect to perform a merchant initiated payment with `security_code` is the order.",
    ),
    "INSTRUMENT_DECLINED": (
        422,
        "The instrument presented  was either declined by the processor or bank, or it can't "
        "be used for this payment.",
    ),
    "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR": (
        422,
        "The provided payment source is declined by the processor. Please try again with a "
        "different payment source by creating a new order.",
    ),
    "PAYMENT_SOURCE_INFO_CANNOT_BE_VERIFIED": (
        422,
        "The combination of the payment_source name, billing address, shipping name and "
        "shipping address could not be verified. Please correct this information and try "
        "again by creating a new order.",
    ),
    "PAYMENT_SOURCE_CANNOT_BE_USED": (
        422,
        "The provided payment source cannot be used to pay for the order. Please try again "
        "with a different payment source by creating a new order.",
    ),
    "NOT_ENABLED_FOR_CARD_PROCESSING": (
        422,
        "The API Caller account is not setup to be able to process card payments. Please "
        "contact PayPal customer support.",
    ),
    "DUPLICATE_INVOICE_ID": (
        422,
        "Duplicate Invoice ID detected. To avoid a potential duplicate transaction your "
        "account setting requires that Invoice Id be unique for each transaction.",
    ),
    "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": (
        422,
        "You have exceeded the maximum number of payment attempts.",
    ),
    "TRANSACTION_REFUSED": (422, "The request was refused."),
    "TRANSACTION_LIMIT_EXCEEDED": (422, "Total payment amount exceeded transaction limit."),
    "PAYER_CANNOT_PAY": (
        422,
        "Combination of payer and payee settings mean that this buyer cannot pay this seller.",
    ),
    "COMPLIANCE_VIOLATION": (422, "Transaction is declined due to compliance violation."),
    "CARD_BRAND_NOT_SUPPORTED": (
        422,
        "Processing of this card brand is not supported. Please use another card to continue "
        "with this transaction.",
    ),
    "PAYER_ACTION_REQUIRED": (
        422,
        "Transaction cannot complete successfully, instruct the buyer to return to PayPal.",
    ),
    "ORDER_ALREADY_CAPTURED": (
        422,
        "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
    ),
    "ORDER_ALREADY_AUTHORIZED": (
        422,
        "Order already authorized.If 'intent=AUTHORIZE' only one authorization per order is "
        "allowed.",
    ),
    "ORDER_NOT_APPROVED": (
        422,
        "Payer has not yet approved the Order for payment. Please redirect the payer to the "
        "'rel':'approve' url returned as part of the HATEOAS links within the Create Order call "
        "or provide a valid `payment_source` in the request.",
    ),
    "ACTION_DOES_NOT_MATCH_INTENT": (
        422,
        "Order was created with an intent to 'CAPTURE'. Please use "
        "v2/checkout/orders/order_id/capture to complete the transaction or alternately Create "
        "an order with an intent of 'AUTHORIZE'.",
    ),
    "INVALID_RESOURCE_ID": (
        404,
        "Specified resource ID does not exist. Please check the resource ID and try again.",
    ),
    "PREVIOUS_REQUEST_IN_PROGRESS": (
        409,
        "A previous request on this resource is currently in progress. Please wait for "
        "sometime and try again. It is best to space out the initial and the subsequent "
        "request(s) to avoid receiving this error.",
    ),
}

_PAYMENTS: Mapping[str, tuple[int, str]] = {
    "MISSING_REQUIRED_PARAMETER": (400, "A required field / parameter is missing."),
    "INVALID_PARAMETER_VALUE": (400, "The value of a field is invalid."),
    "INVALID_PARAMETER_SYNTAX": (
        400,
        "The value of a field does not conform to the expected format.",
    ),
    "INVALID_STRING_LENGTH": (400, "The value of a field is either too short or too long."),
    "INVALID_CURRENCY_CODE": (
        422,
        "Currency code is invalid or is not currently supported. Please refer "
        "https://developer.paypal.com/docs/api/reference/currency-codes/ for list of supported "
        "currency codes.",
    ),
    "CANNOT_BE_ZERO_OR_NEGATIVE": _ORDERS["CANNOT_BE_ZERO_OR_NEGATIVE"],
    "DECIMAL_PRECISION": _ORDERS["DECIMAL_PRECISION"],
    "DECIMALS_NOT_SUPPORTED": (
        422,
        "Currency does not support decimals. Please refer to "
        "https://developer.paypal.com/docs/api/reference/currency-codes/ for more information.",
    ),
    "TRANSACTION_REFUSED": (
        422,
        "PayPal's internal controls prevent authorization from being captured.",
    ),
    "AUTHORIZATION_VOIDED": (422, "A voided authorization cannot be captured or reauthorized. "),
    "AUTHORIZATION_DENIED": (422, "An denied authorization cannot be captured."),
    "AUTHORIZATION_EXPIRED": (422, "An expired authorization cannot be captured."),
    "AUTHORIZATION_ALREADY_CAPTURED": (422, "Authorization has previously been captured."),
    "AUTH_CURRENCY_MISMATCH": (
        422,
        "The currency specified during reauthorization should be the same as the currency "
        "specified in the original authorization. Please check the currency of the "
        "authorization for which you are trying to reauthorize and try again.",
    ),
    "REAUTHORIZATION_NOT_SUPPORTED": (
        422,
        "A reauthorize cannot be attempted on an authorization_id that is the result of a "
        "prior reauthorization or on an authorization made on an Order saved using the "
        "`v2/orders/id/save` API.",
    ),
    # Not in Payments v2.5's document: the live sandbox's answer inside the honour period.
    "REAUTHORIZATION_TOO_SOON": (
        422,
        "A reauthorization is only allowed once from Day 4 to Day 29 since the date of the "
        "original authorization.",
    ),
    # Orders v2's words for an authorization above its limit (Payments v2.5 lists none).
    "AUTHORIZATION_AMOUNT_EXCEEDED": (
        422,
        "Authorization amount specified exceeded allowable limit. Specify a different amount "
        "and try the request again. Alternately, contact Customer Support to increase your "
        "limits. Local regulations (e.g. in PSD2 countries) prohibit overages above the amount "
        "authorized by the payer.",
    ),
    "MAX_CAPTURE_AMOUNT_EXCEEDED": (
        422,
        "Capture amount exceeds allowable limit. Please contact customer service or your "
        "account manager to request the change to your overage limit. The default overage "
        "limit is 115%, which allows the sum of all captures to be up to 115% of the order "
        "amount. The ability to over capture is subjected to regulatory approvals.",
    ),
    "AUTH_CAPTURE_CURRENCY_MISMATCH": (
        422,
        "Currency of capture must be the same as currency of authorization.",
    ),
    "DUPLICATE_INVOICE_ID": (
        422,
        "Requested invoice_id has been previously captured. Possible duplicate transaction.",
    ),
    "PAYER_CANNOT_PAY": (
        422,
        "Payer cannot pay for this transaction. Please contact the payer to find other ways "
        "to pay for this transaction.",
    ),
    "PREVIOUSLY_CAPTURED": (
        422,
        "Authorization has been previously captured and hence cannot be voided.",
    ),
    "PREVIOUSLY_VOIDED": (
        422,
        "Authorization has been previously voided and hence cannot be voided again.",
    ),
    "CANNOT_BE_VOIDED": (
        422,
        "A reauthorization cannot be voided. Please void the original parent authorization.",
    ),
    "CAPTURE_FULLY_REFUNDED": (422, "The capture has already been fully refunded"),
    "REFUND_CAPTURE_CURRENCY_MISMATCH": (422, "Refund must be in the same currency as the capture"),
    "REFUND_NOT_ALLOWED": (422, "Capture cannot be refunded."),
    "REFUND_TIME_LIMIT_EXCEEDED": (
        422,
        "You are over the time limit to perform a refund on this capture",
    ),
    "REFUND_AMOUNT_EXCEEDED": (
        422,
        "The refund amount must be less than or equal to the capture amount that has not yet "
        "been refunded.",
    ),
    "PENDING_CAPTURE": (
        422,
        "Cannot initiate a refund as the capture is pending. Capture is typically pending when "
        "the payer has funded the transaction using e-check/bank funded.",
    ),
    "INVALID_RESOURCE_ID": _ORDERS["INVALID_RESOURCE_ID"],
    "PREVIOUS_REQUEST_IN_PROGRESS": _ORDERS["PREVIOUS_REQUEST_IN_PROGRESS"],
}

# Where one operation's schema words an issue differently from the rest of its API.
_OVERRIDES: Mapping[tuple[str, str], str] = {
    ("orders.capture", "MISSING_REQUIRED_PARAMETER"): "A required field / parameter is missing",
    ("orders.authorize", "MISSING_REQUIRED_PARAMETER"): "A required field / parameter is missing",
    ("orders.capture", "PAYER_CANNOT_PAY"): _PAYMENTS["PAYER_CANNOT_PAY"][1],
    ("orders.authorize", "PAYER_CANNOT_PAY"): _PAYMENTS["PAYER_CANNOT_PAY"][1],
    ("orders.authorize", "ORDER_NOT_APPROVED"): (
        "Payer has not yet approved the Order for payment. Please redirect the payer to the "
        "'rel':'approve' url returned as part of the HATEOAS links within the Create Order call."
    ),
    # Not in the capture-order list at all; PayPal's sentence, mirrored for this direction.
    ("orders.capture", "ACTION_DOES_NOT_MATCH_INTENT"): (
        "Order was created with an intent to 'AUTHORIZE'. Please use "
        "v2/checkout/orders/order_id/authorize to complete the transaction or alternately "
        "Create an order with an intent of 'CAPTURE'."
    ),
    ("captures.refund", "DUPLICATE_INVOICE_ID"): (
        "Invoice ID was previously used to refund a capture."
    ),
}

# Codes a PayPal-Mock-Response may name that are not business (422) errors.
_MOCK_STATUS: Mapping[str, int] = {
    "INTERNAL_SERVER_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
    "RATE_LIMIT_REACHED": 429,
    "PERMISSION_DENIED": 403,
    "PAYEE_ACCOUNT_NOT_VERIFIED": 403,
    "INVALID_ACCOUNT_STATUS": 401,
}


@dataclass(frozen=True)
class Issue:
    """One entry of an error's ``details``. It never carries the offending value."""

    issue: str
    field: str | None = None
    location: str | None = "body"


class ApiError(Exception):
    """A PayPal error answer: HTTP status plus details; rendered by :func:`error_body`."""

    def __init__(self, status: int, *issues: Issue, retry_after: int | None = None) -> None:
        super().__init__(f"{status} {', '.join(i.issue for i in issues)}")
        self.status = status
        self.issues = issues
        self.retry_after = retry_after


def _table(operation: str) -> Mapping[str, tuple[int, str]]:
    if operation.startswith(("authorizations.", "captures.", "refunds.")):
        return _PAYMENTS
    return _ORDERS


def describe(operation: str, issue: str) -> str | None:
    """The spec's sentence for ``issue`` in ``operation`` (e.g. "orders.create"), if known."""
    override = _OVERRIDES.get((operation, issue))
    if override is not None:
        return override
    known = _table(operation).get(issue)
    return known[1] if known else None


def mock_status(operation: str, code: str) -> int:
    """The HTTP status PayPal answers a PayPal-Mock-Response ``code`` with."""
    known = _table(operation).get(code)
    if known is not None:
        return known[0]
    return _MOCK_STATUS.get(code, 422)


def new_debug_id() -> str:
    """A PayPal-style correlation id: 13 characters, as "90957fca61718" in PayPal's documents,
    written in letters (cardline.cde.ids) so that none can hold a security code's or a card's
    digits."""
    return ids.random_id(13)


def _status_words(status: int) -> tuple[str, str]:
    """Name and message for a status PayPal's documents do not name (414, 431, 505, ...)."""
    try:
        known = HTTPStatus(status)
    except ValueError:
        return ("INTERNAL_SERVER_ERROR", "An error occurred.")
    return known.name, f"{known.phrase}."


def error_body(
    status: int,
    issues: tuple[Issue, ...] = (),
    *,
    operation: str = "",
    debug_id: str | None = None,
) -> dict[str, Any]:
    """PayPal's JSON error body for ``status`` with ``issues`` as its details."""
    name, message = STATUS_NAMES.get(status) or _status_words(status)
    body: dict[str, Any] = {
        "name": name,
        "message": message,
        "debug_id": debug_id or new_debug_id(),
    }
    if issues:
        details = []
        for entry in issues:
            detail: dict[str, str] = {"issue": entry.issue}
            if entry.field is not None:
                detail["field"] = entry.field
                if entry.location is not None:
                    detail["location"] = entry.location
            description = describe(operation, entry.issue)
            if description is not None:
                detail["description"] = description
            details.append(detail)
        body["details"] = details
    api = "payments" if _table(operation) is _PAYMENTS else "orders"
    anchor = issues[0].issue if issues else name
    body["links"] = [
        {
            "href": f"https://developer.paypal.com/docs/api/{api}/v2/#error-{anchor}",
            "rel": "information_link",
            "method": "GET",
        }
    ]
    return body
