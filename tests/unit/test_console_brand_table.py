"""The console's card-brand table (console/checks.js) says what cardline.cde.card says.

The console judges a number as the agent types it; the service judges it again with
cardline.cde.card. The two tables are written in two languages, so this test reads the
JavaScript table and compares it with card.py's, brand by brand: display name,
security-code length, card lengths and IIN ranges. A range or length changed on one side
only fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import cardline.console
from cardline.cde import card
from cardline.cde.card import Brand

CHECKS_JS = Path(cardline.console.__file__).parent / "checks.js"


def console_table(text: str | None = None) -> list[list[object]]:
    """``BRANDS`` of checks.js (or of ``text``), read as JSON: it is written as a JSON
    array literal, trailing commas aside."""
    text = CHECKS_JS.read_text("utf-8") if text is None else text
    found = re.search(r"^const BRANDS = (\[.*?^\]);$", text, re.DOTALL | re.MULTILINE)
    assert found is not None, "checks.js no longer declares `const BRANDS = [...];`"
    return list(json.loads(re.sub(r",(\s*\])", r"\1", found.group(1))))


def service_table() -> dict[str, tuple[int, list[int], set[str]]]:
    """card.py's brands by display name: security-code length, lengths, IIN spans."""
    table: dict[str, tuple[int, list[int], set[str]]] = {}
    # card.py keeps its ranges private (the charge path needs no accessor for them).
    for _size, low, high, lengths, brand in card._IIN_RANGES:
        _code, known_lengths, spans = table.setdefault(
            brand.display, (brand.security_code_length, sorted(lengths), set())
        )
        assert known_lengths == sorted(lengths), f"{brand}: one set of lengths per brand"
        spans.add(low if low == high else f"{low}-{high}")
    return table


def test_every_brand_card_py_knows_is_in_the_console_table_and_nothing_else() -> None:
    names = [row[0] for row in console_table()]
    assert sorted(names) == sorted(brand.display for brand in Brand)
    assert len(names) == len(set(names))


def differences(rows: list[list[object]]) -> list[str]:
    """Brands whose console row differs from card.py."""
    service = service_table()
    wrong = []
    for name, code_length, usual, lengths, spans in rows:
        assert isinstance(name, str)
        assert isinstance(lengths, list)
        assert isinstance(spans, list)
        same = (code_length, sorted(lengths), set(spans)) == service.get(name)
        if not same or len(spans) != len(set(spans)) or usual not in lengths:
            wrong.append(name)
    return wrong


def test_each_brand_has_the_same_code_length_lengths_and_ranges() -> None:
    assert differences(console_table()) == []


@pytest.mark.parametrize(
    ("before", "after", "brand"),
    [
        ('"2221-2720"', '"2221-2721"', "Mastercard"),
        ('[13, 16, 19], ["4"]', '[13, 16], ["4"]', "Visa"),
        ('["American Express", 4,', '["American Express", 3,', "American Express"),
    ],
)
def test_a_change_on_one_side_only_is_caught(before: str, after: str, brand: str) -> None:
    text = CHECKS_JS.read_text("utf-8")
    assert before in text
    assert differences(console_table(text.replace(before, after))) == [brand]
