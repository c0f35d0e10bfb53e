"""PayPal's answer codes and what to tell the agent about each.

``RESPONSE_CODES`` maps a card processor's ``response_code`` to PayPal's name for it and
a sentence for the agent; ``CARD_ISSUES`` the 422 issues on order create that are about
the card; ``ISSUE_MESSAGES`` the other issues PayPal may refuse a call with; ``AVS_CODES``
and ``CVV_CODES`` what ``processor_response.avs_code`` and ``cvv_code`` say, in words.
"""

from __future__ import annotations

from types import MappingProxyType

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Literal

__all__ = [
    "APPROVED",
    "AVS_CODES",
    "AVS_NO_MATCH",
    "CARD_ISSUES",
    "CVV_CODES",
    "CVV_NO_MATCH",
    "GENERIC_DECLINE",
    "ISSUE_MESSAGES",
    "NO_RETRY_ADVICE",
    "RESPONSE_CODES",
    "RETRYABLE_RESPONSE_CODES",
    "THREE_DS_REQUIRED",
    "avs_words",
    "cvv_words",
    "issue_words",
    "refusal_words",
]

APPROVED = "The payment was approved."
GENERIC_DECLINE = "The card issuer declined the payment. Ask the caller to use another card."
_CONTACT_BANK = (
    "The card issuer declined the payment. Ask the caller to contact their bank or use "
    "another card."
)
_NO_RETRY = "The card issuer declined the payment. Do not try this card again; ask for another."
_CHECK_CVV = "The security code did not match. Check it with the caller and try again."
_MERCHANT = "The merchant account cannot take this payment. Contact support."
_TRY_LATER = "The card network had a problem and the payment did not go through. Try again later."
_EXPIRED = "The card has expired. Ask for another card."
_EXPIRY_REFUSED = "The expiry date was refused. Check it with the caller."
_CLOSED = "The card account is closed. Ask for another card."
_3DS_FAILED = "3-D Secure failed; a caller on the phone cannot complete it. Ask for another card."
_TOO_FREQUENT = "Too many payments on this card in a short time. Try later or use another card."
_ALREADY_CAPTURED = "The authorization has already been captured."
_NOT_PERMITTED = "The PayPal account is not permitted to make this call."
_IN_PROGRESS = "PayPal is still working on an earlier attempt. Try again in a moment."

