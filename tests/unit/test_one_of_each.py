"""One of each: the mechanisms written once stay written once.

Each test reads the source of ``src/cardline`` (the emulator in ``sandbox/``, which
imitates PayPal rather than using cardline's mechanisms, aside) and fails if a second
copy of a shared mechanism comes back.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "cardline"
OTHERS = ("sandbox",)  # the emulator: PayPal's answers, in PayPal's own words


def _sources(*allowed: str) -> dict[str, str]:
    """Every module's text by its path under src/cardline, but ``allowed`` and OTHERS."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        name = path.relative_to(SRC).as_posix()
        if name in allowed or name.split("/")[0] in OTHERS:
            continue
        found[name] = path.read_text(encoding="utf-8")
    return found


def _hits(pattern: str, *allowed: str) -> list[str]:
    regex = re.compile(pattern)
    return [
        f"{name}:{number}"
        for name, text in _sources(*allowed).items()
        for number, line in enumerate(text.splitlines(), 1)
        if regex.search(line)
    ]


def _json_encoders(name: str, text: str) -> list[str]:
    """Where a module builds a JSON encoder of its own: ``json.JSONEncoder(...)``, or
    ``json.dumps(...)`` with the options of one of the encoding module's forms."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        options = {keyword.arg for keyword in node.keywords}
        if node.func.attr == "JSONEncoder" or (
            node.func.attr == "dumps" and options & {"separators", "sort_keys"}
        ):
            found.append(f"{name}:{node.lineno}")
    return found


def test_json_is_encoded_by_the_one_encoding_module() -> None:
    built = [
        where
        for name, text in _sources("cde/encoding.py").items()
        for where in _json_encoders(name, text)
    ]
    assert built == []


def test_audit_events_are_written_through_audit_record() -> None:
    # reconcile.py folds a would-be event into a refund row to see whether the ledger takes
    # a repair, and ledger/states.py reads a webhook event as the payment or refund event it
    # amounts to, to fold it: events never written, so not ones audit.record makes.
    built = _hits(r"\bAuditEvent\(", "cde/audit.py")
    assert [where.split(":")[0] for where in built] == ["ledger/states.py", "reconcile.py"]
    assert "fold_refund(row, event)" in _sources()["reconcile.py"]
    assert "return AuditEvent(" in _sources()["ledger/states.py"]
    handed = _hits(r"\.emit\((audit\.)?AuditEvent\(|\.emit\(\w+\.event\(")
    assert handed == []


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the nodes that are docstrings (a module's, a class's, a function's)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _sentences() -> dict[str, list[str]]:
    """Every string literal that reads as a sentence (an answer's detail, an agent's or a
    caller's words, a log line's), by where it is written; docstrings aside."""
    found: dict[str, list[str]] = {}
    for name, text in _sources().items():
        tree = ast.parse(text)
        # The literal parts of an f-string are pieces of a sentence, not one.
        skipped = _docstrings(tree) | {
            id(part)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for part in node.values
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            words = node.value.strip()
            if id(node) in skipped or len(words) < 30 or words.count(" ") < 3:
                continue
            found.setdefault(words, []).append(f"{name}:{node.lineno}")
    return found


def test_every_sentence_is_written_once() -> None:
    twice = {words: where for words, where in _sentences().items() if len(where) > 1}
    assert twice == {}


def test_emf_documents_are_built_by_the_metrics_module() -> None:
    # The charge and ivr functions' lines and the key check's: cde/metrics.emf_document.
    assert _hits(r"CloudWatchMetrics", "cde/metrics.py") == []
