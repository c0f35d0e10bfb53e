"""The connection diagram (PCI DSS 1.2.3) of one architecture, written as DOT and drawn by
Graphviz's ``dot``: every zone as a box (subnets inside their availability zone and VPC),
every system inside its zone, and every connection as an arrow from the side that opens it
to the side that accepts it, labelled with its number, protocol, port and the names of the
controls it crosses there (the rules themselves are in the report's table of connections);
a security group named on the system at either end, and a network ACL or default route in
the box of a subnet at either end, are left to those boxes.
A subnet's routes and network ACL entries sit in a box inside it. Connections that carry
PAN/CVV are red. Rows run from the outside parties down to AWS's service endpoints, and
availability zones left to right in their order.

The same template gives the same DOT text, and the same Graphviz build the same SVG.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from cardline.compliance.architecture import Architecture
from cardline.compliance.connections import Connection, ConnectionMap, Hop, build
from cardline.compliance.graphviz import cluster_name, dot_label, quote, render
from cardline.compliance.inventory import legend_note
from cardline.compliance.mirrors import fold, mirrors
from cardline.compliance.routes import way_out
from cardline.compliance.scope import CDE, CONNECTED, IMPACTING, OUT
from cardline.compliance.template import Template

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
_WIDTH = 26  # characters per edge label line
_LEGEND_WIDTH = 170  # characters per line of the legend under the title
_ZONE_WIDTH = 48  # characters per zone label line


@dataclass(frozen=True)
class ConnectionDiagram:
    dot: str
    map: ConnectionMap
    clusters: dict[str, str]  # zone key -> DOT cluster name
    files: dict[str, Path]


def _zone_fill(key: str) -> str:
    for prefix, colour in _ZONE_FILLS.items():
        if key == prefix or key.startswith(prefix + "_"):
            return colour
    return "#FAFAFA"


_RULE = re.compile(r"^(SG|NACL) (\S+) (?:#\d+ )?(in|out)\b.*$")
_DETAIL = re.compile(r" \((?![A-Z][A-Za-z0-9]*\))[^)]*\)$")


def short_control(control: str) -> str:
    """What the drawing says of a control: its name, without the rule it applies (ports,
    peers, NACL rule numbers, routes of a permission); the report's table holds those.
    ``SG AppSecurityGroup out 443 to 0.0.0.0/0`` -> ``SG AppSecurityGroup out``."""
    rule = _RULE.match(control)
    if rule:
        return " ".join(rule.groups())
    return _DETAIL.sub("", control)


def _service(service: str) -> str:
    return service.split(" (", 1)[0]


_AT_AN_END = re.compile(
    r"^(?:SG (\S+) (?:in|out)|NACL (\S+) (in|out)|route (\S+)|NACL: VPC default)$"
)


def named_at_ends(model: ConnectionMap, source: str, target: str) -> tuple[str, ...]:
    """The text drawn where a hop leaves and arrives: its two systems' details (their
    security groups) and the notes of the subnets they sit in (route tables, network ACLs)."""
    lines: list[str] = []
    for key in (source, target):
        node = model.nodes[key]
        lines += node.detail
        lines += [line for z in model.zone_chain(node.zone) for line in model.zones[z].notes]
    return tuple(lines)


def shown_at_an_end(control: str, ends: tuple[str, ...]) -> bool:
    """Whether the edge may leave ``control`` out: a security group's rule of a group named
    on one of its systems, a subnet's network ACL or its default route (listed in the
    subnet's box). A route to a gateway endpoint's prefix list is not in that box."""
    short = short_control(control)
    found = _AT_AN_END.match(short)
    if not found or (short.startswith("route ") and short != control):
        return False
    group, acl, way, table = found.groups()
    if group:
        return f"SG {group}" in ends
    if acl:
        return f"NACL {acl} {way}:" in ends
    if table:
        return f"route table {table}:" in ends
    return "NACL: the VPC's default" in ends


def _edge_label(uses: list[tuple[Connection, Hop]], ends: tuple[str, ...] = ()) -> str:
    groups: dict[tuple[str, str, str], list[int]] = {}
    for connection, _hop in uses:
        key = (connection.protocol, connection.port, _service(connection.service))
        groups.setdefault(key, [])
        if connection.number not in groups[key]:
            groups[key].append(connection.number)
    lines = []
    for (protocol, port, service), numbers in groups.items():
        where = f"{protocol} {port}" if port not in ("-", "") else protocol
        lines.append(f"[{','.join(map(str, numbers))}] {where} {service}")
    controls = list(
        dict.fromkeys(
            short_control(c)
            for _c, hop in uses
            for c in hop.controls
            if not shown_at_an_end(c, ends)
        )
    )
    # Packed onto lines, each control whole on one line, as wide as the widest of them.
    width = max([_WIDTH, *(len(text) for text in lines), *(len(c) + 1 for c in controls)])
    line = ""
    for control in controls:
        if line and len(line) + 2 + len(control) > width:
            lines.append(line + ",")
            line = control
        else:
            line = f"{line}, {control}" if line else control
    if line:
        lines.append(line)
    return "\n".join(lines)


def notes_node(zone: str) -> str:
    """The node holding a zone's notes (a subnet's routes and network ACL)."""
    return f"notes_{zone}"


def _neighbouring_zones(model: ConnectionMap) -> list[tuple[str, str]]:
    """Availability zones next to each other in the same VPC, in their order."""
    by_vpc: dict[str | None, list[str]] = {}
    for zone in model.zones.values():
        if zone.key.startswith("az_"):
            by_vpc.setdefault(zone.parent, []).append(zone.key)
    return [
        (left, right)
        for zones in by_vpc.values()
        for left, right in zip(sorted(zones), sorted(zones)[1:], strict=False)
    ]


def _row_nodes(model: ConnectionMap, tiers: dict[str, int], zone: str) -> dict[int, str]:
    """One node of each row that ``zone`` (or a zone inside it) holds."""
    rows: dict[int, str] = {}
    for key in sorted(tiers):
        home = model.nodes[key].zone if key in model.nodes else key.removeprefix("notes_")
        if zone in model.zone_chain(home):
            rows.setdefault(tiers[key], key)
    return rows


def _legend(architecture: Architecture, model: ConnectionMap) -> list[str]:
    title = (
        f"{architecture.name}: connection diagram (PCI DSS 1.2.3), generated from "
        f"{architecture.template.path.name}"
    )
    legend = (
        "Arrow: from the system that opens the connection to the one that accepts it "
        "(replies return on it). Red: carries PAN/CVV. [n]: the connection's number, "
        "protocol and port, then the controls it crosses there but for a system's security "
        "group (on its node) and a subnet's network ACL and default route (in its box); the "
        "report's table of connections gives each rule. Node text: CDE red, connected-to "
        "orange, security-impacting purple, out of scope grey. IAM and logging are not drawn "
        "(no network connection)."
    )
    drawn = model.inventory_drawn()
    unboxed = [i for i in architecture.inventory if i.id not in drawn]
    return [title, *textwrap.wrap(legend, _LEGEND_WIDTH), *legend_note(unboxed, _LEGEND_WIDTH)]


def drawn_map(architecture: Architecture) -> ConnectionMap:
    """The connection map as drawn: an availability zone the model proves a mirror of
    another is folded into a box saying so (its connections keep the other zone's hops)."""
    model = build(architecture)
    return fold(model, mirrors(architecture, model))


def build_dot(architecture: Architecture) -> ConnectionDiagram:
    """The DOT text of ``architecture``'s connection diagram."""
    model = drawn_map(architecture)
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
        "fontsize=14, labelloc=t, labeljust=l, nodesep=0.35, ranksep=0.3, pad=0.3, "
        "splines=true, outputorder=edgesfirst, forcelabels=true];",
        f'  node [shape=box, style="rounded,filled", fillcolor=white, fontname="{FONT}", '
        f'fontsize={NODE_FONT_SIZE}, margin="0.12,0.06"];',
        f'  edge [fontname="{FONT}", fontsize={EDGE_FONT_SIZE}, color="{LINE_COLOUR}", '
        f'fontcolor="{LINE_COLOUR}", arrowsize=0.9];',
        "  label=" + dot_label("\n".join(_legend(architecture, model)), "\\l") + ";",
    ]

    tiers = _tiers(architecture, model)
    for key, zone in model.zones.items():
        if zone.notes:  # drawn as a node of the zone's own, on the row of its systems
            inside = [tiers[n] for n in members.get(key, [])]
            subnet = key.removeprefix("subnet_")
            own = _subnet_tier(architecture.template, subnet)
            tiers[notes_node(key)] = min(inside) if inside else own

    def _label_end(key: str) -> str:
        # Connections reach the bottom row from above: its zones carry their labels below.
        inside = [
            tiers[n]
            for n in tiers
            if n in model.nodes and key in model.zone_chain(model.nodes[n].zone)
        ]
        return "b" if inside and min(inside) == _BELOW else "t"

    def emit_zone(key: str, depth: int) -> None:
        zone = model.zones[key]
        pad = "  " * depth
        out.append(f"{pad}subgraph {clusters[key]} {{")
        label = "\n".join(textwrap.wrap(zone.label, _ZONE_WIDTH, break_on_hyphens=False))
        out.append(
            f"{pad}  label={dot_label(label, chr(92) + 'l')}; labelloc={_label_end(key)}; "
            'style="rounded,filled"; '
            f'fillcolor="{_zone_fill(key)}"; color="#607D8B"; fontsize={ZONE_FONT_SIZE};'
        )
        if zone.notes:
            # Routes and NACL entries in a box of their own, so edges pass around them.
            out.append(
                f"{pad}  {quote(notes_node(key))} "
                f"[label={dot_label(chr(10).join(zone.notes), chr(92) + 'l')}, "
                f'shape=box, style="filled", fillcolor="{_zone_fill(key)}", color="#B0BEC5", '
                f'fontsize={EDGE_FONT_SIZE}, fontcolor="{LINE_COLOUR}"];'
            )
        for node_key in members.get(key, []):
            node = model.nodes[node_key]
            lines = [*node.label.split("\n"), *node.detail]
            # A node standing for several resources takes the most severe of their scopes.
            categories = [verdicts[r].category for r in node.resources]
            category = min(categories, key=list(SCOPE_COLOURS).index) if categories else None
            colour = SCOPE_COLOURS[category] if category else LINE_COLOUR
            if category and category != OUT:
                lines.append(f"[{category}]")
            out.append(
                f"{pad}  {quote(node_key)} [label={dot_label(chr(10).join(lines))}, "
                f'fontcolor="{colour}", color="{colour}"];'
            )
        for child in children.get(key, []):
            emit_zone(child, depth + 1)
        out.append(f"{pad}}}")

    for top in children.get(None, []):
        emit_zone(top, 1)
    for tier in sorted(set(tiers.values())):
        same = " ".join(quote(k) for k in tiers if tiers[k] == tier)
        out.append(f"  {{rank=same; {same}}}")
    # Availability zones left to right in their order: an invisible edge on each row
    # they share, from a node of one zone to a node of the next.
    for left, right in _neighbouring_zones(model):
        here, there = _row_nodes(model, tiers, left), _row_nodes(model, tiers, right)
        for tier in sorted(set(here) & set(there)):
            out.append(f"  {quote(here[tier])} -> {quote(there[tier])} [style=invis];")
        if here and there and max(here) < min(there):
            # A zone on no row of the other's (a folded zone's box) goes under it, not
            # beside it where it would widen the VPC by its own width.
            top, bottom = here[max(here)], there[min(there)]
            out.append(f"  {quote(top)} -> {quote(bottom)} [style=invis];")
    row = {tier: n for n, tier in enumerate(sorted(set(tiers.values())))}
    for (source, target), uses in model.edges().items():
        pan = any(c.account_data for c, _h in uses)
        colour = PAN_COLOUR if pan else LINE_COLOUR
        # A hop going up the rows (out through a NAT and the internet gateway, to PayPal)
        # is laid out as the downward edge it mirrors, its arrowhead drawn at the top end
        # (dir=back): the rows stay as the tiers say, and Graphviz gives its label a place
        # of its own as it does for every ranked edge. The id names the real direction.
        upward = tiers[target] < tiers[source]
        tail, head = (target, source) if upward else (source, target)
        out.append(
            f"  {quote(tail)} -> {quote(head)} [id={quote(f'{source}->{target}')}, "
            f"{'label' if row[tiers[head]] - row[tiers[tail]] == 1 else 'xlabel'}="
            f"{dot_label(_edge_label(uses, named_at_ends(model, source, target)))}, "
            f'color="{colour}", fontcolor="{colour}", penwidth={2.4 if pan else 1.2}'
            f"{', dir=back' if upward else ''}];"
        )
    out.append("}")
    return ConnectionDiagram("\n".join(out) + "\n", model, clusters, {})