# processor_response.response_code -> (reason, sentence for the agent). The OpenAPI
# documents list the codes without descriptions; the reasons are PayPal's documented
# names for them. Fraud and lost/stolen read as a plain decline on purpose: the agent
# must not tell the caller why.
RESPONSE_CODES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "0000": ("APPROVED", APPROVED),
        "00N7": ("CVV2_FAILURE", _CHECK_CVV),
        "0100": ("REFERRAL", "The issuer asks the cardholder to call them before paying."),
        "0390": ("ACCOUNT_NOT_FOUND", "The card account was not found. Ask for another card."),
        "0500": ("DO_NOT_HONOR", _CONTACT_BANK),
        "0580": ("UNAUTHORIZED_TRANSACTION", "The issuer does not allow this payment on the card."),
        "0800": ("BAD_RESPONSE_REVERSAL_REQUIRED", _TRY_LATER),
        "0880": ("CRYPTOGRAPHIC_FAILURE", _TRY_LATER),
        "0890": ("UNACCEPTABLE_PIN", GENERIC_DECLINE),
        "0960": ("SYSTEM_MALFUNCTION", _TRY_LATER),
        "0R00": ("CANCELLED_PAYMENT", "The payment was cancelled."),
        "1000": ("PARTIAL_AUTHORIZATION", "The issuer approved only part of the amount."),
        "10BR": ("ISSUER_REJECTED", _CONTACT_BANK),
        "1300": ("INVALID_DATA_FORMAT", "The issuer could not read the card details."),
        "1310": ("INVALID_AMOUNT", "The issuer did not accept the amount."),
        "1312": ("INVALID_TRANSACTION_CARD_ISSUER_ACQUIRER", GENERIC_DECLINE),
        "1317": ("INVALID_CAPTURE_DATE", "The capture date was refused."),
        "1320": ("INVALID_CURRENCY_CODE", "The issuer does not accept this currency."),
        "1330": (
            "INVALID_ACCOUNT",
            "The card account is not valid. Check the number or ask for another card.",
        ),
        "1335": ("INVALID_ACCOUNT_RECURRING", GENERIC_DECLINE),
        "1340": ("INVALID_TERMINAL", _MERCHANT),
        "1350": ("INVALID_MERCHANT", _MERCHANT),
        "1352": (
            "RESTRICTED_OR_INACTIVE_ACCOUNT",
            "The card account is restricted or inactive. Ask for another card.",
        ),
        "1360": ("BAD_PROCESSING_CODE", _TRY_LATER),
        "1370": ("INVALID_MCC", _MERCHANT),
        "1380": ("INVALID_EXPIRATION", _EXPIRY_REFUSED),
        "1382": ("INVALID_CARD_VERIFICATION_VALUE", _CHECK_CVV),
        "1384": ("INVALID_LIFE_CYCLE_OF_TRANSACTION", _TRY_LATER),
        "1390": ("INVALID_ORDER", "PayPal refused the order. Contact support."),
        "1393": ("TRANSACTION_CANNOT_BE_COMPLETED", _CONTACT_BANK),
        "5100": ("GENERIC_DECLINE", _CONTACT_BANK),
        "5110": ("CVV2_FAILURE", _CHECK_CVV),
        "5120": ("INSUFFICIENT_FUNDS", "The card has insufficient funds."),
        "5130": ("INVALID_PIN", GENERIC_DECLINE),
        "5135": ("DECLINED_PIN_TRY_EXCEEDED", GENERIC_DECLINE),
        "5140": ("CARD_CLOSED", _CLOSED),
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
        "5400": ("EXPIRED_CARD", _EXPIRED),
        "5500": ("INCORRECT_PIN_REENTER", GENERIC_DECLINE),
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
        "6300": ("ACCOUNT_NOT_ON_FILE", GENERIC_DECLINE),
        "7600": (
            "APPROVED_NON_CAPTURE",
            "The issuer approved the card but the payment was not captured.",
        ),
        "7700": (
            "ERROR_3DS",
            _3DS_FAILED,
        ),
        "7710": ("AUTHENTICATION_FAILED", "Card authentication failed. Ask for another card."),
        "7800": ("BIN_ERROR", GENERIC_DECLINE),
        "7900": ("PIN_ERROR", GENERIC_DECLINE),
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
        "PCNR": ("CONTINGENCIES_NOT_RESOLVED", GENERIC_DECLINE),
        "PCVV": ("CVV_FAILURE", _CHECK_CVV),
        "PP06": ("ACCOUNT_CLOSED", _CLOSED),
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
            _3DS_FAILED,
        ),
        "PPDT": (
            "DECLINE_THRESHOLD_BREACH",
            "Too many declines on this card. Ask for another card.",
        ),
        "PPEF": ("EXPIRED_FUNDING_INSTRUMENT", _EXPIRED),
        "PPEL": (
            "EXCEEDS_FREQUENCY_LIMIT",
            _TOO_FREQUENT,
        ),
        "PPER": ("INTERNAL_SYSTEM_ERROR", _TRY_LATER),
        "PPEX": ("EXPIRY_DATE", _EXPIRY_REFUSED),
        "PPFI": ("INVALID_FUNDING_INSTRUMENT", GENERIC_DECLINE),
        "PPFR": ("RESTRICTED_FUNDING_INSTRUMENT", GENERIC_DECLINE),
        "PPMC": ("BLOCKED_MASTERCARD", GENERIC_DECLINE),
        "PPNL": (
            "EXCEEDS_NETWORK_FREQUENCY_LIMIT",
            _TOO_FREQUENT,
        ),
        "PPNT": ("NETWORK_ERROR", _TRY_LATER),
        "PPSE": ("AMEX_DENIED", GENERIC_DECLINE),
        "PPVT": ("VIRTUAL_TERMINAL_UNSUPPORTED", _MERCHANT),
    }
)

RETRYABLE_RESPONSE_CODES: frozenset[str] = frozenset({"9100", "5920", "8110"})
# Payment advice codes from the card networks that forbid another attempt.
NO_RETRY_ADVICE = frozenset({"03", "21"})

THREE_DS_REQUIRED = (
    "The card issuer asked for 3-D Secure verification, which a caller on the phone "
    "cannot complete. Ask for another card."
)

