"""The data-flow diagram (PCI DSS 1.2.4) of one architecture, written as DOT and drawn by
Graphviz's ``dot``: the merchant's boundary (our AWS account and our call centre) with the
CDE boundary inside it; the cardholder and each third-party service provider outside it;
every component that receives sensitive authentication data marked as holding it in
memory; and every flow an arrow from its source to its sink, labelled with its number, the
data it carries and its protocol. Flows carrying PAN/CVV are red. The full description of
each flow (what, encryption, the resources it runs between) is the report's flow table
(:func:`flow_table`), numbered as drawn.

What the template does not hold comes from the inventory (``infra/inventory.yaml``): each
item that holds or carries data (a workstation, a network, telephony, data) is a dashed node
in the zone its zone and scope give it, or a line in the flows.yaml component it names as
its ``component``, linked by undirected dashed lines to what its ``connects_to`` names; the
others are listed under the legend.

The same declaration and template give the same DOT text. Graphviz is a tooling
dependency: run here, never by the charge path.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

from cardline.compliance.architecture import Architecture
from cardline.compliance.connection_diagram import (
    EDGE_FONT_SIZE,
    FONT,
    LINE_COLOUR,
    NODE_FONT_SIZE,
    PAN_COLOUR,
    ZONE_FONT_SIZE,
)
from cardline.compliance.flows import Component, Declaration, Flow
from cardline.compliance.graphviz import cluster_name, dot_label, quote, render
from cardline.compliance.inventory import DATA_KINDS, DEFAULT_PATH, Item, legend_note
from cardline.compliance.permissions import READ
from cardline.compliance.scope import CDE as CDE_SCOPE

CDE_BOUNDARY = "Cardholder data environment (CDE)"
MERCHANT = "merchant"
CDE = "cde"
SAD_COLOUR = "#6A1B9A"
SAD_NOTE = "SAD in memory only, never stored"
SAD_PROVIDER = "receives SAD (its own AOC)"
SAD_STORED = "receives SAD: storing it breaks PCI DSS 3.3.1"
INVENTORY_LINES = (f"from {DEFAULT_PATH}", "(not in the template)")
INVENTORY_MARK = " ".join(INVENTORY_LINES)
INVENTORY_COLOUR = "#546E7A"
LINK = "inventory-link:"
# Where an inventory item's zone puts it: (our own place, or a third party's zone).
_ITEM_PLACES = {
    "call-centre": "callcentre",
    "aws-account": "aws",
    "aws-services": "aws",
    "pstn": "cardholder",
    "internet": "internet",
    "telephony-provider": "provider_telephony",
    "paypal": "provider_paypal",
}
_WIDTH = 22  # characters per line of a label
_LEGEND_WIDTH = 110
_SHAPES = {"process": "box", "datastore": "cylinder", "actor": "box", "external": "box"}
_STYLES = {
    "process": "rounded,filled",
    "datastore": "filled",
    "actor": "filled",
    "external": "filled",
}


@dataclass(frozen=True)
class DataFlowDiagram:
    dot: str
    clusters: dict[str, str]  # zone key -> DOT cluster name
    zones: dict[str, str]  # component key -> the zone it is drawn in
    parents: dict[str, str | None]  # zone key -> the zone around it
    sad: tuple[str, ...]  # components marked as holding SAD in memory
    files: dict[str, Path]
    # The inventory's undirected lines (an item, what it connects to), each drawn with the
    # id LINK + "a--b" so that a reader of the SVG tells them from the flows.
    links: tuple[tuple[str, str], ...] = ()

    def zone_chain(self, zone: str) -> list[str]:
        """``zone`` and every zone around it, innermost first."""
        chain = [zone]
        while (parent := self.parents[chain[-1]]) is not None:
            chain.append(parent)
        return chain


def _zones(declaration: Declaration, parties: set[str]) -> dict[str, tuple[str, str | None]]:
    """Every zone the diagram can draw: key -> (label, the zone around it)."""
    zones: dict[str, tuple[str, str | None]] = {
        MERCHANT: ("The merchant's boundary: our AWS account and our call centre", None),
        CDE: (
            f"{CDE_BOUNDARY}: every system that stores, processes or transmits PAN/CVV",
            MERCHANT,
        ),
        "cde_callcentre": ("our call centre", CDE),
        "cde_aws": ("our AWS account", CDE),
        "callcentre": ("our call centre: outside the CDE", MERCHANT),
        "aws": ("our AWS account: outside the CDE", MERCHANT),
        "cardholder": ("outside: the cardholder, on the public telephone network", None),
        "internet": ("outside: the internet", None),
    }
    for party in sorted(parties):
        members = [c for c in declaration.components.values() if c.party == party]
        if not members:
            raise ValueError(f"no component of flows.yaml has party {party!r}")
        aoc = any(c.aoc for c in members)
        name = members[0].name if len(members) == 1 else party
        zones[f"provider_{party}"] = (
            f"{name}: third-party service provider, "
            + ("own PCI DSS AOC" if aoc else "no AOC declared"),
            None,
        )
    return zones


def _zone_of(component: Component, in_cde: bool) -> str:
    if component.party == "cardholder":
        return "cardholder"
    if component.party != "us":
        return f"provider_{component.party}"
    place = "aws" if component.hosted else "callcentre"
    return f"cde_{place}" if in_cde else place


def _item_zone(item: Item) -> str:
    """The zone an inventory item is drawn in: a third party's zone outside the merchant's
    boundary; ours inside the CDE box when its scope is CDE."""
    place = _ITEM_PLACES[item.zone]
    if place in ("callcentre", "aws"):
        return f"cde_{place}" if item.scope == CDE_SCOPE else place
    return place


def item_key(item: Item) -> str:
    """The DOT node of an inventory item drawn on its own."""
    return "inventory_" + item.id.replace("-", "_")


def _item_label(item: Item) -> str:
    lines = textwrap.wrap(item.name, _WIDTH)
    if item.scope != CDE_SCOPE:
        lines.append(f"scope: {item.scope}")
    return "\n".join([*lines, *INVENTORY_LINES])


@dataclass(frozen=True)
class _Inventoried:
    """How an architecture's inventory is drawn."""

    nodes: dict[str, Item]  # DOT node -> the item drawn as it
    merged: dict[str, list[Item]]  # flows.yaml component -> the items drawn in its node
    listed: list[Item]  # the items under the legend
    at: dict[str, str]  # item id -> the node it is drawn in

    def links(
        self, architecture: Architecture, drawn: set[str], flows: set[frozenset[str]]
    ) -> list[tuple[str, str]]:
        """The undirected lines from each drawn item to what its connects_to names (a
        component, a template resource drawn as its component, another item), but where a
        flow already joins the two."""
        hosted: dict[str, list[str]] = {}
        for key, resources in architecture.binding.hosts.items():
            for resource in resources:
                if key in drawn:
                    hosted.setdefault(resource, []).append(key)
        out: list[tuple[str, str]] = []
        seen = set(flows)
        for item in architecture.inventory:
            if item.id not in self.at:
                continue
            here = self.at[item.id]
            for name in item.connects_to:
                if name in drawn:
                    ends = [name]
                elif name in self.at:
                    ends = [self.at[name]]
                else:  # a template resource: each component it hosts
                    ends = hosted.get(name, [])
                for there in ends:
                    pair = frozenset((here, there))
                    if there != here and pair not in seen:
                        seen.add(pair)
                        out.append((here, there))
        return out


