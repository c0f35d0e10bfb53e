"""The connection diagram (PCI DSS 1.2.3) of one architecture, written as DOT and drawn by
Graphviz's ``dot``: every zone as a box (subnets inside their availability zone and VPC),
every system inside its zone, and every connection as an arrow from the side that opens it
to the side that accepts it, labelled with its number, protocol, port and the controls it
crosses there. Connections that carry PAN/CVV are red.

The same template gives the same DOT text, and the same Graphviz build the same SVG.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from cardline.compliance.architecture import Architecture
from cardline.compliance.connections import Connection, ConnectionMap, Hop, build
from cardline.compliance.scope import CDE, CONNECTED, IMPACTING, OUT

SCOPE_COLOURS = {CDE: "#B71C1C", CONNECTED: "#E65100", IMPACTING: "#5E35B1", OUT: "#616161"}
PAN_COLOUR = "#C62828"
LINE_COLOUR = "#37474F"
_ZONE_FILLS = {
    "aws": "#FFF8E1",
    "vpc": "#E3F2FD",
    "az": "#F5F5F5",
    "subnet": "#FFFFFF",
    "regional": "#FFFDE7",
    "endpoints": "#F1F8E9",
    "internet": "#FBE9E7",
}
FONT = "Helvetica"
NODE_FONT_SIZE = 13
EDGE_FONT_SIZE = 12
ZONE_FONT_SIZE = 13
_WIDTH = 40  # characters per label line


@dataclass(frozen=True)
class ConnectionDiagram:
    dot: str
    map: ConnectionMap
    clusters: dict[str, str]  # zone key -> DOT cluster name
    files: dict[str, Path]


def cluster_name(zone: str) -> str:
    return "cluster_" + "".join(c if c.isalnum() else "_" for c in zone)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lines(text: str, justify: str = "\\n") -> str:
    """Escape ``text`` for a DOT label, one output line per input line."""
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in text.split("\n")]
    return '"' + justify.join(escaped) + (justify if justify != "\\n" else "") + '"'


def _wrap(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, _WIDTH, break_long_words=False) or [""]


def _zone_fill(key: str) -> str:
    for prefix, colour in _ZONE_FILLS.items():
        if key == prefix or key.startswith(prefix + "_"):
            return colour
    return "#FAFAFA"


def _edge_label(uses: list[tuple[Connection, Hop]]) -> str:
    groups: dict[tuple[str, str, str], list[int]] = {}
    for connection, _hop in uses:
        key = (connection.protocol, connection.port, connection.service)
        groups.setdefault(key, [])
        if connection.number not in groups[key]:
            groups[key].append(connection.number)
    lines = []
    for (protocol, port, service), numbers in groups.items():
        where = f"{protocol} {port}" if port not in ("-", "") else protocol
        lines.append(f"[{','.join(map(str, numbers))}] {where} {service}")
    controls = dict.fromkeys(c for _connection, hop in uses for c in hop.controls)
    for control in controls:
        lines += _wrap(control)
    return "\n".join(lines)


def build_dot(architecture: Architecture) -> ConnectionDiagram:
    """The DOT text of ``architecture``'s connection diagram."""
    model = build(architecture)
    verdicts = architecture.scope.verdicts
    children: dict[str | None, list[str]] = {}
    for zone in model.zones.values():
        children.setdefault(zone.parent, []).append(zone.key)
    members: dict[str, list[str]] = {}
    for node in model.nodes.values():
        members.setdefault(node.zone, []).append(node.key)
    clusters = {key: cluster_name(key) for key in model.zones}
    out: list[str] = [
        "digraph connections {",
        f'  graph [rankdir=TB, newrank=true, compound=true, fontname="{FONT}", '
        "fontsize=18, labelloc=t, labeljust=l, nodesep=0.18, ranksep=0.3, pad=0.3, "
        "splines=true, outputorder=edgesfirst, forcelabels=true];",
        f'  node [shape=box, style="rounded,filled", fillcolor=white, fontname="{FONT}", '
        f'fontsize={NODE_FONT_SIZE}, margin="0.12,0.06"];',
        f'  edge [fontname="{FONT}", fontsize={EDGE_FONT_SIZE}, color="{LINE_COLOUR}", '
        f'fontcolor="{LINE_COLOUR}", arrowsize=0.9];',
        "  label="
        + _lines(
            f"{architecture.name}: connection diagram (PCI DSS 1.2.3), generated from "
            f"{architecture.template.path.name}\n"
            "Arrow: from the system that opens the connection to the one that accepts it "
            "(replies return on it). Red: carries PAN/CVV. [n]: connection number (table in "
            "the report), protocol, port; then the controls where it crosses.\n"
            "Node text colour: CDE red, connected-to orange, security-impacting purple, "
            "out of scope grey. IAM, logging and log archive are not drawn (no network "
            "connection of their own).",
            "\\l",
        )
        + ";",
    ]

    def emit_zone(key: str, depth: int) -> None:
        zone = model.zones[key]
        pad = "  " * depth
        out.append(f"{pad}subgraph {clusters[key]} {{")
        label = "\n".join([zone.label, *zone.notes])
        out.append(
            f'{pad}  label={_lines(label, chr(92) + "l")}; style="rounded,filled"; '
            f'fillcolor="{_zone_fill(key)}"; color="#607D8B"; fontsize={ZONE_FONT_SIZE};'
        )
        for node_key in members.get(key, []):
            node = model.nodes[node_key]
            lines = [*node.label.split("\n"), *node.detail]
            category = verdicts[node.resource].category if node.resource else None
            colour = SCOPE_COLOURS[category] if category else LINE_COLOUR
            if category and category != OUT:
                lines.append(f"[{category}]")
            out.append(
                f"{pad}  {_quote(node_key)} [label={_lines(chr(10).join(lines))}, "
                f'fontcolor="{colour}", color="{colour}"];'
            )
        for child in children.get(key, []):
            emit_zone(child, depth + 1)
        out.append(f"{pad}}}")

    for top in children.get(None, []):
        emit_zone(top, 1)
    tiers = {key: _tier(architecture, model, key) for key in model.nodes}
    for tier in sorted(set(tiers.values())):
        same = " ".join(_quote(k) for k in model.nodes if tiers[k] == tier)
        out.append(f"  {{rank=same; {same}}}")
    for (source, target), uses in model.edges().items():
        pan = any(c.account_data for c, _h in uses)
        colour = PAN_COLOUR if pan else LINE_COLOUR
        # Outward hops (to a gateway, back to the Internet) do not rank the drawing: the
        # tiers do, so every zone keeps its row and each arrow still points the way it goes.
        # Graphviz places the label of such an edge poorly; an external label sits by it.
        upward = tiers[target] <= tiers[source]
        constraint = ", constraint=false" if upward else ""
        label = "xlabel" if upward else "label"
        out.append(
            f"  {_quote(source)} -> {_quote(target)} [{label}={_lines(_edge_label(uses))}, "
            f'color="{colour}", fontcolor="{colour}", penwidth={2.4 if pan else 1.2}'
            f"{constraint}];"
        )
    out.append("}")
    return ConnectionDiagram("\n".join(out) + "\n", model, clusters, {})