# 422 issues on order create that are about the card: answered as an outcome, not raised.
CARD_ISSUES: Mapping[str, tuple[Literal["declined", "failed"], str]] = MappingProxyType(
    {
        "INSTRUMENT_DECLINED": ("declined", "The card was declined. Ask for another card."),
        "CARD_EXPIRED": ("declined", _EXPIRED),
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
        "PAYER_ACTION_REQUIRED": ("failed", THREE_DS_REQUIRED),
    }
)

# Human sentences for PayPal issues raised as GatewayRejected (mostly Payments v2).
ISSUE_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "DUPLICATE_INVOICE_ID": "PayPal already has a payment with this invoice id.",
        "AUTHORIZATION_EXPIRED": "The authorization has expired and can no longer be captured.",
        "AUTHORIZATION_ALREADY_CAPTURED": _ALREADY_CAPTURED,
        "PREVIOUSLY_CAPTURED": _ALREADY_CAPTURED,
        "PREVIOUSLY_VOIDED": "The authorization has already been voided.",
        "AUTHORIZATION_VOIDED": "The authorization has been voided.",
        "REFUND_AMOUNT_EXCEEDED": "The refund is more than what is left of the payment.",
        "CAPTURE_FULLY_REFUNDED": "The payment has already been fully refunded.",
        "PENDING_CAPTURE": "The payment is still pending and cannot be refunded yet.",
        "REFUND_TIME_LIMIT_EXCEEDED": "The payment is too old to be refunded through PayPal.",
        "PAYPAL_REQUEST_ID_REQUIRED": "PayPal requires a PayPal-Request-Id for this call.",
        "PERMISSION_DENIED": _NOT_PERMITTED,
        "INVALID_RESOURCE_ID": (
            "PayPal has no record of this payment's capture, so it cannot be refunded here. "
            "Look the payment up in PayPal."
        ),
        "REFUND_NOT_ALLOWED": "PayPal does not allow this payment to be refunded.",
        "REFUND_CAPTURE_CURRENCY_MISMATCH": "A refund must be in the currency of the payment.",
        "PREVIOUS_REQUEST_IN_PROGRESS": (_IN_PROGRESS),
        "TRANSACTION_LIMIT_EXCEEDED": "The amount is over the PayPal account's payment limit.",
        "PAYER_CANNOT_PAY": "PayPal does not allow this card to pay this merchant.",
        "COMPLIANCE_VIOLATION": "PayPal refused the payment for compliance reasons.",
        "PAYMENT_SOURCE_CANNOT_BE_USED": "This card cannot be used for this payment.",
        "CANNOT_BE_ZERO_OR_NEGATIVE": "The amount must be more than zero.",
        "DECIMAL_PRECISION": "The amount has more decimal places than its currency allows.",
        "DECIMALS_NOT_SUPPORTED": "The amount has decimal places its currency does not allow.",
        "INVALID_CURRENCY_CODE": "PayPal does not accept this currency.",
        "AUTHORIZATION_DENIED": "The authorization was denied and cannot be captured.",
        "MAX_CAPTURE_AMOUNT_EXCEEDED": "The capture is more than the authorization allows.",
        "AUTH_CAPTURE_CURRENCY_MISMATCH": "A capture must be in the authorization's currency.",
        "CANNOT_BE_VOIDED": "PayPal does not allow this authorization to be voided.",
        "REAUTHORIZATION_TOO_SOON": (
            "PayPal allows a reauthorization only from the fourth day after the authorization: "
            "until then its amount is still honoured, so capture it instead."
        ),
        "REAUTHORIZATION_NOT_SUPPORTED": "PayPal allows this authorization no reauthorization.",
        "ORDER_ALREADY_CAPTURED": "PayPal has already captured this payment.",
        "ORDER_ALREADY_AUTHORIZED": "PayPal has already authorized this payment.",
        "PAYEE_ACCOUNT_NOT_VERIFIED": "The merchant's PayPal account is not verified yet.",
        "INVALID_ACCOUNT_STATUS": "The merchant's PayPal account cannot take payments now.",
        "RATE_LIMIT_REACHED": "PayPal is limiting how fast requests come in.",
    }
)

