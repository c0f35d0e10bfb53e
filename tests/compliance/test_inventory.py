"""infra/inventory.yaml's schema is checked when it is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardline.compliance.inventory import find_inventory, load_inventory
from tests.compliance.conftest import ROOT, TEMPLATES


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("{id: a, name: a, kind: desk, zone: call-centre, scope: CDE, why: w}", "kind"),
        ("{id: a, name: a, kind: dns, zone: moon, scope: CDE, why: w}", "zone"),
        ("{id: a, name: a, kind: dns, zone: internet, scope: maybe, why: w}", "scope"),
        ("{id: a, name: a, kind: dns, zone: internet, scope: CDE}", "missing why"),
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