_EDGE_TIER = {
    "AWS::EC2::InternetGateway",
    "AWS::Serverless::Api",
    "AWS::ApiGateway::RestApi",
    "AWS::Events::Rule",
}
_PROVIDERS = {"telephony", "paypal"}  # service providers on the Internet
# Rows (see _tiers); private subnets take the rows from _PRIVATE down to _VPC.
_ABOVE, _EDGE, _PUBLIC, _PRIVATE, _VPC, _BELOW = 1, 2, 3, 4, 9, 10


def _tiers(architecture: Architecture, model: ConnectionMap) -> dict[str, int]:
    """The row each node is drawn on, top to bottom: the people and hosts outside; the
    service providers reached through the edge of our account; that edge (internet
    gateway, API, EventBridge rules, Connect); public subnets and regional compute;
    private subnets, each a row further from the public ones than the subnet its default
    route leads to (a CDE subnet routed through a firewall subnet sits below it); the VPC's
    endpoints (and a folded availability zone's box); and last the services our systems
    call out to directly (AWS's endpoints, and a provider most of whose connections are
    with our systems rather than the edge). Each provider thus sits next to where most of
    its connections leave and arrive."""
    tiers = {key: _tier(architecture, model, key) for key in model.nodes}
    edges = model.edges()
    for key, node in model.nodes.items():
        peers = {a if b == key else b for a, b in edges if key in (a, b)}
        if _PROVIDERS & set(model.zone_chain(node.zone)):
            inside = [p for p in peers if tiers[p] > _EDGE]
            tiers[key] = _BELOW if len(inside) > len(peers) - len(inside) else _ABOVE
    return tiers


