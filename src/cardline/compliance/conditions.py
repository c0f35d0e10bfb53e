"""A template evaluated for given parameter values, as CloudFormation would deploy it:
each parameter takes the value given or its default, each of the template's ``Conditions``
is decided from them (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Condition``,
with ``Ref`` to parameters and ``Fn::Join``/``Fn::Select`` over them), a resource whose
condition is false is not created, and every ``Fn::If`` takes its chosen branch
(``Ref: AWS::NoValue`` removing the property or item it stands for).

What cannot be decided from the template and the values (a pseudo parameter such as
``AWS::Region`` left unset, a parameter with neither value nor default, an unknown
function) is left undecided and said so: a resource under an undecided condition stays in
the model under that condition, and both branches of its ``Fn::If`` count.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = "AWS::NoValue"


class _Unknown(Exception):
    """A value the template and the parameter values do not decide."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


_REMOVED = object()  # what ``Ref: AWS::NoValue`` leaves: the key or item goes


@dataclass(frozen=True)
class Evaluation:
    """The parameter values a template is read with and the conditions they decide:
    ``conditions[name]`` is True or False; ``undecided[name]`` says why one is neither."""

    values: dict[str, Any] = field(default_factory=dict)
    given: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)
    undecided: dict[str, str] = field(default_factory=dict)

    def holds(self, condition: str) -> bool | None:
        """True or False when decided, None when not."""
        return self.conditions.get(condition)

    def resolve(self, value: Any) -> Any:
        """``value`` with every decided ``Fn::If`` replaced by its chosen branch and
        ``Ref: AWS::NoValue`` removed (from a mapping its key, from a list its item)."""
        out = self._resolve(value)
        return None if out is _REMOVED else out

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if value == {"Ref": NO_VALUE}:
                return _REMOVED
            branch = value.get("Fn::If")
            if len(value) == 1 and isinstance(branch, list) and len(branch) == 3:
                decided = self.holds(str(branch[0]))
                if decided is not None:
                    return self._resolve(branch[1] if decided else branch[2])
            out: dict[str, Any] = {}
            for key, item in value.items():
                resolved = self._resolve(item)
                if resolved is not _REMOVED:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            return [r for r in (self._resolve(v) for v in value) if r is not _REMOVED]
        return value


def check_values(parameters: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Raise ValueError for a given value the template does not declare or allow."""
    for name, value in given.items():
        if name.startswith("AWS::"):
            continue  # pseudo parameters (AWS::Region, ...) may be given
        declared = parameters.get(name)
        if not isinstance(declared, dict):
            raise ValueError(f"parameter {name} is not declared by the template")
        allowed = declared.get("AllowedValues")
        if isinstance(allowed, list) and str(value) not in {str(a) for a in allowed}:
            raise ValueError(f"parameter {name}: {value!r} is not one of {allowed}")
        pattern = declared.get("AllowedPattern")
        if isinstance(pattern, str) and not re.fullmatch(pattern, str(value)):
            raise ValueError(f"parameter {name}: {value!r} does not match {pattern}")


def evaluate(document: Mapping[str, Any], given: Mapping[str, Any] | None = None) -> Evaluation:
    """Decide ``document``'s conditions for the ``given`` parameter values (the rest take
    their defaults)."""
    given = dict(given or {})
    parameters = document.get("Parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    check_values(parameters, given)
    values: dict[str, Any] = {}
    for name, declared in parameters.items():
        if name in given:
            values[name] = given[name]
        elif isinstance(declared, dict) and "Default" in declared:
            values[name] = declared["Default"]
    values.update({k: v for k, v in given.items() if k.startswith("AWS::")})
    kinds = {
        name: str(declared.get("Type", "String"))
        for name, declared in parameters.items()
        if isinstance(declared, dict)
    }
    raw = document.get("Conditions")
    definitions: dict[str, Any] = raw if isinstance(raw, dict) else {}
    decided: dict[str, bool] = {}
    undecided: dict[str, str] = {}

    def condition(name: str, stack: tuple[str, ...]) -> bool:
        if name in decided:
            return decided[name]
        if name in undecided:
            raise _Unknown(undecided[name])
        if name not in definitions:
            raise _Unknown(f"condition {name} is not defined in the template")
        if name in stack:
            raise _Unknown(f"condition {name} refers to itself")
        try:
            result = truth(definitions[name], (*stack, name))
        except _Unknown as unknown:
            undecided[name] = unknown.why
            raise
        decided[name] = result
        return result

    def truth(node: Any, stack: tuple[str, ...]) -> bool:
        if isinstance(node, bool):
            return node
        if isinstance(node, dict) and len(node) == 1:
            (function, args), *_ = node.items()
            if function == "Condition" and isinstance(args, str):
                return condition(args, stack)
            if function == "Fn::Not" and isinstance(args, list) and len(args) == 1:
                return not truth(args[0], stack)
            if function == "Fn::And" and isinstance(args, list):
                return all([truth(a, stack) for a in args])
            if function == "Fn::Or" and isinstance(args, list):
                return any([truth(a, stack) for a in args])
            if function == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
                left, right = (scalar(a) for a in args)
                return _text(left) == _text(right)
        raise _Unknown(f"cannot decide {node!r}")

    def scalar(node: Any) -> Any:
        if isinstance(node, str | int | float | bool):
            return node
        if isinstance(node, dict) and len(node) == 1:
            (function, args), *_ = node.items()
            if function == "Ref" and isinstance(args, str):
                if args not in values:
                    raise _Unknown(f"{args} has no value (give it in the variant)")
                value = values[args]
                if kinds.get(args, "").startswith(("CommaDelimitedList", "List<")):
                    return value if isinstance(value, list) else str(value).split(",")
                return value
            if function == "Fn::Join" and isinstance(args, list) and len(args) == 2:
                items = scalar(args[1])
                items = items if isinstance(items, list) else [items]
                return str(args[0]).join(_text(scalar(i)) for i in items)
            if function == "Fn::Select" and isinstance(args, list) and len(args) == 2:
                items = scalar(args[1])
                index = int(_text(scalar(args[0])))
                if isinstance(items, list) and 0 <= index < len(items):
                    return scalar(items[index])
        if isinstance(node, list):
            return [scalar(n) for n in node]
        raise _Unknown(f"cannot evaluate {node!r}")

    for name in definitions:
        with contextlib.suppress(_Unknown):  # recorded in ``undecided``
            condition(str(name), ())
    return Evaluation(values, given, decided, undecided)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)
