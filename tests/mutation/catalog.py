"""The mutations ``make mutate`` applies: each one a defect the suite must catch.

A mutation names a file under ``src/``, an exact piece of its text (found exactly once)
and what replaces it. The first group is the one issue 11 found surviving the whole
suite; the rest cover the card, charge, refund, audit and PayPal client modules and the
answers' security headers. ``explained`` marks a mutation that is allowed to survive, with
the reason (none is, today).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # under src/
    find: str
    replace: str
    why: str  # what would go wrong in production
    explained: str | None = None  # why surviving is acceptable, for an equivalent mutant


CHARGE = "cardline/cde/charge.py"
CLIENT = "cardline/cde/paypal/client.py"
CARD = "cardline/cde/card.py"
REFUND = "cardline/refund.py"
AUDIT = "cardline/cde/audit.py"
CONSOLE = "cardline/http/console_routes.py"
MESSAGES = "cardline/cde/http/messages.py"

ISSUE_11 = [
    Mutation(
        "fingerprint-drops-intent",
        CHARGE,
        '"reference": request.reference,\n            "intent": request.intent,\n'
        '            "operator": operator,',
        '"reference": request.reference,\n            "operator": operator,',
        "a key reused to AUTHORIZE what it first CAPTURED would replay the capture",
    ),
    Mutation(
        "fingerprint-json-separators",
        CHARGE,
        "_CANONICAL = json.JSONEncoder(sort_keys=True).encode",
        '_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode',
        "after a deploy, every retry's fingerprint differs from its order's: refused as a conflict",
    ),
    Mutation(
        "fingerprint-json-unsorted",
        CHARGE,
        "_CANONICAL = json.JSONEncoder(sort_keys=True).encode",
        "_CANONICAL = json.JSONEncoder().encode",
        "as above: the fingerprint's bytes depend on the field order",
    ),
    Mutation(
        "payment-id-separator",
        "cardline/cde/ids.py",
        'hashlib.sha256("\\x1f".join(parts).encode())',
        'hashlib.sha256("\\x1e".join(parts).encode())',
        "a retry after a deploy gets a new payment id (invoice id): charged twice",
    ),
    Mutation(
        "log-mask-15-16-digits-only",
        "cardline/cde/pan.py",
        "    spans = find_pans(text, inside_identifiers=inside_identifiers)\n    if not spans:\n",
        "    spans = [s for s in find_pans(text, inside_identifiers=inside_identifiers)"
        " if 15 <= len(s[2]) <= 16]\n    if not spans:\n",
        "a 13-, 14-, 17-, 18- or 19-digit card number reaches the logs in full",
    ),
    Mutation(
        "token-failure-forgets-maybe-processed",
        CLIENT,
        "maybe_processed = maybe_processed or (is_post and failure.maybe_processed)",
        'maybe_processed = (maybe_processed and not failure.reason.startswith("token:")) or '
        "(is_post and failure.maybe_processed)",
        "a POST that may have charged, then a token outage: answered 503 'nothing was "
        "charged', and the agent takes the payment again",
    ),
    Mutation(
        "token-refusal-forgets-maybe-processed",
        CLIENT,
        "raise self._unknown_if(is_post and maybe_processed, template, fatal)",
        "raise fatal",
        "a POST that may have charged, then a refused token: answered as a definite refusal",
    ),
    Mutation(
        "csp-loses-base-uri",
        CONSOLE,
        "frame-ancestors 'none'; base-uri 'none'\"",
        "frame-ancestors 'none'\"",
        "an injected <base> tag could point the console's scripts elsewhere",
    ),
    Mutation(
        "csp-img-src-https",
        CONSOLE,
        "img-src 'self'; ",
        "img-src 'self' https:; ",
        "an injected image could carry page data to any host",
    ),
    Mutation(
        "revocation-audited-as-added",
        "cardline/operators.py",
        "self._emit(audit.OPERATOR_REVOKED, operator, by, origin)",
        "self._emit(audit.OPERATOR_ADDED, operator, by, origin)",
        "the audit trail says a key was created when it was revoked",
    ),
    Mutation(
        "refund-ignores-refunded-amount",
        REFUND,
        '    remaining = Decimal(str(payment["amount"])) - Decimal('
        'str(payment.get("refunded_amount") or 0))\n    if money is not None and money.amount',
        '    remaining = Decimal(str(payment["amount"]))\n'
        "    if money is not None and money.amount",
        "a payment refunded twice over: more money back than was taken",
    ),
]

MORE = [
    # --------------------------------------------------------------- derivations
    Mutation(
        "paypal-request-id-separator",
        CHARGE,
        'return hashlib.sha256("\\x1f".join(parts).encode()).hexdigest()',
        'return hashlib.sha256("\\x1e".join(parts).encode()).hexdigest()',
        "a retry after a deploy sends a new PayPal-Request-Id: PayPal charges again",
    ),
    Mutation(
        "payment-id-length",
        CHARGE,
        'return "pay_" + ids.digest("payment", operator, idempotency_key)[:24]',
        'return "pay_" + ids.digest("payment", operator, idempotency_key)[:25]',
        "payment ids change across a deploy",
    ),
    Mutation(
        "paypal-request-id-length",
        CHARGE,
        "_digest(purpose, operator, idempotency_key)[:48]",
        "_digest(purpose, operator, idempotency_key)[:47]",
        "PayPal-Request-Ids change across a deploy",
    ),
    Mutation(
        "fingerprint-name-unkeyed",
        CHARGE,
        '"name": hmac.digest(key, request.card.name.encode(), "sha256").hex(),',
        '"name": hashlib.sha256(request.card.name.encode()).hexdigest(),',
        "fingerprints change across a deploy, and the name's hash is no longer keyed",
    ),
    Mutation(
        "fingerprint-length",
        CHARGE,
        'hmac.digest(key, canonical.encode(), "sha256").hex()[:40]',
        'hmac.digest(key, canonical.encode(), "sha256").hex()[:39]',
        "fingerprints change across a deploy",
    ),
    Mutation(
        "refund-id-slice",
        REFUND,
        'return "ref_" + ids.digest("refund", operator, idempotency_key)[24:48]',
        'return "ref_" + ids.digest("refund", operator, idempotency_key)[-24:]',
        "a refund retried after the ids change finds no earlier refund: booked twice",
    ),
    Mutation(
        "ivr-idempotency-key",
        "cardline/ivr/connect.py",
        'return f"connect-contact:{contact_id}"',
        'return f"connect:{contact_id}"',
        "an IVR retry after a deploy charges the caller again",
    ),
    # --------------------------------------------------------------- charge
    Mutation(
        "replayed-order-fingerprint-unchecked",
        CHARGE,
        "if outcome.custom_id is not None and outcome.custom_id != expected:",
        "if False:",
        "a reused key answers another request's receipt",
    ),
    Mutation(
        "unknown-outcome-audited-as-failure",
        CHARGE,
        'outcome="unknown" if unknown else "failure",',
        'outcome="failure",',
        "a payment that may be charged is recorded as failed: reconcile never looks at it",
    ),
    Mutation(
        "declined-audited-as-success",
        CHARGE,
        'outcome="success" if receipt.status == "approved" else "failure",',
        'outcome="success",',
        "declines counted as takings in the audit trail",
    ),
    Mutation(
        "card-not-wiped",
        CHARGE,
        "        finally:\n            card.wipe()\n",
        "        finally:\n            pass\n",
        "the PAN and CVV outlive the request in memory",
    ),
    Mutation(
        "unavailable-told-maybe-charged",
        CHARGE,
        "    elif isinstance(error, GatewayUnavailable):",
        "    elif False:",
        "the agent is not told that nothing was charged (PayPal's own words reach them)",
    ),
    # --------------------------------------------------------------- card
    Mutation(
        "card-luhn-unchecked",
        CARD,
        "    return total % 10 == 0",
        "    return True",
        "mistyped card numbers go to PayPal",
    ),
    Mutation(
        "card-expired-this-month-refused",
        CARD,
        "if months_ahead < 0:",
        "if months_ahead <= 0:",
        "a card valid to the end of this month is refused",
    ),
    Mutation(
        "card-security-code-length-unchecked",
        CARD,
        "if len(code) != expected or not _is_digits(code):",
        "if not _is_digits(code):",
        "a 3-digit code accepted for Amex (4 digits)",
    ),
    Mutation(
        "card-wipe-keeps-cvv",
        CARD,
        '        self._pan = ""\n        self._security_code = ""\n',
        '        self._pan = ""\n',
        "the CVV outlives the request in memory",
    ),
    # --------------------------------------------------------------- refund
    Mutation(
        "refund-of-a-declined-payment",
        REFUND,
        'if payment["status"] not in {"approved", "partially_refunded"} or not capture_id:',
        "if not capture_id:",
        "a refund sent for a payment that was never captured",
    ),
    Mutation(
        "refund-exactly-the-remainder-refused",
        REFUND,
        "if money is not None and money.amount > remaining:",
        "if money is not None and money.amount >= remaining:",
        "the last part of a partly refunded payment can never be refunded",
    ),
    Mutation(
        "refund-failure-audited-as-success",
        "cardline/paypal_actions.py",
        'outcome="success" if details.get("status") in succeeded else "failure",',
        'outcome="success",',
        "a failed refund (or capture) recorded as money moved",
    ),
    # --------------------------------------------------------------- audit
    Mutation(
        "audit-stream-unmasked",
        AUDIT,
        "        stream = self._stream or sys.stdout\n        line = mask_pans(event.to_json())",
        "        stream = self._stream or sys.stdout\n        line = (event.to_json())",
        "a PAN that slipped into an event reaches CloudWatch in full",
    ),
    Mutation(
        "audit-line-drops-operator",
        AUDIT,
        "            + ',\"operator\":'\n            + _text(self.operator)\n",
        "",
        "audit lines no longer say who acted",
    ),
    Mutation(
        "log-filter-keeps-traceback",
        AUDIT,
        "record.exc_text = mask_pans(logging.Formatter().formatException(record.exc_info))",
        "record.exc_text = logging.Formatter().formatException(record.exc_info)",
        "a PAN in an exception's traceback reaches the logs",
        explained="equivalent: the filter's next statement masks exc_text whatever set it "
        "(log-filter-leaves-traceback below drops both)",
    ),
    Mutation(
        "log-filter-leaves-traceback",
        AUDIT,
        "record.exc_text = mask_pans(logging.Formatter().formatException(record.exc_info))\n"
        "            record.exc_info = None",
        "pass",
        "the handler formats the exception itself, card number and all",
    ),
    # --------------------------------------------------------------- PayPal client
    Mutation(
        "client-500-not-maybe-processed",
        CLIENT,
        "if status in (500, 502, 504):",
        "if status in (502, 504):",
        "PayPal 500s on an order end as 'nothing was charged'",
    ),
    Mutation(
        "client-409-with-request-id-not-retried",
        CLIENT,
        'if in_progress or (method == "POST" and request_id is not None):',
        "if in_progress:",
        "a 409 on an order with our request id is taken as final instead of maybe processed",
    ),
    Mutation(
        "client-gives-up-as-unavailable",
        CLIENT,
        "        if maybe_processed:\n            return GatewayOutcomeUnknown(",
        "        if False:\n            return GatewayOutcomeUnknown(",
        "every exhausted POST is answered 'nothing was charged'",
    ),
    # --------------------------------------------------------------- security headers
    Mutation(
        "hsts-without-subdomains",
        MESSAGES,
        '"Strict-Transport-Security": "max-age=63072000; includeSubDomains",',
        '"Strict-Transport-Security": "max-age=63072000",',
        "subdomains can be reached over plain HTTP",
    ),
    Mutation(
        "api-csp-without-default-src",
        MESSAGES,
        "\"Content-Security-Policy\": \"default-src 'none'; frame-ancestors 'none'\",",
        '"Content-Security-Policy": "frame-ancestors \'none\'",',
        "an API answer rendered by a browser may load anything",
    ),
    Mutation(
        "api-answers-cacheable",
        MESSAGES,
        '"Cache-Control": "no-store",',
        '"Cache-Control": "no-cache",',
        "receipts kept in browser and proxy caches",
    ),
    Mutation(
        "api-answers-without-referrer-policy",
        MESSAGES,
        '    "Referrer-Policy": "no-referrer",\n',
        "",
        "payment URLs leak in Referer headers",
    ),
    Mutation(
        "console-permissions-policy-allows-payment",
        CONSOLE,
        '"camera=(), microphone=(), geolocation=(), payment=()"',
        '"camera=(), microphone=(), geolocation=()"',
        "the console page may call the Payment Request API",
    ),
    Mutation(
        "console-without-coop",
        CONSOLE,
        '        "Cross-Origin-Opener-Policy": "same-origin",\n',
        "",
        "another window can keep a handle on the console",
    ),
]

MUTATIONS: list[Mutation] = [*ISSUE_11, *MORE]