def _tier(architecture: Architecture, model: ConnectionMap, key: str) -> int:
    node = model.nodes[key]
    chain = model.zone_chain(node.zone)
    if "endpoints" in chain:
        return _BELOW
    if _PROVIDERS & set(chain):
        return _ABOVE
    if "aws" not in chain:
        return 0
    if node.zone.startswith("az_"):
        return _VPC  # a folded availability zone's box, under the zone it mirrors
    kind = architecture.template.resources[node.resource].type if node.resource else ""
    if kind in _EDGE_TIER or not node.resource:
        return _EDGE
    subnet = next((z for z in chain if z.startswith("subnet_")), None)
    if subnet is not None:
        # A subnet's interface endpoints a row below the systems that call them, so those
        # connections are ranked edges whose labels get a place of their own.
        below = 1 if kind == "AWS::EC2::VPCEndpoint" else 0
        return _subnet_tier(architecture.template, subnet.removeprefix("subnet_")) + below
    return _VPC if any(z.startswith("vpc_") for z in chain) else _PUBLIC


def _subnet_tier(template: Template, subnet: str) -> int:
    """Public subnets on their row; a private one a row below the subnet holding what its
    default route sends to (a NAT gateway, a firewall endpoint), or just below the public
    row when that is outside every subnet."""
    tier, seen = _PUBLIC, {subnet}
    while not template.subnets[subnet].public and tier < _VPC - 1:
        tier += 1
        route = way_out(template, subnet)
        onward = template.placements[route.gateway].subnets if route and route.gateway else ()
        ahead = next((s for s in onward if s in template.subnets and s not in seen), None)
        if ahead is None:
            break
        seen.add(ahead)
        subnet = ahead
    return tier


def draw(architecture: Architecture, out_dir: Path) -> ConnectionDiagram:
    """Write ``<name>-connections.dot``, ``.svg`` and ``.png`` into ``out_dir``."""
    diagram = build_dot(architecture)
    files = render(diagram.dot, out_dir / f"{architecture.name}-connections")
    return ConnectionDiagram(diagram.dot, diagram.map, diagram.clusters, files)