# processor_response.avs_code -> what the card issuer said of the billing address. The
# OpenAPI documents list the codes without meanings; these are PayPal's published tables
# (AVS response codes for Visa, Mastercard, Discover and American Express; 0-4 and "Null"
# for Maestro). "Null" is PayPal's spelling of "no AVS answer".
_NO_AVS = "The issuer gave no address check"
AVS_CODES: Mapping[str, str] = MappingProxyType(
    {
        "A": "Address matches, postal code does not",
        "B": "Address matches, postal code not checked (international)",
        "C": "Neither address nor postal code matches (international)",
        "D": "Address and postal code match (international)",
        "E": "Address check not allowed for phone and internet orders",
        "F": "Address and postal code match (UK)",
        "G": _NO_AVS + " (not supported outside the US)",
        "I": _NO_AVS + " (international issuer unavailable)",
        "M": "Address and postal code match",
        "N": "Neither address nor postal code matches",
        "P": "Postal code matches, address not checked",
        "R": _NO_AVS + " (issuer unavailable: retry)",
        "S": _NO_AVS + " (not supported by the issuer)",
        "U": _NO_AVS + " (address information unavailable)",
        "W": "Nine-digit ZIP code matches, address does not",
        "X": "Address and nine-digit ZIP code match",
        "Y": "Address and five-digit ZIP code match",
        "Z": "Five-digit ZIP code matches, address does not",
        "Null": _NO_AVS,
        "0": "All the address information matches (Maestro)",
        "1": "None of the address information matches (Maestro)",
        "2": "Part of the address information matches (Maestro)",
        "3": "The merchant sent no address information (Maestro)",
        "4": _NO_AVS + " (Maestro: service unavailable)",
    }
)
# The AVS codes that say the billing address and postal code both failed.
AVS_NO_MATCH = frozenset({"N", "C", "1"})

# processor_response.cvv_code -> what the issuer said of the security code (PayPal's CVV2
# table; 0-4 for Maestro; "All others" is the spec's name for any other answer).
CVV_CODES: Mapping[str, str] = MappingProxyType(
    {
        "E": "Security code check failed (error or unrecognised answer)",
        "I": "Security code invalid or missing",
        "M": "Security code matches",
        "N": "Security code does not match",
        "P": "Security code not checked",
        "S": "Security code check not supported",
        "U": "Security code not checked (issuer not certified)",
        "X": "Security code check unavailable",
        "All others": "Security code check failed (error)",
        "0": "Security code matches (Maestro)",
        "1": "Security code does not match (Maestro)",
        "2": "Security code check not implemented by the merchant (Maestro)",
        "3": "No security code on the card (Maestro)",
        "4": "Security code check unavailable (Maestro)",
    }
)
# The CVV codes that say the security code was wrong.
CVV_NO_MATCH = frozenset({"N", "1"})


def avs_words(code: str | None) -> str | None:
    """PayPal's ``avs_code`` in words, or None when PayPal sent none."""
    if code is None:
        return None
    return AVS_CODES.get(code, "The address check gave an answer cardline does not know")


def cvv_words(code: str | None) -> str | None:
    """PayPal's ``cvv_code`` in words, or None when PayPal sent none."""
    if code is None:
        return None
    return CVV_CODES.get(code, CVV_CODES["All others"])


# What an HTTP error status from PayPal means for the agent when its issue has no words.
_STATUS_WORDS: Mapping[int, str] = MappingProxyType(
    {
        400: "PayPal could not accept the request as it was sent.",
        401: "PayPal did not accept cardline's credentials.",
        403: _NOT_PERMITTED,
        404: "PayPal could not find what the request refers to.",
        409: _IN_PROGRESS,
        422: "PayPal refused the request as it stands.",
        429: "PayPal is limiting how fast requests come in. Try again in a moment.",
    }
)


def issue_words(issue: str | None) -> str | None:
    """PayPal's ``issue`` as a sentence for the agent, or None when we have none for it."""
    if issue is None:
        return None
    sentence = ISSUE_MESSAGES.get(issue)
    if sentence is None and issue in CARD_ISSUES:
        sentence = CARD_ISSUES[issue][1]
    return sentence


def refusal_words(issue: str | None, http_status: int | None) -> str:
    """Why PayPal refused a call, in words for the agent: never PayPal's own names."""
    sentence = issue_words(issue)
    if sentence is not None:
        return sentence
    if http_status is not None and http_status >= 500:
        return "PayPal had a problem of its own. Try again in a moment."
    known = _STATUS_WORDS.get(http_status or 0)
    if known is None and http_status is not None and 400 <= http_status < 500:
        known = _STATUS_WORDS[400]
    return known or "PayPal gave an answer cardline could not use."