def _inventoried(
    architecture: Architecture, declaration: Declaration, components: set[str]
) -> _Inventoried:
    nodes: dict[str, Item] = {}
    merged: dict[str, list[Item]] = {}
    listed: list[Item] = []
    at: dict[str, str] = {}
    for item in architecture.inventory:
        if item.component and item.component not in declaration.components:
            raise ValueError(f"inventory item {item.id}: no component {item.component!r}")
        if item.component in components:
            merged.setdefault(item.component, []).append(item)
            at[item.id] = item.component
        elif item.kind in DATA_KINDS:
            nodes[item_key(item)] = item
            at[item.id] = item_key(item)
        else:
            listed.append(item)
    return _Inventoried(nodes, merged, listed, at)


def _protocol(flow: Flow) -> str:
    """The protocol without its detail in brackets (the flow table has it whole)."""
    return flow.protocol.split(" (", 1)[0]


def edge_label(flows: list[Flow], declaration: Declaration) -> str:
    """One edge's label: each flow's number, the data it carries and its protocol."""
    lines: list[str] = []
    for flow in flows:
        data = ", ".join(declaration.data[d].name for d in flow.data)
        lines += textwrap.wrap(f"({flow.number}) {data}; {_protocol(flow)}", _WIDTH)
    return "\n".join(lines)


def _sad_mark(component: Component) -> str:
    """What a component that receives sensitive authentication data says of it: ours hold
    it in memory only; a data store would keep it, which 3.3.1 forbids after authorization;
    a service provider answers for it in its own AOC."""
    if component.kind == "datastore":
        return SAD_STORED
    if component.party not in ("us", "cardholder") and component.aoc:
        return SAD_PROVIDER
    return SAD_NOTE


