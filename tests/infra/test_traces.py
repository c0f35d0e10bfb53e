"""Which functions send X-Ray traces, and what lets them.

The decision (docs/operations.md, "Traces"): the backoffice, the reconcile job and the
projector trace actively (Powertools' Tracer; they never see card data). The charge and
ivr functions hold card data in memory and do not trace: neither can hold the X-Ray SDK
(the charge path is the standard library only), so a trace would be Lambda's own segment
alone, and the runtime puts the text of any exception escaping a handler into that
segment's cause (awslambdaric's ``make_xray_fault``). Their roles hold no X-Ray permission,
so nothing from inside those functions can reach X-Ray whatever their configuration says.
"""

from __future__ import annotations

import importlib
from typing import Any

from cardline.cde import metrics

TRACED = {"BackofficeFunction", "ReconcileFunction", "ProjectorFunction"}
CARD_DATA = {"ChargeFunction", "IvrFunction"}  # not traced: see the module docstring
XRAY_WRITES = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _functions(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in translated["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }


def _role_of(function: dict[str, Any]) -> str:
    role = function["Role"]
    assert set(role) == {"Fn::GetAtt"}, role
    name: str = role["Fn::GetAtt"][0]
    return name


def _actions_of(translated: dict[str, Any], role: str) -> set[str]:
    """Every action the role's inline policies and its RolePolicy resources allow."""
    resources = translated["Resources"]
    documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
    documents += [
        resource["Properties"]["PolicyDocument"]
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::RolePolicy"
        and resource["Properties"].get("RoleName") == {"Ref": role}
    ]
    actions: set[str] = set()
    for document in documents:
        statements = document["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement["Effect"] == "Allow":
                action = statement["Action"]
                actions.update(action if isinstance(action, list) else [action])
    return actions


def test_the_functions_that_trace_are_those_that_never_see_card_data(
    translated: dict[str, Any],
) -> None:
    functions = _functions(translated)
    assert set(functions) >= TRACED | CARD_DATA
    traced = {
        name
        for name, function in functions.items()
        if function.get("TracingConfig", {}).get("Mode") == "Active"
    }
    assert traced == TRACED
    for name in CARD_DATA:
        assert "TracingConfig" not in functions[name], name


def test_only_the_traced_functions_roles_may_send_traces_and_only_that(
    translated: dict[str, Any],
) -> None:
    functions = _functions(translated)
    for name in TRACED:
        actions = _actions_of(translated, _role_of(functions[name]))
        assert actions >= XRAY_WRITES, name
        assert {a for a in actions if a.startswith("xray:")} == XRAY_WRITES, name
    for name in CARD_DATA:
        actions = _actions_of(translated, _role_of(functions[name]))
        assert not any(a.startswith("xray:") for a in actions), (name, actions)


def test_each_traced_function_names_its_service_as_its_code_does(
    translated: dict[str, Any],
) -> None:
    """POWERTOOLS_SERVICE_NAME is the ``service`` dimension of the catalogue's metrics."""
    for name in TRACED:
        function = _functions(translated)[name]
        variables = function["Environment"]["Variables"]
        module = importlib.import_module(function["Handler"].rsplit(".", 1)[0])
        assert variables["POWERTOOLS_SERVICE_NAME"] == module.SERVICE, name
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == metrics.NAMESPACE, name
        assert module.telemetry.service == module.SERVICE, name


def test_the_card_data_functions_carry_no_powertools_settings(
    translated: dict[str, Any],
) -> None:
    for name in CARD_DATA:
        variables = _functions(translated)[name].get("Environment", {}).get("Variables", {})
        assert not [v for v in variables if v.startswith("POWERTOOLS_")], name
