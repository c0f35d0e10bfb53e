"""Finding 2: the PAN mask never rewrites one of our own ids."""

from __future__ import annotations

import random
from pathlib import Path

from cardline.cde import audit
from cardline.cde.request_rules import payment_id_for

# A million ids: payment ids from keys, event ids from the generator itself.
COUNT = 1_000_000


def test_no_payment_id_is_ever_altered_by_the_mask() -> None:
    rng = random.Random(20261201)
    for n in range(COUNT):
        payment_id = payment_id_for("op_" + str(n % 7), f"key-{rng.getrandbits(64):x}")
        assert audit.mask_pans(payment_id) == payment_id, payment_id


def test_no_event_id_is_ever_altered_by_the_mask() -> None:
    for _ in range(COUNT):
        event_id = audit.new_id()
        assert audit.mask_pans(event_id) == event_id, event_id


def test_a_new_fingerprint_key_holds_no_digit(tmp_path: Path) -> None:
    # Written in hex, about one key in 200 held a 13-digit Luhn-valid run, which the leak
    # scan rightly reports wherever the data folder is kept.
    from cardline.local import fingerprint_key

    key = fingerprint_key(tmp_path)
    assert len(key) == 64
    assert not any(chr(c).isdigit() for c in key)
    assert fingerprint_key(tmp_path) == key
