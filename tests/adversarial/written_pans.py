"""Card numbers written every way a person, a keyboard or a program might write them."""

from __future__ import annotations

from tests.cards import AMEX, VISA


def _groups(number: str, sizes: tuple[int, ...]) -> list[str]:
    out, at = [], 0
    for size in sizes:
        out.append(number[at : at + size])
        at += size
    return out


def _fours(number: str) -> list[str]:
    return [number[i : i + 4] for i in range(0, len(number), 4)]


_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")

# (label, text): every text holds VISA or AMEX.
WRITTEN_FORMS: tuple[tuple[str, str], ...] = (
    ("plain", VISA),
    ("one space", " ".join(_fours(VISA))),
    ("double space", "  ".join(_fours(VISA))),
    ("dash and space", "-".join(_fours(VISA)[:2]) + " " + "-".join(_fours(VISA)[2:])),
    ("dots", ".".join(_fours(VISA))),
    ("underscores", "_".join(_fours(VISA))),
    ("slashes", "/".join(_fours(VISA))),
    ("tabs", "\t".join(_fours(VISA))),
    ("no-break spaces", "\u00a0".join(_fours(VISA))),
    ("en-dashes", "\u2013".join(_fours(VISA))),
    (
        "mixed separators",
        _fours(VISA)[0] + " - " + _fours(VISA)[1] + ".." + "".join(_fours(VISA)[2:]),
    ),
    ("one digit per line", "\n".join(VISA)),
    ("amex 4-6-5 dots", ".".join(_groups(AMEX, (4, 6, 5)))),
    ("full-width", VISA.translate(_FULL_WIDTH)),
    ("full-width in fours", " ".join(_fours(VISA.translate(_FULL_WIDTH)))),
    ("arabic-indic", VISA.translate(_ARABIC_INDIC)),
    ("devanagari", VISA.translate(_DEVANAGARI)),
    ("glued to letters", "x" + VISA),
    ("followed by a security code", VISA + " 123"),
)
