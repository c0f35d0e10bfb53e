"""The card-number detector and the mask, against a brute-force oracle written here.

The oracle reads text character by character (a decimal digit of any script, a letter, or
a separator), splits it into chains of digit groups joined by separators only, and tries
every run of whole groups for 13 to 19 digits that pass its own Luhn check. Hypothesis is
derandomized: every run draws the same examples.
"""

from __future__ import annotations

import json
import random
import unicodedata
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardline.cde import audit, ids, pan
from cardline.cde.request_rules import payment_id_for, paypal_request_id_for
from cardline.sandbox.store import Store
from tests.cards import VISA

PROPERTY = settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# -- the oracle --------------------------------------------------------------------------------


def _classes(text: str) -> list[str]:
    """Per character: its digit ("0"–"9"), "a" for a letter, " " for anything else."""
    out = []
    for char in text:
        if char.isdecimal():
            out.append(str(unicodedata.decimal(char)))
        elif char.isalnum():
            out.append("a")
        else:
            out.append(" ")
    return out


def _luhn(digits: str) -> bool:
    total = 0
    for place, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if place % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _chains(text: str) -> list[list[str]]:
    """Each chain of digit groups: groups separated by separators only."""
    chains: list[list[str]] = []
    groups: list[str] = []
    group = ""
    for kind in [*_classes(text), "a"]:
        if kind.isdigit():
            group += kind
            continue
        if group:
            groups.append(group)
            group = ""
        if kind == "a":
            if groups:
                chains.append(groups)
            groups = []
    return chains


def oracle_numbers(text: str) -> set[str]:
    """Every run of whole groups in a chain that is a card number (brute force)."""
    found = set()
    for groups in _chains(text):
        for i in range(len(groups)):
            for j in range(i, len(groups)):
                digits = "".join(groups[i : j + 1])
                if pan.MIN_DIGITS <= len(digits) <= pan.MAX_DIGITS and _luhn(digits):
                    found.add(digits)
    return found


# -- what is generated -------------------------------------------------------------------------

# The zero of each digit script drawn from (ASCII, full-width, Arabic-Indic, extended
# Arabic-Indic, Devanagari, Bengali, Thai, Tibetan, Myanmar, mathematical bold, monospace).
ZEROS = (0x30, 0xFF10, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0xF20, 0x1040, 0x1D7CE, 0x1D7F6)
SEPARATORS = (
    " ", "  ", "-", " - ", ".", "..", "/", "_", "\t", "\n", "\r\n", "\u00a0", "\u2013",
    "\u2014", "\u3000", "\u2009", ",", ":", "|", "*", "~", "·", "•", "(", ")", "'", '"', "+",
)  # fmt: skip
# No word in capitals only: glued to digits it could make a PayPal id's shape, which the mask
# leaves whole (see test_the_mask_never_alters_an_identifier).
WORDS = ("card", "order", "ref", "Ada", "Lovelace", "note", "número", "карта", "x")

digit_scripts = st.sampled_from(ZEROS)


def _with_check_digit(body: str) -> str:
    for last in "0123456789":
        if _luhn(body + last):
            return body + last
    raise AssertionError("unreachable")


@st.composite
def card_numbers(draw: st.DrawFn, length: int | None = None) -> str:
    """A Luhn-valid number of 13 to 19 ASCII digits."""
    size = length or draw(st.integers(pan.MIN_DIGITS, pan.MAX_DIGITS))
    body = draw(st.text("0123456789", min_size=size - 1, max_size=size - 1))
    return _with_check_digit(draw(st.sampled_from("23456")) + body[1:])


