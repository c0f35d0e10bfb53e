"""Finding 5: the leak scan finds card data however it is written or encoded, names each
hit masked, and stays silent on what the suite legitimately writes."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import leakscan
from tests.adversarial.written_pans import WRITTEN_FORMS
from tests.aws_support import subscription_event
from tests.cards import (
    AMEX,
    AMEX_CVV,
    CVV,
    DISCOVER,
    MISTYPED_VISA,
    TEST_PANS,
    VISA,
    VISA_CVV_MISMATCH,
    payment,
)
from tests.conftest import Running, local_stack

_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _line(text: str) -> str:
    """A log line around the planted text, as the suite's own logs are written."""
    return f"2026-11-28 12:34:56,789 INFO cardline.cde.charge: note {text} (end)\n"


def _fours(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _percent_every_byte(text: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode())


def _entities(text: str) -> str:
    return "".join(f"&#{ord(c)};" for c in text)


VISA_LINE = _line(_fours(VISA))
VISA_MASK = "••••" + VISA[-4:]
AMEX_MASK = "••••" + AMEX[-4:]

# (form, what the file holds, what the hit must say)
PAN_FORMS: list[tuple[str, bytes, str]] = [
    *(
        (f"written: {label}", _line(text).encode(), AMEX_MASK if "amex" in label else VISA_MASK)
        for label, text in WRITTEN_FORMS
    ),
    ("amex 4-6-5 spaces", _line(f"{AMEX[:4]} {AMEX[4:10]} {AMEX[10:]}").encode(), AMEX_MASK),
    ("first 12 digits", _line(_fours(VISA[:12])).encode(), "first 12 digits"),
    ("first 15 digits", _line(VISA[:15]).encode(), "first 15 digits"),
    ("Luhn-invalid test card", _line(MISTYPED_VISA).encode(), "••••" + MISTYPED_VISA[-4:]),
    ("card not in the list", _line("4111 1111 1111 1111").encode(), "••••1111"),
    ("13-digit card not in the list", _line("4222222222222").encode(), "••••2222"),
    ("19-digit card not in the list", _line("6011 0009 9013 9424 009").encode(), "••••4009"),
]

ENCODED_FORMS: list[tuple[str, bytes]] = [
    ("utf-16-le with BOM", VISA_LINE.encode("utf-16")),
    ("utf-16-be with BOM", b"\xfe\xff" + VISA_LINE.encode("utf-16-be")),
    ("utf-16-le without BOM", VISA_LINE.encode("utf-16-le")),
    ("utf-16-be without BOM", VISA_LINE.encode("utf-16-be")),
    ("utf-16 full-width digits", _line(VISA.translate(_FULL_WIDTH)).encode("utf-16-le")),
    ("utf-16 at an odd offset in binary", b"\x00\x01\x02" + VISA_LINE.encode("utf-16-le")),
    ("url-encoded", urllib.parse.quote(VISA_LINE).encode()),
    ("every byte percent-encoded", _percent_every_byte(VISA_LINE).encode()),
    ("url-encoded twice", urllib.parse.quote(urllib.parse.quote(VISA_LINE)).encode()),
    ("form-encoded", urllib.parse.urlencode({"card": _fours(VISA)}).encode()),
    ("base64", base64.b64encode(VISA_LINE.encode())),
    ("base64url unpadded", base64.urlsafe_b64encode(VISA_LINE.encode()).rstrip(b"=")),
    ("base64 in MIME lines", base64.encodebytes((VISA_LINE * 4).encode())),
    ("gzip", gzip.compress(VISA_LINE.encode())),
    ("gzip after other bytes", b"header\x00" + gzip.compress(VISA_LINE.encode())),
    ("zlib", zlib.compress(VISA_LINE.encode())),
    (
        "CloudWatch Logs subscription (base64 of gzip of JSON)",
        json.dumps(subscription_event([json.dumps({"note": VISA})])).encode(),
    ),
    (
        "base64 inside JSON inside gzip",
        gzip.compress(
            json.dumps({"payload": base64.b64encode(VISA_LINE.encode()).decode()}).encode()
        ),
    ),
    ("JSON \\u escapes (full-width)", json.dumps({"note": VISA.translate(_FULL_WIDTH)}).encode()),
    ("JSON-escaped one digit per line", json.dumps({"note": "\n".join(VISA)}).encode()),
    ("JSON in a JSON string", json.dumps({"body": json.dumps({"n": "\n".join(VISA)})}).encode()),
    ("HTML/XML entities", _entities(VISA_LINE).encode()),
    ("XML line-break entities", "&#10;".join(VISA).encode()),
    ("python repr of UTF-16 bytes", repr(VISA_LINE.encode("utf-16-le")).encode()),
]

CVV_FORMS: list[tuple[str, str]] = [
    ("security_code JSON", f'{{"security_code": "{CVV}"}}'),
    ("securityCode", f"securityCode={CVV}"),
    ("security-code", f"security-code: {AMEX_CVV}"),
    ("security code in words", f"the security code {CVV} was read out"),
    ("Security Code capitalised", f"Security Code: {AMEX_CVV}"),
    ("SECURITY_CODE", f"SECURITY_CODE={CVV}"),
    ("cvv", f"cvv: {CVV}"),
    ("cvv2", f"cvv2={CVV}"),
    ("CVV upper case", f"CVV {AMEX_CVV}"),
    ("cvc", f"cvc={AMEX_CVV}"),
    ("cvc2", f"CVC2: {CVV}"),
    ("csc", f"csc '{CVV}'"),
    ("cid", f"cid={AMEX_CVV}"),
    ("camelCase field", f"cardCvv={CVV}"),
    ("form field", f"card[security_code]={CVV}"),
    ("python dict repr", f"{{'cvv': '{CVV}'}}"),
    ("JSON-escaped", json.dumps(json.dumps({"cvv": CVV}))),
    ("url-encoded", urllib.parse.quote(f'"security_code": "{CVV}"')),
    ("full-width value", f"cvv: {CVV.translate(_FULL_WIDTH)}"),
    ("base64 of JSON", base64.b64encode(json.dumps({"securityCode": CVV}).encode()).decode()),
]


def _scan_text(tmp_path: Path, content: bytes) -> list[str]:
    path = tmp_path / "artifact.log"
    path.write_bytes(content)
    return [str(hit) for hit in leakscan.scan([path])]


def _leaks_no_number(hits: list[str]) -> None:
    """A hit report never repeats what it found: no test PAN nor its first 12 digits."""
    report = "\n".join(hits)
    digits = "".join(c for c in report if c.isdigit())
    for pan in TEST_PANS:
        assert pan[:12] not in digits, report


@pytest.mark.parametrize(("content", "said"), [pytest.param(c, s, id=f) for f, c, s in PAN_FORMS])
def test_every_written_form_of_a_card_number_is_found(
    tmp_path: Path, content: bytes, said: str
) -> None:
    hits = _scan_text(tmp_path, content)
    assert hits, "nothing found"
    assert said in "\n".join(hits)
    _leaks_no_number(hits)


@pytest.mark.parametrize("content", [pytest.param(c, id=f) for f, c in ENCODED_FORMS])
def test_every_encoding_of_a_card_number_is_found(tmp_path: Path, content: bytes) -> None:
    hits = _scan_text(tmp_path, content)
    assert hits, "nothing found"
    assert VISA_MASK in "\n".join(hits)
    _leaks_no_number(hits)


@pytest.mark.parametrize("text", [pytest.param(t, id=f) for f, t in CVV_FORMS])
def test_every_spelling_of_a_test_security_code_is_found(tmp_path: Path, text: str) -> None:
    hits = _scan_text(tmp_path, _line(text).encode())
    assert len(hits) == 1, hits
    assert "security code" in hits[0]
    assert CVV not in hits[0]


def test_a_hit_names_the_file_the_line_and_the_layers(tmp_path: Path) -> None:
    inner = json.dumps({"payload": base64.b64encode(VISA_LINE.encode()).decode()})
    hits = _scan_text(tmp_path, b"first line\n" + gzip.compress(inner.encode()))
    assert len(hits) == 1
    assert str(tmp_path / "artifact.log") in hits[0]
    assert "gzip" in hits[0]
    assert "base64" in hits[0]
    assert "line 1" in hits[0]


# What the suite legitimately writes: audit lines, logs, answers, ids, times, amounts, ports.
CLEAN_CORPUS = "\n".join(
    [
        "2026-11-28 12:34:56,789 INFO cardline.cde.charge: payment approved ••••1881 (VISA)",
        "2026-11-28 23:59:59,999 WARNING cardline.cde.paypal: attempt 2 of 4 after 0.35 s",
        json.dumps(
            {
                "schema": "cardline.cde.audit/1",
                "event_id": "evt_kqzmbwxrtyhpnsdjcfglvaeiou",
                "time": "2026-11-28T12:34:56.789123+00:00",
                "type": "payment",
                "operator": "op_bcdfghjklmnpqrst",
                "amount": "12.50",
                "currency": "USD",
                "card": {"brand": "VISA", "last4": "1881", "expiry": "12/29"},
                "paypal_order_id": "5O190127TN364715T",
                "paypal_capture_id": "2GG279541U471931P",
                "paypal_request_id": "cardline-charge-" + "0123456789abcdef" * 3,
                "debug_id": "f0a1b2c3d4e5f",
                "contact_id": "c0a8012e-4b1f-4c6d-9e2a-123456789012",
                "request_id": "0123456789abcdef0123456789abcdef",
            }
        ),
        "POST /v1/payments -> 201 {'Content-Type': 'application/json', "
        "'Date': 'Sat, 28 Nov 2026 12:34:56 GMT', 'Content-Length': '312'}",
        '{"status": "approved", "brand": "VISA", "last4": "1881", "amount": "123.00"}',
        "serving on http://127.0.0.1:54321 and 127.0.0.1:40123; emulator 127.0.0.1:8080",
        "pid 12345 port 5432 uid 1000 gid 1000 exit 0",
        '{"timestamp": 1795000000001, "id": "36000000000000000000000000000000001"}',
        "1795000000000123 1795000000000123456 epoch microseconds and nanoseconds",
        "20261128123456 20261128T123456Z 2026/11/28 28/11/2026 11-28-2026",
        "amounts 12.50, 100.00, 3.14, 27.99, 1.00, 5.00, 0.01, 999999.99",
        '{"security_code_length": 3, "cvv": "***", "detail": "must be 3 digits"}',
        "The security code must be 4 digits for American Express cards",
        '{"field": "security_code", "code": "invalid_card"}',
        "tests/unit/test_card.py::test_brand PASSED [ 12%]",
        "1194 passed, 3 skipped in 812.34s (0:13:32)",
        "Test cases: 1300 generated, 1300 passed; Selected: 9/9; Tested: 9",
        '{"scenario": "HTTP 503 on every attempt", "answer": "504 outcome_unknown", '
        '"captures": 1, "ledger": "approved"}',
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "version 1.44.8 python 3.13.1 build 20261128.1",
    ]
)


def test_the_clean_corpus_gives_no_hit(tmp_path: Path) -> None:
    assert _scan_text(tmp_path, CLEAN_CORPUS.encode()) == []


def test_the_clean_corpus_gives_no_hit_in_any_encoding(tmp_path: Path) -> None:
    lines = CLEAN_CORPUS.splitlines()
    blob = b"\n".join(
        [
            CLEAN_CORPUS.encode("utf-16"),
            gzip.compress(CLEAN_CORPUS.encode()),
            base64.b64encode(CLEAN_CORPUS.encode()),
            json.dumps(subscription_event(lines)).encode(),
            urllib.parse.quote(CLEAN_CORPUS).encode(),
        ]
    )
    assert _scan_text(tmp_path, blob) == []


@pytest.mark.slow
def test_what_a_real_payment_flow_leaves_gives_no_hit(running: Running, data_dir: Path) -> None:
    """The ledger (SQLite), the audit file and the answers of approved, declined, refused
    and refunded payments: real artifacts, with their ids, times and amounts."""
    client = running.client
    paid = client.pay(payment(VISA)).json()
    assert client.pay(payment(AMEX, code=AMEX_CVV)).status == 201
    assert client.pay(payment(DISCOVER, name="CCREJECT-IF")).status == 201
    assert client.pay(payment(MISTYPED_VISA)).status == 422
    refund = client.request(
        "POST", f"/v1/payments/{paid['id']}/refunds", {"amount": "5.00"}, idempotency_key="r"
    )
    assert refund.status == 201
    answers = [client.request("GET", "/v1/payments"), client.request("GET", "/openapi.json")]
    (data_dir / "answers.txt").write_bytes(b"\n".join(a.body for a in answers))
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())
    assert any(p.suffix == ".sqlite3" for p in files)
    assert [str(hit) for hit in leakscan.scan(files)] == []


