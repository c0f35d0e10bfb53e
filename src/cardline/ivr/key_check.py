"""When the IVR's encryption keys expire, and whether each private key fits its certificate.

What `cardline ivr keys check` prints and what the scheduled check on AWS measures. Only
public facts leave this module: key ids, certificate subjects and dates, verdicts. A
private key is loaded to compare its public half with the certificate's, and nothing of
it is kept, shown or put in an error.

Verdicts, and the exit code each leads to (the highest wins):

=======================  ====  ============================================================
``ok``                   0     valid for more than the warning window, key matches
``expiring``             3     the certificate ends within the warning window
``certificate_unknown``  3     the secret's entry has no ``certificate``: expiry unknown
``expired``              4     the certificate has ended
``not_yet_valid``        4     the certificate has not begun (a clock or a date is wrong)
``mismatch``             4     the private key is not the certificate's key
``unreadable``           4     the certificate or the private key does not parse
=======================  ====  ============================================================

Exit code 1 (the keys could not be read at all) and 2 (usage) are the command's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cardline.ivr.keys import KeyPair

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

DEFAULT_WARN_DAYS = 30
OK, EXPIRING, CERTIFICATE_UNKNOWN = "ok", "expiring", "certificate_unknown"
EXPIRED, NOT_YET_VALID, MISMATCH, UNREADABLE = "expired", "not_yet_valid", "mismatch", "unreadable"
EXIT_OK, EXIT_WARNING, EXIT_FAILING = 0, 3, 4
_EXIT_CODES = {
    OK: EXIT_OK,
    EXPIRING: EXIT_WARNING,
    CERTIFICATE_UNKNOWN: EXIT_WARNING,
    EXPIRED: EXIT_FAILING,
    NOT_YET_VALID: EXIT_FAILING,
    MISMATCH: EXIT_FAILING,
    UNREADABLE: EXIT_FAILING,
}
_DAY_SECONDS = 86400


@dataclass(frozen=True)
class KeyStatus:
    """One key's certificate facts and verdict; ``None`` where it could not be known."""

    key_id: str
    status: str
    advice: str
    subject: str | None = None
    not_after: datetime | None = None
    days_left: int | None = None
    key_matches: bool | None = None  # None: no private key to compare, or no certificate

    def to_dict(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "status": self.status,
            "subject": self.subject,
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "days_left": self.days_left,
            "key_matches": self.key_matches,
            "advice": self.advice,
        }


def check_key_pairs(
    pairs: Iterable[KeyPair], *, now: datetime | None = None, warn_days: int = DEFAULT_WARN_DAYS
) -> list[KeyStatus]:
    """The verdict on each pair (a pair with an empty private key is a certificate alone)."""
    moment = now or datetime.now(UTC)
    return [_check(pair, moment, warn_days) for pair in pairs]


def exit_code(statuses: Sequence[KeyStatus]) -> int:
    """0 when every key is ok, 3 for a warning, 4 for a failure (the module's table)."""
    return max((_EXIT_CODES[s.status] for s in statuses), default=EXIT_OK)


def days_to_expiry(statuses: Sequence[KeyStatus]) -> int | None:
    """What the IVR can count on: the fewest days left over the keys, a key that cannot
    decrypt now (mismatched or unreadable private key, certificate not yet valid) counting
    as 0; ``None`` when any key's expiry cannot be known."""
    if not statuses or any(s.days_left is None for s in statuses):
        return None
    unusable = (MISMATCH, UNREADABLE, NOT_YET_VALID)
    return min(0 if s.status in unusable else int(s.days_left or 0) for s in statuses)


def _check(pair: KeyPair, now: datetime, warn_days: int) -> KeyStatus:
    from cryptography import x509

    if not pair.certificate_pem.strip():
        return KeyStatus(
            pair.key_id,
            CERTIFICATE_UNKNOWN,
            'add this key\'s certificate (PEM) to its entry as "certificate" '
            "(docs/ivr.md: the key secret's format); its expiry cannot be checked without it",
        )
    try:
        certificate = x509.load_pem_x509_certificate(pair.certificate_pem)
    except ValueError:
        return KeyStatus(pair.key_id, UNREADABLE, "the certificate is not a PEM X.509 certificate")
    not_after = certificate.not_valid_after_utc
    matches = _matches(pair, certificate) if pair.private_key_pem else None
    if matches is False:
        status, advice = (
            MISMATCH,
            "the private key is not this certificate's: Connect encrypts to the certificate, "
            "so this entry cannot decrypt; put the matching pair in the entry",
        )
    elif matches is None and pair.private_key_pem:
        status, advice = UNREADABLE, "the private key is not a PEM key without a passphrase"
    elif now >= not_after:
        status, advice = EXPIRED, "expired: rotate now (docs/ivr.md, Rotation)"
    elif now < certificate.not_valid_before_utc:
        status, advice = NOT_YET_VALID, "not valid yet: check the clock and the certificate's dates"
    elif now.timestamp() + warn_days * _DAY_SECONDS >= not_after.timestamp():
        status, advice = EXPIRING, "expires soon: rotate (docs/ivr.md, Rotation)"
    else:
        status, advice = OK, ""
    return KeyStatus(
        pair.key_id,
        status,
        advice,
        subject=certificate.subject.rfc4514_string(),
        not_after=not_after,
        days_left=_days_between(now, not_after),
        key_matches=matches,
    )


def _matches(pair: KeyPair, certificate: Certificate) -> bool | None:
    """Whether the private key's public half is the certificate's; ``None`` if unreadable."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        private = serialization.load_pem_private_key(pair.private_key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None  # the library's message is not passed on: it is about the key's bytes
    public = certificate.public_key()
    encoding, form = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(
        private.public_key().public_bytes(encoding, form) == public.public_bytes(encoding, form)
    )


def _days_between(now: datetime, then: datetime) -> int:
    """Whole days from ``now`` to ``then``, rounded down (negative once past)."""
    return int((then - now).total_seconds() // _DAY_SECONDS)


# -- output ----------------------------------------------------------------------------

_COLUMNS = ("key id", "subject", "not after (UTC)", "days left", "key matches", "status")


def render_table(statuses: Sequence[KeyStatus], *, source: str, warn_days: int) -> str:
    """The check as a table with a line of advice under each key that needs it."""
    rows = [
        (
            s.key_id,
            s.subject or "-",
            s.not_after.strftime("%Y-%m-%d %H:%M") if s.not_after else "-",
            "-" if s.days_left is None else str(s.days_left),
            {True: "yes", False: "NO", None: "-"}[s.key_matches],
            s.status.replace("_", " "),
        )
        for s in statuses
    ]
    widths = [max(len(row[i]) for row in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]
    lines = [f"IVR encryption keys in {source} (warning within {warn_days} days)"]
    lines.append("  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip())
    for status, row in zip(statuses, rows, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if status.advice:
            lines.append(f"  -> {status.key_id}: {status.advice}")
    verdict = {EXIT_OK: "ok", EXIT_WARNING: "warning", EXIT_FAILING: "failing"}
    lines.append(f"result: {verdict[exit_code(statuses)]} (exit {exit_code(statuses)})")
    return "\n".join(lines) + "\n"


def render_json(statuses: Sequence[KeyStatus], *, source: str, warn_days: int) -> str:
    """The check as one JSON document (``exit_code`` is what the command exits with)."""
    document = {
        "source": source,
        "warn_days": warn_days,
        "exit_code": exit_code(statuses),
        "days_to_expiry": days_to_expiry(statuses),
        "keys": [s.to_dict() for s in statuses],
    }
    return json.dumps(document, indent=2) + "\n"
