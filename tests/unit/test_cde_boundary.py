"""The card-data boundary is a folder: only modules in ``cardline/cde/`` (the charge
function) and ``cardline/ivr/`` (the IVR function, which decrypts the keyed digits) may
import the types that hold a card number. The types are found, not listed: everything
``cardline.cde.card`` defines, and every class or function of the CDE whose signature
takes or gives one of them, to a fixed point."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import cardline
import cardline.cde

SOURCE = Path(cardline.__file__).parent
CARD_AWARE_FOLDERS = ("cde", "ivr")


def _cde_modules() -> dict[str, object]:
    return {
        info.name: importlib.import_module(info.name)
        for info in pkgutil.walk_packages(cardline.cde.__path__, "cardline.cde.")
    }


def _hinted_names(value: object) -> set[str]:
    """The words of ``value``'s annotations (a class's fields and its ``__init__``'s),
    unevaluated: the charge path imports its typing names only for the checker."""
    targets = [value, value.__init__] if inspect.isclass(value) else [value]  # type: ignore[misc]
    words = set()
    for target in targets:
        try:
            annotations = inspect.get_annotations(target)
        except TypeError:  # a slot wrapper: object.__init__
            continue
        words |= {word for hint in annotations.values() for word in re.findall(r"\w+", str(hint))}
    return words


def card_data_names() -> set[tuple[str, str]]:
    """(module, name) of every CDE type or function that holds, takes or gives card data."""
    modules = _cde_modules()
    card = modules["cardline.cde.card"]
    carriers = {
        name
        for name, value in vars(card).items()
        if inspect.isclass(value) and value.__module__ == card.__name__
    }
    names = {(card.__name__, "*")}
    grew = True
    while grew:
        grew = False
        for module_name, module in modules.items():
            for name, value in vars(module).items():
                if not (inspect.isclass(value) or inspect.isfunction(value)):
                    continue
                if getattr(value, "__module__", None) != module_name:
                    continue
                known = (module_name, name) in names
                if not known and (name in carriers or _hinted_names(value) & carriers):
                    names.add((module_name, name))
                    if inspect.isclass(value):
                        carriers.add(value.__name__)
                    grew = True
    return names


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of each ``from module import name`` and ``import module`` in path."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
            found += [(f"{node.module}.{alias.name}", "*") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "*") for alias in node.names]
    return found


def test_the_card_types_are_found() -> None:
    names = card_data_names()
    assert ("cardline.cde.card", "Card") in names
    assert ("cardline.cde.charge", "PaymentRequest") in names  # it holds a Card
    assert ("cardline.cde.charge", "parse_payment_request") in names  # it makes one
    assert ("cardline.cde.paypal.client", "PayPalClient") not in names  # takes a request


def test_no_module_outside_the_card_data_folders_imports_card_data() -> None:
    forbidden = card_data_names()
    modules = {module for module, _ in forbidden}
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        folder = path.relative_to(SOURCE).parts[0]
        if folder in CARD_AWARE_FOLDERS:
            continue
        for module, name in _imports(path):
            if (module, name) in forbidden or (module in modules and (module, "*") in forbidden):
                offenders.append(f"{path.relative_to(SOURCE)}: {module} {name}")
    assert offenders == []


def test_the_check_sees_an_import_of_card_data(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("from cardline.cde.charge import PaymentRequest\nimport cardline.cde.card\n")
    forbidden = card_data_names()
    assert [item for item in _imports(planted) if item in forbidden] == [
        ("cardline.cde.charge", "PaymentRequest"),
        ("cardline.cde.card", "*"),
    ]
