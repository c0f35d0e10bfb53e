"""infra/inventory.yaml's schema is checked when it is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture
from cardline.compliance.inventory import DEFAULT_PATH, find_inventory, load_inventory
from tests.compliance.conftest import ROOT, TEMPLATES


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("{id: a, name: a, kind: desk, zone: call-centre, scope: CDE, why: w}", "kind"),
        ("{id: a, name: a, kind: dns, zone: moon, scope: CDE, why: w}", "zone"),
        ("{id: a, name: a, kind: dns, zone: internet, scope: maybe, why: w}", "scope"),
        ("{id: a, name: a, kind: dns, zone: internet, scope: CDE}", "missing why"),
        (
            "{id: a, name: a, kind: dns, zone: internet, scope: CDE, why: w, component: Agent}",
            "component",
        ),
    ],
)
def test_a_bad_item_is_refused_with_what_is_wrong(
    tmp_path: Path, entry: str, complaint: str
) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(f"items:\n  - {entry}\n")
    with pytest.raises(ValueError, match=complaint):
        load_inventory(path)


def test_the_inventory_beside_the_templates_is_found() -> None:
    found = find_inventory([ROOT / t for t in TEMPLATES.values()])
    assert found.path == ROOT / "infra" / "inventory.yaml"
    assert found.items


def test_an_item_limited_to_a_template_applies_to_each_of_its_variants(
    architectures: dict[str, Architecture],
) -> None:
    """serverless-firewall is the serverless template deployed otherwise: the items the
    inventory limits to serverless are its items too, and no traditional one's."""
    firewall = architectures["serverless-firewall"]
    inventory = load_inventory(ROOT / DEFAULT_PATH)
    serverless_only = {i.id for i in inventory.items if i.architectures == ("serverless",)}
    assert serverless_only
    assert firewall.name != "serverless"
    ids = {i.id for i in inventory.for_kind(firewall.binding.kind)}
    assert serverless_only <= ids
    assert not serverless_only & {
        i.id for i in inventory.for_kind(architectures["traditional"].binding.kind)
    }