def _node_label(
    component: Component, hosts: tuple[str, ...], sad: str | None, items: list[Item]
) -> str:
    lines = [component.name]
    if hosts:
        lines += textwrap.wrap(f"({', '.join(hosts)})", _WIDTH)
    for item in items:
        lines += textwrap.wrap(f"+ {item.name}, {INVENTORY_MARK}", _WIDTH)
    if sad:
        lines.append(sad)
    return "\n".join(lines)


def _legend(architecture: Architecture, listed: list[Item]) -> list[str]:
    title = (
        f"{architecture.name}: data-flow diagram (PCI DSS 1.2.4), generated from "
        f"{architecture.template.path.name} and flows.yaml"
    )
    legend = (
        "Arrow: from where the data comes to where it goes. (n): the flow's number, the "
        "data it carries and its protocol; the report's flow table gives what it is, its "
        "encryption and the resources it runs between. Red arrows carry PAN/CVV. Purple "
        "border: the component receives sensitive authentication data (the security code); "
        f"ours say '{SAD_NOTE}', a provider's '{SAD_PROVIDER}'. Rounded box: a process; "
        "cylinder: a data store; plain box: a person or a party outside. Red dashed box: the CDE, "
        "inside the merchant's boundary; the cardholder and the third-party service "
        "providers are outside it."
    )
    if architecture.inventory:
        legend += (
            f" Dashed border, and a line '{INVENTORY_MARK}': what the template does not hold, "
            "in the zone and scope the inventory gives it; a '+' line in a component: the "
            "inventory's item that is that component. Dashed line without an arrow: what "
            "the item connects to, as the inventory says (no flow declared on it)."
        )
    return [title, *textwrap.wrap(legend, _LEGEND_WIDTH), *legend_note(listed, _LEGEND_WIDTH)]


