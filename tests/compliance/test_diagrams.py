"""The data-flow diagrams (PCI DSS 1.2.4) show what the templates and the flows declare,
read back from the SVG Graphviz drew: the PAN's path inside the CDE, the CDE inside the
merchant's boundary, the cardholder and the service providers outside it, every component
that receives sensitive authentication data marked, and every drawn flow in the table."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture
from cardline.compliance.dataflow_diagram import (
    CDE,
    INVENTORY_MARK,
    LINK,
    MERCHANT,
    PAN_COLOUR,
    SAD_COLOUR,
    build_dot,
    draw,
    flow_table,
    item_key,
)
from cardline.compliance.flows import Declaration, load_declaration
from cardline.compliance.inventory import DATA_KINDS, DEFAULT_PATH, Inventory, load_inventory
from cardline.compliance.report import Report
from tests.compliance.conftest import ARCHITECTURES, ROOT
from tests.compliance.svg_geometry import Drawing, parse


def svg_nodes(svg: str) -> set[str]:
    """The ids of Graphviz's nodes in an SVG (each node's <title>)."""
    return set(re.findall(r'class="node">\s*<title>([^<]+)</title>', svg))


def drawing(out: Path, name: str) -> Drawing:
    return parse((out / f"{name}-dataflow.svg").read_text())


def with_inventory(a: Architecture, inventory: Inventory) -> Architecture:
    """``a`` with the inventory's items for it, as the report analyses it."""
    return replace(a, inventory=inventory.for_kind(a.binding.kind))


def words(text: str) -> str:
    return " ".join(text.split())


