"""The finance export: a period's payments as CSV, one row per payment, newest first.

The columns are the payment as the API serves it (whatever ``public_payment`` holds, so a
column the ledger serves later is exported without a change here), with the card as
brand and last 4 in one ``card`` column and the payment's refunds summed up in
``refunds``. ``GET /v1/payments/export`` and ``cardline export`` both write it.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and tab or
carriage return) as a formula: every such cell is written with a leading ``'``, as
OWASP's CSV-injection advice says, and every cell is quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from cardline.cde.encoding import compact
from cardline.ledger import Ledger
from cardline.ledger.states import public_payment

__all__ = [
    "EXPORT_MEDIA_TYPE",
    "columns",
    "neutralised",
    "payments_csv",
    "rows",
    "write_csv",
]

EXPORT_MEDIA_TYPE = "text/csv; charset=utf-8"
_PAGE = 200
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Shown once, as ``card``: the card is brand and last 4, never more.
_CARD_PARTS = ("brand", "last4")


def neutralised(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it (OWASP: a leading ``'``)."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return compact(value)
    return str(value)


def columns() -> list[str]:
    """The export's columns: ``card``, the served payment's other fields, ``refunds``."""
    served = [name for name in public_payment({"id": ""}) if name not in _CARD_PARTS]
    return ["card", *served, "refunds"]


def _card(payment: Mapping[str, Any]) -> str:
    brand, last4 = payment.get("brand"), payment.get("last4")
    if not last4:
        return ""
    return f"{brand or 'card'} ending {last4}"


def _refunds(refunds: list[dict[str, Any]]) -> str:
    """Each refund as ``STATUS AMOUNT CURRENCY``, oldest first, ``; `` between them."""
    return "; ".join(
        " ".join(str(refund.get(part) or "") for part in ("status", "amount", "currency"))
        for refund in refunds
    )


def rows(ledger: Ledger, *, since: str | None, until: str | None) -> Iterator[list[str]]:
    """The header, then one row per payment created in [since, until) (ledger time text,
    cardline.ledger.time_bound), every cell neutralised."""
    names = columns()
    yield names
    cursor: str | None = None
    while True:
        page = ledger.list_payments(since=since, until=until, limit=_PAGE, cursor=cursor)
        for payment in page.items:
            record: dict[str, Any] = {
                **payment,
                "card": _card(payment),
                "refunds": _refunds(ledger.refunds_for(str(payment["id"]))),
            }
            yield [neutralised(_cell(record.get(name))) for name in names]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def write_csv(out: TextIO, ledger: Ledger, *, since: str | None, until: str | None) -> int:
    """Write the export to ``out`` (CRLF line ends, every cell quoted); returns how many
    payments it holds."""
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    written = -1  # the header is not a payment
    for row in rows(ledger, since=since, until=until):
        writer.writerow(row)
        written += 1
    return written


def payments_csv(ledger: Ledger, *, since: str | None, until: str | None) -> str:
    """The whole export as CSV text (see :func:`write_csv`)."""
    out = io.StringIO()
    write_csv(out, ledger, since=since, until=until)
    return out.getvalue()
