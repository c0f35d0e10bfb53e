"""The model's `code` of each component names the modules that are there now.

An assessor follows a component's `code` to the source it runs: every path must exist,
the charge component must name every module of the charge function's zip (the card-data
path, the `src/cardline/cde/` folder), and every Lambda function's handler module must
be named by the component the function hosts.
"""

from __future__ import annotations

from cardline.compliance.architecture import Architecture
from cardline.compliance.flows import Component, Declaration
from cardline.deploy.package import charge_files
from tests.compliance.conftest import ROOT

LAMBDA_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


def _names(component: Component, path: str) -> bool:
    """Whether ``component``'s code names ``path``, itself or through a folder holding it."""
    return any(
        path == code or (code.endswith("/") and path.startswith(code)) for code in component.code
    )


def test_every_code_path_exists(declaration: Declaration) -> None:
    for component in declaration.components.values():
        for path in component.code:
            target = ROOT / path
            assert target.is_dir() if path.endswith("/") else target.is_file(), (
                f"{component.key}: {path}"
            )


def test_the_charge_component_names_every_module_of_the_charge_zip(
    declaration: Declaration,
) -> None:
    charge = declaration.components["charge"]
    missing = [
        "src/" + name
        for _, name in charge_files()
        if not name.endswith("__init__.py") and not _names(charge, "src/" + name)
    ]
    assert missing == []


def test_each_functions_handler_module_is_named_by_the_component_it_hosts(
    declaration: Declaration, architectures: dict[str, Architecture]
) -> None:
    checked = 0
    for architecture in architectures.values():
        resources = architecture.template.resources
        for key, hosts in architecture.binding.hosts.items():
            component = declaration.components[key]
            for resource_id in hosts:
                resource = resources[resource_id]
                handler = resource.properties.get("Handler")
                if resource.type not in LAMBDA_TYPES or not isinstance(handler, str):
                    continue
                module = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
                assert _names(component, "src/" + module), f"{key}: {module}"
                checked += 1
    assert checked >= 4  # charge, backoffice, projector, ivr