def drawn_numbers(d: Drawing) -> list[int]:
    """Every flow number written on an edge of the drawing."""
    return [
        int(n)
        for edge in d.edges
        for text in edge.texts
        for n in re.findall(r"^\((\d+)\)", text.text.strip())
    ]


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_pan_flow_runs_inside_the_cde_boundary(
    name: str,
    report: tuple[Report, Path],
    architectures: dict[str, Architecture],
    declaration: Declaration,
) -> None:
    """Both ends of each PAN/CVV flow are drawn inside the CDE box, but for the cardholder
    (whose card it is) and the service providers (whose own CDE it reaches)."""
    a = architectures[name]
    d = drawing(report[1], name)
    cde = d.clusters[f"cluster_{CDE}"]
    pan_flows = [f for f in a.binding.flows if declaration.carries_account_data(f)]
    assert pan_flows
    for flow in pan_flows:
        for end in (flow.source, flow.sink):
            if declaration.components[end].party != "us":
                assert not cde.contains(d.nodes[end]), (flow.number, end)
            else:
                assert cde.contains(d.nodes[end]), (flow.number, end)
    dot = build_dot(a, declaration).dot
    red = set(re.findall(rf'^\s*"(\w+)" -> "(\w+)" \[.*color="{PAN_COLOUR}"', dot, re.MULTILINE))
    assert red == {(f.source, f.sink) for f in pan_flows}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_the_cde_is_inside_the_merchants_boundary_and_the_third_parties_outside_it(
    name: str, report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    d = drawing(report[1], name)
    merchant = d.clusters[f"cluster_{MERCHANT}"]
    assert merchant.contains(d.clusters[f"cluster_{CDE}"])
    diagram = build_dot(architectures[name], load_declaration())
    outside = [k for k, zone in diagram.zones.items() if MERCHANT not in diagram.zone_chain(zone)]
    assert {"cardholder", "telephony", "paypal"} <= set(outside)
    for key in outside:
        box = d.nodes[key]
        assert max(box.left, merchant.left) >= min(box.right, merchant.right) or max(
            box.top, merchant.top
        ) >= min(box.bottom, merchant.bottom), key
    for key in diagram.zones:
        if key not in outside:
            assert merchant.contains(d.nodes[key]), key
    # Each provider is labelled as one, with its AOC where the declaration says it has one.
    for key in ("telephony", "paypal"):
        text = " ".join(d.cluster_texts[f"cluster_provider_{key}"].split())
        assert "third-party service provider" in text
        assert "own PCI DSS AOC" in text


def test_a_provider_without_an_aoc_is_not_labelled_with_one(
    architectures: dict[str, Architecture],
) -> None:
    declared = (ROOT / "src/cardline/compliance/flows.yaml").read_text()
    assert declared.count("    aoc: true\n") == 2
    without = load_declaration(declared.replace("    aoc: true\n", "", 1))
    dot = build_dot(architectures["serverless"], without).dot
    assert "no AOC declared" in dot
    assert dot.count("own PCI DSS AOC") == 1


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_component_that_receives_sad_is_marked_and_no_data_store_is(
    name: str,
    report: tuple[Report, Path],
    architectures: dict[str, Architecture],
    declaration: Declaration,
) -> None:
    a = architectures[name]
    receivers = {f.sink for f in a.binding.flows if declaration.carries_sad(f)}
    assert {"charge", "agent"} <= receivers
    d = drawing(report[1], name)
    svg = (report[1] / f"{name}-dataflow.svg").read_text()
    marked = {
        title
        for title, body in re.findall(
            r'class="node">\s*<title>([^<]+)</title>(.*?)</g>', svg, flags=re.DOTALL
        )
        if f'stroke="{SAD_COLOUR.lower()}"' in body.lower()
    }
    assert marked == receivers
    for key in receivers:
        text = " ".join(t.text for t in d.node_texts[key])
        ours = declaration.components[key].party == "us"
        assert ("SAD in memory only" if ours else "receives SAD") in text, key
    stores = {k for k, c in declaration.components.items() if c.kind == "datastore"}
    assert stores & set(d.nodes)
    assert not marked & stores


def test_a_data_store_receiving_sad_is_marked_as_a_breach(
    architectures: dict[str, Architecture], declaration: Declaration
) -> None:
    a = architectures["serverless"]
    flow = next(f for f in a.binding.flows if f.sink == "ledger")
    with_cvv = replace(flow, data=(*flow.data, "cvv"))
    assert declaration.sad_receivers((with_cvv,)) == ("ledger",)
    flows = tuple(with_cvv if f is flow else f for f in a.binding.flows)
    dot = build_dot(replace(a, binding=replace(a.binding, flows=flows)), declaration).dot
    ledger = next(line for line in dot.splitlines() if line.strip().startswith('"ledger" ['))
    assert "storing it breaks PCI DSS 3.3.1" in ledger
    assert "SAD in memory only" not in ledger


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_flow_is_drawn_numbered_once_with_its_data_and_protocol(
    name: str,
    report: tuple[Report, Path],
    architectures: dict[str, Architecture],
    declaration: Declaration,
) -> None:
    a = architectures[name]
    d = drawing(report[1], name)
    assert sorted(drawn_numbers(d)) == [f.number for f in a.binding.flows]
    labels = {(e.source, e.target): " ".join(t.text for t in e.texts) for e in d.edges}
    for flow in a.binding.flows:
        label = labels[(flow.source, flow.sink)]
        first = declaration.data[flow.data[0]].name
        assert re.search(rf"\({flow.number}\) {re.escape(first)}", label), (flow.number, label)
        assert flow.protocol.split(" (", 1)[0].split()[0] in label, (flow.number, label)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_the_flow_table_lists_every_flow_number_drawn(
    name: str,
    report: tuple[Report, Path],
    architectures: dict[str, Architecture],
    declaration: Declaration,
) -> None:
    a = architectures[name]
    header, rows = flow_table(a, declaration)
    numbers = [int(row[0].strip("*")) for row in rows]
    assert numbers == sorted(drawn_numbers(drawing(report[1], name)))
    column = {title: i for i, title in enumerate(header)}
    for flow, row in zip(a.binding.flows, rows, strict=True):
        assert row[column["protocol"]] == flow.protocol
        assert row[column["encryption"]] == flow.encryption
        for source, sink in flow.pairs:
            if source and sink:
                assert f"`{source}` → `{sink}`" in row[column["resources (derived permissions)"]]
    report_md = (report[1] / "report.md").read_text()
    section = report_md.split(f"## {name}: data-flow diagram (PCI DSS 1.2.4)", 1)[1]
    table = section.split("\n## ", 1)[0]
    for row in rows:
        assert f"| {row[0]} | {row[1]} |" in table, row[0]


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_the_same_declaration_gives_the_same_drawing(
    name: str, architectures: dict[str, Architecture], declaration: Declaration
) -> None:
    a = architectures[name]
    assert build_dot(a, declaration).dot == build_dot(a, declaration).dot


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_diagram_images_are_written(name: str, report: tuple[Report, Path]) -> None:
    _built, out = report
    for kind in ("connections", "dataflow"):
        png = (out / f"{name}-{kind}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
        assert len(png) > 10_000
        assert (out / f"{name}-{kind}.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_inventory_item_for_the_architecture_is_on_its_diagram(
    name: str, report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    """Drawn as a node, as a line in the component it is, or listed under the legend."""
    a = architectures[name]
    assert a.inventory
    svg = (report[1] / f"{name}-dataflow.svg").read_text()
    text = words(" ".join(t.text for t in parse(svg).texts))
    for item in a.inventory:
        assert words(item.name) in text, item.id
    assert f"Also in scope, from {DEFAULT_PATH}:" in text
    assert INVENTORY_MARK in text


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_the_inventorys_data_items_sit_in_their_zones_and_the_cde_ones_in_the_cde(
    name: str,
    report: tuple[Report, Path],
    architectures: dict[str, Architecture],
    declaration: Declaration,
) -> None:
    a = architectures[name]
    d = drawing(report[1], name)
    diagram = build_dot(a, declaration)
    cde = d.clusters[f"cluster_{CDE}"]
    drawn = [i for i in a.inventory if item_key(i) in diagram.zones]
    assert {i.kind for i in drawn} <= set(DATA_KINDS)
    assert [i for i in drawn if i.kind == "data" and i.scope == "CDE"]
    for item in drawn:
        box = d.nodes[item_key(item)]
        zone = diagram.zones[item_key(item)]
        for around in diagram.zone_chain(zone):
            assert d.clusters[diagram.clusters[around]].contains(box), (item.id, around)
        assert cde.contains(box) == (item.scope == "CDE"), item.id
        texts = words(" ".join(t.text for t in d.node_texts[item_key(item)]))
        assert INVENTORY_MARK in texts, item.id
    # The agents' desktops are the agent's browser: one node, naming the item.
    desktops = next(i for i in a.inventory if i.id == "agent-workstations")
    assert desktops.component == "agent"
    assert item_key(desktops) not in d.nodes
    assert words(desktops.name) in words(" ".join(t.text for t in d.node_texts["agent"]))


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_the_inventorys_lines_are_the_undirected_links_it_names(
    name: str,
    report: tuple[Report, Path],
    architectures: dict[str, Architecture],
    declaration: Declaration,
) -> None:
    a = architectures[name]
    diagram = build_dot(a, declaration)
    assert diagram.links
    d = drawing(report[1], name)
    lines = {e.id.removeprefix(LINK): e for e in d.edges if e.id.startswith(LINK)}
    assert set(lines) == {f"{here}--{there}" for here, there in diagram.links}
    items = {item_key(i): i for i in a.inventory} | {
        i.component: i for i in a.inventory if i.component
    }
    for here, there in diagram.links:
        edge = lines[f"{here}--{there}"]
        assert not edge.arrowheads
        assert not edge.texts
        # What the item's connects_to names: the component, a resource it hosts, an item.
        names = {there, *a.binding.hosts.get(there, ())}
        names |= {i.id for key, i in items.items() if key == there}
        assert names & set(items[here].connects_to), (here, there)


def test_an_item_added_to_the_inventory_is_drawn_in_its_zone(
    tmp_path: Path, architectures: dict[str, Architecture], declaration: Declaration
) -> None:
    """A copy of infra/inventory.yaml with two items more: the provider's recordings
    outside the merchant's boundary, a card-holding export inside the CDE."""
    added = (
        "  - id: provider-recordings\n    name: The provider's recording archive\n"
        "    kind: data\n    zone: telephony-provider\n    scope: CDE\n"
        "    why: the provider keeps the calls\n    connects_to: [telephony]\n"
        "  - id: card-export\n    name: Nightly card export bucket\n    kind: data\n"
        "    zone: aws-account\n    scope: CDE\n    why: holds PAN\n"
        "    connects_to: [ChargeFunction]\n    architectures: [serverless]\n"
    )
    path = tmp_path / "inventory.yaml"
    path.write_text((ROOT / DEFAULT_PATH).read_text() + added)
    a = with_inventory(architectures["serverless"], load_inventory(path))
    diagram = draw(a, declaration, tmp_path)
    d = parse(diagram.files["svg"].read_text())
    merchant = d.clusters[f"cluster_{MERCHANT}"]
    provider = d.clusters["cluster_provider_telephony"]
    recordings, export = d.nodes["inventory_provider_recordings"], d.nodes["inventory_card_export"]
    assert provider.contains(recordings)
    assert not merchant.contains(recordings)
    assert d.clusters["cluster_cde_aws"].contains(export)
    assert d.clusters[f"cluster_{CDE}"].contains(export)
    # A template resource it names is linked as the component that hosts it.
    assert ("inventory_card_export", "charge") in diagram.links
    assert ("inventory_provider_recordings", "telephony") in diagram.links
    traditional = with_inventory(architectures["traditional"], load_inventory(path))
    assert "inventory_card_export" not in build_dot(traditional, declaration).zones


def test_an_item_naming_an_unknown_component_is_refused(
    tmp_path: Path, architectures: dict[str, Architecture], declaration: Declaration
) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "items:\n  - {id: a, name: a, kind: workstation, zone: call-centre, scope: CDE, "
        "why: w, component: agents}\n"
    )
    a = with_inventory(architectures["serverless"], load_inventory(path))
    with pytest.raises(ValueError, match="agents"):
        build_dot(a, declaration)
