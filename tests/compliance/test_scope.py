"""PCI DSS scope derived from the model, and the write-up's claim it makes measurable."""

from __future__ import annotations

from cardline.compliance.architecture import Architecture
from cardline.compliance.matrix import ownership
from cardline.compliance.scope import CDE, OUT


def test_serverless_has_fewer_cde_components_than_traditional(
    architectures: dict[str, Architecture],
) -> None:
    serverless = architectures["serverless"].scope
    traditional = architectures["traditional"].scope
    assert 0 < len(serverless.of(CDE)) < len(traditional.of(CDE))
    assert len(serverless.in_scope()) < len(traditional.in_scope())


def test_serverless_has_fewer_customer_owned_requirements(
    architectures: dict[str, Architecture],
) -> None:
    serverless = architectures["serverless"].assignments
    traditional = architectures["traditional"].assignments
    for principal in (True, False):
        ours = ownership(serverless, principal=principal)
        theirs = ownership(traditional, principal=principal)
        assert ours["customer"] < theirs["customer"]
        assert ours["us"] < theirs["us"]


def test_only_the_card_handling_functions_and_the_api_are_serverless_cde(
    architectures: dict[str, Architecture],
) -> None:
    a = architectures["serverless"]
    card_handling = {*a.binding.hosts["charge"], *a.binding.hosts["ivr"], *a.binding.hosts["edge"]}
    assert set(a.scope.of(CDE)) == card_handling
    assert tuple(a.binding.hosts["ivr"]) == ("IvrFunction",)
    for host in a.binding.hosts["backoffice"]:
        assert a.scope.verdicts[host].category != CDE
    assert a.scope.verdicts[a.binding.hosts["ledger"][0]].category == OUT


def test_traditional_backoffice_shares_the_cde_host_and_the_bastion_its_subnet(
    architectures: dict[str, Architecture],
) -> None:
    a = architectures["traditional"]
    assert "backoffice" in a.scope.cde_components
    assert a.scope.verdicts["BastionHost"].category == CDE
    assert "PublicSubnetA" in a.scope.verdicts["BastionHost"].reason


def test_requirements_2_and_5_follow_the_operating_system(
    architectures: dict[str, Architecture],
) -> None:
    def owner(name: str, requirement: str) -> str:
        return next(
            x.owner for x in architectures[name].assignments if x.requirement.id == requirement
        )

    assert owner("traditional", "2") == "us"
    assert owner("traditional", "5") == "us"
    assert owner("serverless", "5") == "aws"
    assert owner("serverless", "2") == "shared"  # AWS hardens the OS; service config is ours


def test_the_ivr_sessions_table_is_its_own_store_connected_to_the_cde_not_in_it(
    architectures: dict[str, Architecture],
) -> None:
    a = architectures["serverless"]
    assert tuple(a.binding.hosts["ivr_sessions"]) == ("IvrSessionsTable",)
    assert "IvrSessionsTable" not in a.binding.hosts["ledger"]
    assert a.scope.verdicts["IvrSessionsTable"].category != CDE
