"""The architecture model: templates parsed with CloudFormation's short tags, references
found through Ref, GetAtt and Sub, network placement read from the template."""

from __future__ import annotations

from pathlib import Path

from cardline.compliance.architecture import Architecture
from cardline.compliance.flows import Declaration, bind
from cardline.compliance.permissions import derive_permissions
from cardline.compliance.template import parse
from tests.compliance.conftest import FIXTURES


def test_short_tags_become_long_form_references() -> None:
    template = parse(FIXTURES / "minimal.yaml")
    charge = {(r.target, r.path) for r in template.references if r.source == "ChargeFunction"}
    assert ("PayPalSecret", "Environment.Variables.SECRET") in charge  # !Ref
    assert ("ChargeLogGroup", "Environment.Variables.LOGS") in charge  # !Sub ${...}
    assert ("PaymentsApi", "Events.Pay.Properties.RestApiId") in charge
    backoffice = template.targets("BackofficeFunction")
    assert "LedgerTable" in backoffice  # !GetAtt and !Ref


def test_sam_implicit_roles_and_api_are_added_and_marked() -> None:
    template = parse(FIXTURES / "minimal.yaml")
    assert template.resources["ChargeFunctionRole"].implicit
    assert template.resources["ServerlessRestApi"].type == "AWS::Serverless::Api"
    assert "ServerlessRestApi" in template.targets("BackofficeFunction")


def test_parameter_defaults_stand_in_for_refs() -> None:
    template = parse(FIXTURES / "minimal.yaml")
    group = template.resources["ChargeLogGroup"]
    assert template.value(group.properties["RetentionInDays"]) == 400


def test_traditional_network_placement(architectures: dict[str, Architecture]) -> None:
    template = architectures["traditional"].template
    assert template.zones() == ["AZ 1", "AZ 2"]
    public = sorted(s.id for s in template.subnets.values() if s.public)
    private = sorted(s.id for s in template.subnets.values() if not s.public)
    assert public == ["PublicSubnetA", "PublicSubnetB"]
    assert private == ["PrivateSubnetA", "PrivateSubnetB"]
    assert template.placements["AppAutoScalingGroup"].subnets == (
        "PrivateSubnetA",
        "PrivateSubnetB",
    )
    assert template.placements["BastionHost"].subnets == ("PublicSubnetA",)
    assert template.placements["NatAddressB"].subnets == ("PublicSubnetB",)
    assert template.placements["PublicDefaultRoute"].vpc == "Vpc"
    assert template.placements["LedgerTable"].vpc is None


def test_serverless_functions_sit_outside_any_vpc(architectures: dict[str, Architecture]) -> None:
    template = architectures["serverless"].template
    functions = template.of_type("AWS::Serverless::Function")
    assert functions
    assert all(template.placements[f.id].vpc is None for f in functions)


def test_with_the_firewall_the_cde_functions_sit_in_the_cde_vpc(
    architectures: dict[str, Architecture],
) -> None:
    template = architectures["serverless-firewall"].template
    assert template.evaluation.given["CdeEgress"] == "firewall"
    for function in ("ChargeFunction", "IvrFunction"):
        assert template.placements[function].vpc == "CdeVpc"
        assert template.placements[function].subnets == ("CdeSubnetA", "CdeSubnetB")
    assert template.placements["BackofficeFunction"].vpc is None
    assert "CdeFirewall" not in architectures["serverless"].template.resources
    assert architectures["serverless"].template.dropped["CdeFirewall"] == "CdeBehindFirewall"


def test_declared_flows_bind_to_each_architecture(
    architectures: dict[str, Architecture], declaration: Declaration
) -> None:
    serverless, traditional = architectures["serverless"], architectures["traditional"]
    assert serverless.binding.kind == "serverless"
    assert traditional.binding.kind == "traditional"
    assert traditional.binding.hosts["charge"] == traditional.binding.hosts["backoffice"]
    assert serverless.binding.hosts["charge"] != serverless.binding.hosts["backoffice"]
    numbers = [f.number for f in serverless.binding.flows]
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_flow_whose_component_is_missing_is_left_out(declaration: Declaration) -> None:
    template = parse(FIXTURES / "minimal.yaml")
    binding = bind(declaration, template, derive_permissions(template))
    assert "projector" in binding.absent
    assert all("projector" not in (f.source, f.sink) for f in binding.flows)
    assert any(f.source == "charge" and f.sink == "paypal" for f in binding.flows)


def test_an_added_resource_enters_the_model(tmp_path: Path) -> None:
    text = (FIXTURES / "minimal.yaml").read_text()
    text += "  AuditTopic:\n    Type: AWS::SNS::Topic\n"
    path = tmp_path / "template.yaml"
    path.write_text(text)
    assert parse(path).resources["AuditTopic"].type == "AWS::SNS::Topic"


def test_the_ivr_sessions_table_is_its_own_store_not_the_ledger(
    architectures: dict[str, Architecture],
) -> None:
    a = architectures["serverless"]
    assert tuple(a.binding.hosts["ivr_sessions"]) == ("IvrSessionsTable",)
    assert "IvrSessionsTable" not in a.binding.hosts["ledger"]


def test_every_flow_between_our_components_is_bound_to_permitted_pairs(
    architectures: dict[str, Architecture],
) -> None:
    for a in architectures.values():
        for flow in a.binding.flows:
            assert flow.pairs, flow.number
            for source, sink in flow.pairs:
                if source is None or sink is None:
                    continue
                principal, target = (sink, source) if flow.via == "read" else (source, sink)
                assert a.permissions.can(principal, flow.via or "", target), (a.name, flow)