def test_what_authorize_capture_void_and_the_rules_leave_gives_no_hit(
    data_dir: Path, artifacts: Path
) -> None:
    """Authorizations captured in part and voided, a billing address, and the merchant
    rules voiding a card whose security code did not match: the ledger, the audit file,
    the emulator's state and every answer hold no card number, security code or postal
    code."""
    rules = json.dumps({"cvv_mismatch": "refuse", "avs_no_match": "flag"})
    with local_stack(data_dir, artifacts, {"CARDLINE_RULES": rules}) as running:
        client = running.client
        body = payment(VISA, amount="20.00")
        body["intent"] = "AUTHORIZE"
        body["card"]["billing_address"] = {"postal_code": "00000", "country_code": "US"}  # type: ignore[index]
        held = client.pay(body).json()
        answers = [
            client.request(
                "POST",
                f"/v1/payments/{held['id']}/capture",
                {"amount": "5.00"},
                idempotency_key="c",
            ),
            client.request("POST", f"/v1/payments/{held['id']}/void", idempotency_key="v"),
            client.pay(payment(VISA_CVV_MISMATCH)),
            client.request("GET", f"/v1/payments/{held['id']}"),
            client.request("GET", "/v1/payments"),
        ]
        assert [a.status for a in answers] == [201, 201, 201, 200, 200]
        assert answers[2].json()["status"] == "declined"
    (data_dir / "answers.txt").write_bytes(b"\n".join(a.body for a in answers))
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())
    assert [str(hit) for hit in leakscan.scan(files)] == []
    for path in files:
        assert b'"00000"' not in path.read_bytes(), path  # the postal code went to PayPal only


@settings(max_examples=300, derandomize=True, deadline=None)
# Until 2039-09: later, a millisecond timestamp starts 2200, as a Mir card does.
@given(st.integers(min_value=0, max_value=19 * 365 * 24 * 3600 * 1000))
def test_no_timestamp_is_taken_for_a_card_number(offset_ms: int) -> None:
    moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(milliseconds=offset_ms)
    text = " | ".join(
        [
            moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{moment.microsecond // 1000:03d}",
            moment.isoformat(),
            moment.strftime("%Y%m%d%H%M%S"),
            moment.strftime("%d/%m/%Y %H:%M:%S"),
            str(int(moment.timestamp() * 1000)),
            str(int(moment.timestamp() * 1_000_000)),
        ]
    )
    assert leakscan.scan_text(text) == []