_EDGE_TIER = {
    "AWS::EC2::InternetGateway",
    "AWS::Serverless::Api",
    "AWS::ApiGateway::RestApi",
    "AWS::Events::Rule",
}


def _tier(architecture: Architecture, model: ConnectionMap, key: str) -> int:
    """The row a node is drawn on: outside parties, the edge of our account, public
    subnets and regional compute, private subnets, the VPC's endpoints, and last the
    services our systems call out to (AWS's endpoints, PayPal)."""
    node = model.nodes[key]
    chain = model.zone_chain(node.zone)
    if {"endpoints", "paypal"} & set(chain):
        return 5
    if "aws" not in chain:
        return 0
    kind = architecture.template.resources[node.resource].type if node.resource else ""
    if kind in _EDGE_TIER or not node.resource:
        return 1
    subnet = next((z for z in chain if z.startswith("subnet_")), None)
    if subnet is not None:
        return 2 if architecture.template.subnets[subnet.removeprefix("subnet_")].public else 3
    return 4 if any(z.startswith("vpc_") for z in chain) else 2


def draw(architecture: Architecture, out_dir: Path) -> ConnectionDiagram:
    """Write ``<name>-connections.dot``, ``.svg`` and ``.png`` into ``out_dir``."""
    diagram = build_dot(architecture)
    stem = out_dir / f"{architecture.name}-connections"
    files = {"dot": stem.with_suffix(".dot")}
    files["dot"].write_text(diagram.dot, encoding="utf-8")
    for fmt, dpi in (("svg", 72), ("png", 110)):
        files[fmt] = stem.with_suffix(f".{fmt}")
        subprocess.run(  # noqa: S603
            ["dot", f"-T{fmt}", f"-Gdpi={dpi}", "-o", str(files[fmt])],  # noqa: S607
            input=diagram.dot.encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )
    return ConnectionDiagram(diagram.dot, diagram.map, diagram.clusters, files)
