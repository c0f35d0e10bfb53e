"""The leak scan itself: it must find what it is meant to find."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests import leakscan
from tests.cards import AMEX, AMEX_CVV, CVV, VISA


@pytest.mark.parametrize(
    "content",
    [
        f"log line {VISA} end",
        "card 4012 8888 8888 1881",
        "card 4012-8888-8888-1881",
        "amex 3714 496353 98431",
        f'{{"security_code": "{CVV}"}}',
        f"cvv={AMEX_CVV}",
    ],
)
def test_scan_finds_planted_card_data(tmp_path: Path, content: str) -> None:
    (tmp_path / "out.log").write_text(content)
    assert len(leakscan.scan([tmp_path / "out.log"])) == 1


def test_scan_reads_sqlite_files(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE t (v TEXT)")
        connection.execute("INSERT INTO t VALUES (?)", (AMEX,))
    assert leakscan.scan([db])


def test_scan_passes_masked_output(tmp_path: Path) -> None:
    (tmp_path / "ok.log").write_text('{"last4": "1881", "brand": "VISA", "amount": "123.00"}')
    assert leakscan.scan([tmp_path / "ok.log"]) == []


def test_main_fails_on_a_hit_and_on_an_empty_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert leakscan.main([str(empty)]) == 1
    (tmp_path / "leak.txt").write_text(VISA)
    assert leakscan.main([str(tmp_path)]) == 1