@st.composite
def written(draw: st.DrawFn, number: str) -> str:
    """``number`` in groups of any sizes, any separators, each digit in any script."""
    cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=len(number) - 1)))
    pieces = []
    for start, end in zip([0, *cuts], [*cuts, len(number)], strict=True):
        group = "".join(chr(draw(digit_scripts) + int(d)) for d in number[start:end])
        pieces.append(group)
    text = pieces[0]
    for piece in pieces[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + piece
    return text


@st.composite
def surrounded(draw: st.DrawFn, inner: str) -> str:
    """``inner`` with words around it (no digits: they would join its groups)."""
    before = draw(st.lists(st.sampled_from(WORDS), max_size=3))
    after = draw(st.lists(st.sampled_from(WORDS), max_size=3))
    glue = draw(st.sampled_from([" ", ": ", " (", "\n", "\t", ""]))
    head = " ".join(before) + (glue if before else "")
    tail = (" " if after else "") + " ".join(after)
    return head + inner + tail


@st.composite
def written_card_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(digits, text holding them however written)."""
    number = draw(card_numbers())
    return number, draw(surrounded(draw(written(number))))


# Junk: digits of a few scripts, separators, letters that cannot make an identifier shape
# (the mask leaves those whole on purpose; see the identifier tests below).
JUNK = st.text(
    st.sampled_from(
        [*"0123456789" * 4, *"٠١٢٣٤٥٦٧٨٩", *"０１２３", *" -./_\t\n", "\u00a0", *"xyzжé"]
    ),
    max_size=80,
)


def _digits_of(text: str) -> str:
    return "".join(c for c in _classes(text) if c.isdigit())


# -- the detector ------------------------------------------------------------------------------


@PROPERTY
@given(written_card_numbers())
def test_every_written_card_number_is_found_with_its_digits(case: tuple[str, str]) -> None:
    number, text = case
    assert pan.contains_pan(text)
    assert [digits for _s, _e, digits in pan.find_pans(text)] == [number]


@PROPERTY
@given(JUNK)
def test_the_detector_agrees_with_the_oracle_on_any_text(text: str) -> None:
    assert pan.contains_pan(text) == bool(oracle_numbers(text))


@PROPERTY
@given(st.lists(st.one_of(JUNK, written_card_numbers().map(lambda case: case[1])), max_size=4))
def test_the_detector_agrees_with_the_oracle_on_mixed_text(parts: list[str]) -> None:
    text = " ".join(parts)
    assert pan.contains_pan(text) == bool(oracle_numbers(text))
    for start, end, digits in pan.find_pans(text):
        assert digits in oracle_numbers(text[start:end])


# -- the mask ----------------------------------------------------------------------------------


@pytest.mark.parametrize("length", range(pan.MIN_DIGITS, pan.MAX_DIGITS + 1))
@pytest.mark.parametrize("written_as", ["plain", "fours", "dots", "full-width"])
def test_the_mask_masks_card_numbers_of_every_length(length: int, written_as: str) -> None:
    number = _with_check_digit(("4" + "0123456789" * 2)[: length - 1])
    assert len(number) == length
    text = {
        "plain": number,
        "fours": " ".join(number[i : i + 4] for i in range(0, length, 4)),
        "dots": ".".join(number[i : i + 4] for i in range(0, length, 4)),
        "full-width": "".join(chr(0xFF10 + int(d)) for d in number),
    }[written_as]
    masked = audit.mask_pans(f"card {text} used")
    assert number not in _digits_of(masked)
    assert f"••••{number[-4:]}" in masked
    assert audit.is_pan(text)


def test_the_digits_a_mask_keeps_never_make_a_card_number_with_the_digits_after_it() -> None:
    # "1881" (the kept last four) and the next nine digits pass the Luhn check together.
    after = _with_check_digit("1881" + "20261201")[4:]
    text = f"card {VISA} {after} end"
    masked = audit.mask_pans(text)
    assert oracle_numbers(masked) == set()
    assert audit.mask_pans(masked) == masked
    assert after in masked


@pytest.mark.parametrize("length", [12, 20])
def test_the_mask_leaves_luhn_valid_numbers_too_short_or_too_long(length: int) -> None:
    number = _with_check_digit("4" * (length - 1))
    assert audit.mask_pans(f"card {number} used") == f"card {number} used"


@PROPERTY
@given(written_card_numbers())
def test_the_mask_leaves_no_written_card_number_readable(case: tuple[str, str]) -> None:
    number, text = case
    masked = audit.mask_pans(text)
    assert oracle_numbers(masked) == set()
    assert number not in _digits_of(masked)
    assert audit.mask_pans(masked) == masked


@PROPERTY
@given(st.lists(st.one_of(JUNK, written_card_numbers().map(lambda case: case[1])), max_size=4))
def test_the_mask_is_idempotent_and_leaves_no_card_number(parts: list[str]) -> None:
    masked = audit.mask_pans(" ".join(parts))
    assert oracle_numbers(masked) == set()
    assert audit.mask_pans(masked) == masked


@PROPERTY
@given(written_card_numbers(), st.sampled_from(["reference", "message", "decline_reason"]))
def test_an_audit_line_holds_no_card_number_however_it_was_escaped(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str], field: str
) -> None:
    number, text = case
    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    event = audit.AuditEvent(audit.PAYMENT, "op_bcdf", "failure", "local", "pay_bcdf")
    audit.FileSink(path).emit(
        audit.AuditEvent(
            audit.PAYMENT, "op_bcdf", "failure", "local", "pay_bcdf", {field: text, "last4": "1881"}
        )
    )
    line = path.read_text(encoding="utf-8")
    decoded = json.loads(line)
    assert set(decoded) == set(json.loads(event.to_json()))
    assert set(decoded["details"]) == {field, "last4"}
    assert oracle_numbers(decoded["details"][field]) == set()
    assert number not in _digits_of(decoded["details"][field])


# -- identifiers and texts the mask leaves alone ------------------------------------------------


def _paypal_style(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    while True:
        candidate = "".join(rng.choice(alphabet) for _ in range(17))
        if not candidate.isdigit():
            return candidate


def test_the_mask_never_alters_an_identifier() -> None:
    rng = random.Random(20261201)
    store = Store()
    for n in range(20_000):
        made = [
            ids.random_id(rng.choice([16, 24, 32])),
            ids.digest("payment", str(n)),
            payment_id_for(f"op_{n % 7}", f"key-{rng.getrandbits(64):x}"),
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            _paypal_style(rng),
            # Hex that must stay hex across deploys: request fingerprints (an order's
            # custom_id), PayPal-Request-Ids, SHA-256 digests such as operator key hashes.
            f"clfp1:{rng.getrandbits(160):040x}",
            paypal_request_id_for(f"op_{n % 7}", f"key-{n}"),
            f"{rng.getrandbits(256):064x}",
        ]
        for identifier in made:
            assert audit.mask_pans(identifier) == identifier, identifier
            assert audit.mask_pans(f"id {identifier}.") == f"id {identifier}.", identifier
        # A database page glues values together: the distinctive shapes stay whole there.
        for glued in made[3], made[5], made[6]:
            page = f"orders.create{glued}9FEEDJXVDC6C"
            assert audit.mask_pans(page) == page, glued
        assert not audit.contains_pan(store.new_id())


def test_cardline_ids_hold_no_digit() -> None:
    rng = random.Random(7)
    for n in range(5_000):
        assert not any(c.isdigit() for c in ids.random_id(rng.randint(1, 64)))
        assert not any(c.isdigit() for c in ids.digest(str(n)))


def test_the_emulator_ids_never_hold_thirteen_digits_in_a_row() -> None:
    store = Store()
    for _ in range(20_000):
        candidate = store.new_id()
        assert len(candidate) == 17
        assert (
            max(
                len(run) for run in "".join(c if c.isdigit() else " " for c in candidate).split(" ")
            )
            <= 8
        )


@PROPERTY
@given(st.datetimes(), st.sampled_from(["T", " "]), st.sampled_from(["seconds", "milliseconds"]))
def test_the_mask_leaves_dates_and_times_alone(
    moment: object, separator: str, timespec: str
) -> None:
    text = moment.isoformat(sep=separator, timespec=timespec)  # type: ignore[attr-defined]
    assert audit.mask_pans(f"at {text}") == f"at {text}"


@PROPERTY
@given(st.decimals(min_value=0, max_value=999_999, places=2, allow_nan=False))
def test_the_mask_leaves_amounts_alone(amount: object) -> None:
    for text in (f"{amount}", f"{amount:,}", f"USD {amount} and EUR {amount}"):
        assert audit.mask_pans(text) == text


@PROPERTY
@given(st.integers(1, 99), st.integers(10**8, 10**10 - 1), st.sampled_from([" ", "-", ""]))
def test_the_mask_leaves_phone_numbers_of_up_to_12_digits_alone(
    country: int, number: int, separator: str
) -> None:
    digits = str(number)
    text = f"+{country} {digits[:3]}{separator}{digits[3:6]}{separator}{digits[6:]}"
    assert audit.mask_pans(f"call {text}") == f"call {text}"


@PROPERTY
@given(st.integers(0, 10**8 - 1), st.integers(2000, 2099))
def test_the_mask_leaves_order_numbers_of_up_to_12_digits_alone(number: int, year: int) -> None:
    for text in (
        f"ORD-{year}-{number:08d}",
        f"INV-{year}-11-28-{number % 10000:04d}",
        f"#{number}",
    ):
        assert audit.mask_pans(text) == text


def test_the_mask_keeps_every_key_of_an_audit_line(tmp_path: Path) -> None:
    rng = random.Random(11)
    sink = audit.FileSink(tmp_path / "audit.jsonl")
    sent = []
    for _ in range(2_000):
        reference = " ".join(rng.choice([*WORDS, str(rng.getrandbits(60))]) for _ in range(4))
        event = audit.AuditEvent(
            audit.PAYMENT,
            "op_" + ids.random_id(16),
            "success",
            "203.0.113.7",
            payment_id_for("op", str(rng.random())),
            {"reference": reference, "last4": "1881", "amount": "12.50", "brand": "VISA"},
        )
        sink.emit(event)
        sent.append(event)
    read = list(audit.read_events(tmp_path / "audit.jsonl"))
    assert len(read) == len(sent)
    for before, after in zip(sent, read, strict=True):
        assert set(after.to_dict()) == set(before.to_dict())
        assert set(after.details) == set(before.details)
        assert (after.event_id, after.resource, after.operator) == (
            before.event_id,
            before.resource,
            before.operator,
        )
