"""The ledger orders times by the instant they name, not by their text: PayPal writes
``2026-12-02T02:41:15Z`` (whole seconds) where cardline writes ``...15.991Z``, and as text
"." sorts before "Z", so the later of the two looked the earlier (a payment's created_at
moved to the time of the webhook event that confirmed it)."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from cardline.ledger import states

PAYPAL = "2026-12-02T02:41:15Z"  # a capture's create_time, as PayPal writes it
CARDLINE = "2026-12-02T02:41:15.991Z"  # an audit event's time, 991 ms later


def _written(moment: datetime, millis: bool) -> str:
    """``moment`` as PayPal (whole seconds) or cardline (milliseconds) writes it."""
    if millis:
        return moment.isoformat(timespec="milliseconds") + "Z"
    return moment.isoformat(timespec="seconds") + "Z"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z"))


def test_a_whole_second_is_earlier_than_the_same_second_with_milliseconds() -> None:
    assert states._earliest(CARDLINE, PAYPAL) == PAYPAL
    assert states._latest(PAYPAL, CARDLINE) == CARDLINE


@given(st.datetimes(), st.datetimes(), st.booleans(), st.booleans())
def test_earliest_and_latest_follow_the_instants(
    a: datetime, b: datetime, a_millis: bool, b_millis: bool
) -> None:
    first, second = _written(a, a_millis), _written(b, b_millis)
    earliest, latest = states._earliest(first, second), states._latest(first, second)
    assert earliest is not None
    assert latest is not None
    assert _instant(earliest) == min(_instant(first), _instant(second))
    assert _instant(latest) == max(_instant(first), _instant(second))
