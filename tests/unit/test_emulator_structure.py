"""One of each in the emulator: one routing table with nothing routed beside it, and
``Emulator`` in a module of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import cardline.sandbox
from cardline.sandbox import Emulator
from cardline.sandbox.app import ROUTES, find

SANDBOX = Path(cardline.sandbox.__file__).parent


def _path_literals_outside_the_table(tree: ast.Module) -> list[str]:
    """Paths ("/...") a module compares or prefix-matches a request against."""
    found = []
    for node in ast.walk(tree):
        literals: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            literals = [node.left, *node.comparators]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "endswith", "removeprefix")
        ):
            literals = list(node.args)
        for literal in literals:
            parts = literal.elts if isinstance(literal, ast.Tuple) else [literal]
            for part in parts:
                if (
                    isinstance(part, ast.Constant)
                    and isinstance(part.value, str)
                    and part.value.startswith("/")
                ):
                    found.append(f"line {node.lineno}: {part.value!r}")
    return found


def test_no_module_routes_a_request_beside_the_table() -> None:
    offenders = {}
    for module in sorted(SANDBOX.glob("*.py")):
        hits = _path_literals_outside_the_table(ast.parse(module.read_text("utf-8")))
        if hits:
            offenders[module.name] = hits
    assert offenders == {}


def test_every_route_is_one_method_on_one_path_pattern() -> None:
    keys = [(route.method, route.pattern.pattern) for route in ROUTES]
    assert len(keys) == len(set(keys))
    assert len({route.name for route in ROUTES}) == len(ROUTES)


def test_the_table_answers_oauth_search_and_the_inspection_api_too() -> None:
    assert find("POST", "/v1/oauth2/token").name == "oauth.token"
    assert find("GET", "/v1/reporting/transactions").name == "reporting.transactions"
    assert find("GET", "/_emulator/stats").control
    assert not find("GET", "/v2/checkout/orders/X").control
    assert find("TRACE", "/v2/checkout/orders/X").route is None
    assert find("TRACE", "/v2/checkout/orders/X").name == "orders.get"


def test_emulator_lives_in_its_own_module() -> None:
    assert Emulator.__module__ == "cardline.sandbox.emulator"
    server = ast.parse((SANDBOX / "server.py").read_text("utf-8"))
    classes = {node.name for node in ast.walk(server) if isinstance(node, ast.ClassDef)}
    assert "Emulator" not in classes


def test_the_partial_amount_rule_is_written_once() -> None:
    """Capture, refund and reauthorize compare currencies and limits only in amounts.within."""
    comparing = set()
    for module in sorted(SANDBOX.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            if isinstance(node, ast.Compare) and all(
                isinstance(side, ast.Attribute) and side.attr == "currency"
                for side in (node.left, *node.comparators)
            ):
                comparing.add(module.name)
    assert comparing == {"amounts.py"}
