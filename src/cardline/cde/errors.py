"""cardline's error hierarchy.

Every error maps to one RFC 9457 problem answer: an HTTP ``status``, a stable ``code``
and a human ``detail``. No message anywhere in this tree may contain card data: details
name the field at fault, never its value.

    CardlineError                       500 internal_error
    ├── InvalidRequest                  422 invalid_request
    │   ├── InvalidCard                 422 invalid_card
    │   └── InvalidAmount               422 invalid_amount
    ├── MalformedRequest                400 malformed_request
    ├── PayloadTooLarge                 413 payload_too_large
    ├── UnsupportedMediaType            415 unsupported_media_type
    ├── AuthenticationFailed            401 unauthorized
    ├── RoleRequired                    403 role_required       (names the role needed)
    ├── NotFound                        404 not_found
    ├── MethodNotAllowed                405 method_not_allowed
    ├── IdempotencyConflict             409 idempotency_conflict
    ├── TooManyRequests                 429 too_many_requests
    └── GatewayError                    502 gateway_error       (PayPal's answer is unusable)
        ├── GatewayRejected             422 gateway_rejected    (PayPal refused the request itself)
        ├── GatewayUnavailable          503 gateway_unavailable (this attempt charged nothing;
                                                                  safe to retry)
        └── GatewayOutcomeUnknown       504 outcome_unknown     (may have been charged; retry with
                                                                  the same Idempotency-Key)
"""

from __future__ import annotations

# The words of every answer to a failure nobody planned for (the App's, the servers'):
# nothing the request held, nothing of the failure's own message.
INTERNAL_ERROR = "An internal error occurred; nothing about the card was kept"


class CardlineError(Exception):
    """Base of every error cardline raises on purpose."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.headers: dict[str, str] = {}  # extra answer headers (Allow, Retry-After)

    def problem(self) -> dict[str, object]:
        """The RFC 9457 body for this error (without ``instance``)."""
        body: dict[str, object] = {
            "type": f"https://cardline.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidRequest(CardlineError):
    status = 422
    code = "invalid_request"
    title = "The request is not valid"


class InvalidCard(InvalidRequest):
    code = "invalid_card"
    title = "The card details are not valid"


class InvalidAmount(InvalidRequest):
    code = "invalid_amount"
    title = "The amount is not valid"


class MalformedRequest(CardlineError):
    status = 400
    code = "malformed_request"
    title = "The request could not be read"


class PayloadTooLarge(CardlineError):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"

    @classmethod
    def over(cls, limit: int) -> PayloadTooLarge:
        """The refusal of a body over ``limit`` bytes, in the words of every host."""
        return cls(f"The request body may be at most {limit} bytes")


class UnsupportedMediaType(CardlineError):
    status = 415
    code = "unsupported_media_type"
    title = "The request body must be application/json"


class AuthenticationFailed(CardlineError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class RoleRequired(CardlineError):
    """The operator is authenticated, but their role may not do this; ``role`` (in the
    problem too) is the lowest role that may."""

    status = 403
    code = "role_required"
    title = "Your role may not do this"

    def __init__(self, role: str, detail: str | None = None) -> None:
        super().__init__(detail or f"This needs the {role} role")
        self.role = role

    def problem(self) -> dict[str, object]:
        body = super().problem()
        body["role"] = self.role
        return body


class NotFound(CardlineError):
    status = 404
    code = "not_found"
    title = "Not found"


class MethodNotAllowed(CardlineError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class IdempotencyConflict(CardlineError):
    status = 409
    code = "idempotency_conflict"
    title = "Idempotency-Key reused with a different request"


class TooManyRequests(CardlineError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"


class GatewayError(CardlineError):
    """PayPal answered, but not in a way we can use."""

    status = 502
    code = "gateway_error"
    title = "Payment gateway error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        http_status: int | None = None,
        name: str | None = None,
        issue: str | None = None,
        debug_id: str | None = None,
    ) -> None:
        super().__init__(detail, field=field)
        self.http_status = http_status
        self.name = name
        self.issue = issue
        self.debug_id = debug_id

    def in_words(self, detail: str) -> GatewayError:
        """The same error (class, code and PayPal's facts) told to the agent as ``detail``."""
        return type(self)(
            detail,
            field=self.field,
            http_status=self.http_status,
            name=self.name,
            issue=self.issue,
            debug_id=self.debug_id,
        )


class GatewayRejected(GatewayError):
    """PayPal refused the request (4xx other than a retryable one): fix it, don't retry."""

    status = 422
    code = "gateway_rejected"
    title = "The payment gateway rejected the request"


class GatewayUnavailable(GatewayError):
    """PayPal could not be reached or refused before any charge: safe to retry."""

    status = 503
    code = "gateway_unavailable"
    title = "The payment gateway is unavailable"


class GatewayOutcomeUnknown(GatewayError):
    """The request may have reached PayPal: retry with the same Idempotency-Key."""

    status = 504
    code = "outcome_unknown"
    title = "The payment outcome is not known yet"