def build_dot(architecture: Architecture, declaration: Declaration) -> DataFlowDiagram:
    """The DOT text of ``architecture``'s data-flow diagram."""
    binding = architecture.binding
    cde_keys = set(architecture.scope.cde_components)
    used = list(dict.fromkeys(end for f in binding.flows for end in (f.source, f.sink)))
    components = {key: declaration.components[key] for key in used}
    inventoried = _inventoried(architecture, declaration, set(components))
    placed = {key: _zone_of(c, key in cde_keys) for key, c in components.items()}
    placed |= {key: _item_zone(item) for key, item in inventoried.nodes.items()}
    parties = {c.party for c in components.values()} | {
        zone.removeprefix("provider_") for zone in placed.values() if zone.startswith("provider_")
    }
    zones = _zones(declaration, parties - {"us", "cardholder"})
    sad = declaration.sad_receivers(binding.flows)

    drawn = set(placed.values())
    for zone in list(drawn):
        while (parent := zones[zone][1]) is not None:
            drawn.add(parent)
            zone = parent
    clusters = {key: cluster_name(key) for key in zones if key in drawn}
    children: dict[str | None, list[str]] = {}
    for key in zones:
        if key in drawn:
            children.setdefault(zones[key][1], []).append(key)

    out: list[str] = [
        "digraph dataflow {",
        f'  graph [rankdir=TB, compound=true, fontname="{FONT}", '
        "fontsize=14, labelloc=t, labeljust=l, nodesep=0.3, ranksep=0.35, pad=0.3, "
        "splines=true, outputorder=edgesfirst, forcelabels=true];",
        f'  node [fontname="{FONT}", fontsize={NODE_FONT_SIZE}, fillcolor=white, '
        f'color="{LINE_COLOUR}", margin="0.12,0.06"];',
        f'  edge [fontname="{FONT}", fontsize={EDGE_FONT_SIZE}, color="{LINE_COLOUR}", '
        f'fontcolor="{LINE_COLOUR}", arrowsize=0.9];',
        "  label=" + dot_label("\n".join(_legend(architecture, inventoried.listed)), "\\l") + ";",
    ]

    def emit(zone: str, depth: int) -> None:
        pad = "  " * depth
        label = "\n".join(textwrap.wrap(zones[zone][0], 48, break_on_hyphens=False))
        style = (
            'style="dashed,rounded"; color="#C62828"; penwidth=2;'
            if zone == CDE
            else 'style="rounded"; color="#607D8B";'
        )
        out.append(f"{pad}subgraph {clusters[zone]} {{")
        out.append(
            f"{pad}  label={dot_label(label, chr(92) + 'l')}; labelloc=t; {style} "
            f"fontsize={ZONE_FONT_SIZE};"
        )
        for key, item in inventoried.nodes.items():
            if placed[key] == zone:
                shape = "cylinder" if item.kind == "data" else "box"
                out.append(
                    f"{pad}  {quote(key)} [label={dot_label(_item_label(item))}, shape={shape}, "
                    f'style="dashed,filled", color="{INVENTORY_COLOUR}", penwidth=1.6];'
                )
        for key in (k for k in used if placed[k] == zone):
            c = components[key]
            mark = _sad_mark(c) if key in sad else None
            attrs = (
                f"shape={_SHAPES.get(c.kind, 'box')}, style={quote(_STYLES.get(c.kind, 'filled'))}"
            )
            if mark:
                attrs += f', color="{SAD_COLOUR}", penwidth=3, fillcolor="#F3E5F5"'
            items = inventoried.merged.get(key, [])
            label = _node_label(c, binding.hosts.get(key, ()), mark, items)
            out.append(f"{pad}  {quote(key)} [label={dot_label(label)}, {attrs}];")
        for child in children.get(zone, []):
            emit(child, depth + 1)
        out.append(f"{pad}}}")

    for top in children.get(None, []):
        emit(top, 1)

    edges: dict[tuple[str, str], list[Flow]] = {}
    for flow in binding.flows:
        edges.setdefault((flow.source, flow.sink), []).append(flow)
    for (source, sink), flows in edges.items():
        pan = any(declaration.carries_account_data(f) for f in flows)
        colour = PAN_COLOUR if pan else LINE_COLOUR
        # A store its reader reads is laid out below the reader, as the edge from reader to
        # store with its arrowhead at the reader (dir=back): stores sit under the processes
        # that use them. The id names the flow's real direction.
        read = all(f.via == READ for f in flows)
        tail, head = (sink, source) if read else (source, sink)
        out.append(
            f"  {quote(tail)} -> {quote(head)} [id={quote(f'{source}->{sink}')}, "
            f"label={dot_label(edge_label(flows, declaration))}, "
            f'color="{colour}", fontcolor="{colour}", penwidth={2.4 if pan else 1.2}'
            f"{', dir=back' if read else ''}];"
        )
    joined = {frozenset(pair) for pair in edges}
    links = inventoried.links(architecture, set(components) | set(placed), joined)
    for here, there in links:
        out.append(
            f"  {quote(here)} -> {quote(there)} [id={quote(LINK + here + '--' + there)}, "
            "dir=none, style=dashed, "
            f'color="{INVENTORY_COLOUR}", penwidth=1.2];'
        )
    out.append("}")
    parents = {key: zones[key][1] for key in clusters}
    return DataFlowDiagram("\n".join(out) + "\n", clusters, placed, parents, sad, {}, tuple(links))


def flow_table(
    architecture: Architecture, declaration: Declaration
) -> tuple[list[str], list[list[str]]]:
    """The flows of ``architecture`` as the report's table, numbered as drawn: what each
    carries, its protocol and encryption, and the resource pairs the derived permissions
    bind it to."""
    binding = architecture.binding

    def end(key: str, hosts: tuple[str, ...]) -> str:
        name = declaration.components[key].name
        shown = hosts or binding.hosts.get(key, ())
        return f"{name} ({', '.join(shown)})" if shown else name

    rows = []
    for flow in binding.flows:
        account = declaration.carries_account_data(flow)
        sad = declaration.carries_sad(flow)
        pairs = [f"`{a}` → `{b}`" for a, b in flow.pairs if a and b]
        rows.append(
            [
                f"**{flow.number}**" if account else str(flow.number),
                end(flow.source, flow.source_hosts),
                end(flow.sink, flow.sink_hosts),
                flow.what,
                ", ".join(declaration.data[d].name for d in flow.data),
                flow.protocol,
                flow.encryption,
                "; ".join(pairs) or "-",
                ("**PAN/CVV**" if account else "")
                + (f"; {_sad_mark(declaration.components[flow.sink])}" if sad else ""),
            ]
        )
    header = [
        "#",
        "from",
        "to",
        "what",
        "data",
        "protocol",
        "encryption",
        "resources (derived permissions)",
        "account data",
    ]
    return header, rows


def draw(architecture: Architecture, declaration: Declaration, out_dir: Path) -> DataFlowDiagram:
    """Write ``<name>-dataflow.dot``, ``.svg`` and ``.png`` into ``out_dir``."""
    diagram = build_dot(architecture, declaration)
    files = render(diagram.dot, out_dir / f"{architecture.name}-dataflow")
    return replace(diagram, files=files)
