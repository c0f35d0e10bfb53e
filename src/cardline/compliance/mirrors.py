"""Availability zones that mirror each other in a connection model, proven from the model:
the same kinds of subnets holding the same systems, the same routes and network ACLs (up to
the names of their per-zone copies), and every connection through one zone running the same
way through the other. The diagram draws the first zone and, in place of each zone that
mirrors it, a box saying so with the per-zone names matched up.

Nothing is assumed from the names (``...A``, ``...B``): a zone that differs in any system,
route, ACL entry, control or hop is drawn in full.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, replace

from cardline.compliance.architecture import Architecture
from cardline.compliance.connections import ConnectionMap, Hop, Node, acl_of
from cardline.compliance.routes import route_table_of

_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class Mirror:
    """Availability zone ``zone`` runs as ``like`` does; ``names`` maps each of its nodes,
    subnets, route tables, ACLs and single-zone resources to ``like``'s counterpart."""

    zone: str
    like: str
    names: dict[str, str]
    # per subnet: its name and those of its route table, ACL and systems that differ
    # from the counterpart's, and the counterpart's
    subnets: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()

    def text(self, value: str) -> str:
        """``value`` (a control, a note) with ``zone``'s names written as ``like``'s."""
        return _WORD.sub(lambda m: self.names.get(m.group(0), m.group(0)), value)


def _subnet(zone: str) -> str:
    return zone.removeprefix("subnet_")


def _role(node: Node) -> str:
    """What a node is, whichever zone it is in: the resource it stands for in every zone
    (``ChargeFunction@CdeSubnetA``), or the kind of a single-zone resource."""
    if "@" in node.key:
        return node.key.split("@", 1)[0]
    return node.label.split("\n", 1)[-1]


def _match(architecture: Architecture, model: ConnectionMap, like: str, zone: str) -> Mirror | None:
    """``zone`` as ``like`` under a naming of its subnets and systems, if they pair up one
    to one (the connections are then checked by ``_proven``)."""
    t = architecture.template
    verdicts = architecture.scope.verdicts

    def inside(az: str) -> dict[str, list[Node]]:
        subnets: dict[str, list[Node]] = {k: [] for k, z in model.zones.items() if z.parent == az}
        for node in model.nodes.values():
            if node.zone == az:
                return {}  # a system outside any subnet: not a shape this pairs up
            if node.zone in subnets:
                subnets[node.zone].append(node)
        if any(model.zones[k].parent in subnets for k in model.zones):
            return {}
        return subnets

    def signature(subnet: str, nodes: list[Node]) -> tuple[object, ...]:
        roles = sorted(
            (_role(n), tuple(sorted({verdicts[r].category for r in n.resources if r in verdicts})))
            for n in nodes
        )
        return (t.subnets[_subnet(subnet)].public, tuple(roles))

    ours, theirs = inside(zone), inside(like)
    if not ours or len(ours) != len(theirs):
        return None
    names: dict[str, str] = {}
    groups = []
    unused = dict(theirs)
    for subnet, nodes in sorted(ours.items()):
        same = [s for s, n in unused.items() if signature(s, n) == signature(subnet, nodes)]
        if len(same) != 1:
            return None
        other = same[0]
        del unused[other]
        names[f"notes_{subnet}"] = f"notes_{other}"
        pairs = [(_subnet(subnet), _subnet(other))]
        for read in (route_table_of, acl_of):
            mine, counterpart = read(t, _subnet(subnet)), read(t, _subnet(other))
            if (mine is None) != (counterpart is None):
                return None
            if mine and counterpart:
                pairs.append((mine, counterpart))
        by_role = {_role(n): n for n in theirs[other]}
        for node in nodes:
            match = by_role[_role(node)]
            names[node.key] = match.key
            pairs += zip(node.resources, match.resources, strict=True)
        names.update(pairs)
        differ = [p for p in dict(pairs).items() if p[0] != p[1]]
        groups.append((tuple(b for b, _a in differ), tuple(a for _b, a in differ)))
    return Mirror(zone, like, names, tuple(sorted(groups)))


def _hop(mirror: Mirror, hop: Hop) -> Hop:
    return Hop(
        mirror.names.get(hop.source, hop.source),
        mirror.names.get(hop.target, hop.target),
        tuple(mirror.text(c) for c in hop.controls),
    )


def _proven(mirror: Mirror, model: ConnectionMap) -> bool:
    """Every node, note and hop of ``mirror.zone`` is ``mirror.like``'s, under its names."""
    ours = {k for k, v in mirror.names.items() if k in model.nodes}
    theirs = {mirror.names[k] for k in ours}
    for key in ours:
        node, counterpart = model.nodes[key], model.nodes[mirror.names[key]]
        if tuple(mirror.text(d) for d in node.detail) != counterpart.detail:
            return False
    for key, zone in model.zones.items():
        if zone.parent == mirror.zone:
            other = model.zones[f"subnet_{mirror.names[_subnet(key)]}"]
            if tuple(mirror.text(n) for n in zone.notes) != other.notes:
                return False
    for connection in model.connections:
        here = {_hop(mirror, h) for h in connection.hops if {h.source, h.target} & ours}
        there = {h for h in connection.hops if {h.source, h.target} & theirs}
        if here != there:
            return False
    return True


def mirrors(architecture: Architecture, model: ConnectionMap) -> list[Mirror]:
    """Each availability zone that mirrors the first one of its VPC."""
    by_vpc: dict[str | None, list[str]] = {}
    for az in model.zones.values():
        if az.key.startswith("az_"):
            by_vpc.setdefault(az.parent, []).append(az.key)
    found = []
    for zones in by_vpc.values():
        first, *rest = sorted(zones)
        for zone in rest:
            mirror = _match(architecture, model, first, zone)
            if mirror is not None and _proven(mirror, model):
                found.append(mirror)
    return found


_BOX_WIDTH = 90  # characters per line of a folded zone's box


def mirror_node(zone: str) -> str:
    """The node standing in a folded zone."""
    return f"mirror_{zone}"


def fold(model: ConnectionMap, found: list[Mirror]) -> ConnectionMap:
    """``model`` with each mirroring zone drawn as one box naming its counterparts: its
    subnets, their systems and the hops through them left out (every connection keeps the
    hops of the zone it mirrors)."""
    if not found:
        return model
    gone_zones = {k for m in found for k, z in model.zones.items() if z.parent == m.zone}
    gone_nodes = {k for k, n in model.nodes.items() if n.zone in gone_zones}
    zones = {k: z for k, z in model.zones.items() if k not in gone_zones}
    nodes = {k: n for k, n in model.nodes.items() if k not in gone_nodes}
    for m in found:
        like = model.zones[m.like].label.removeprefix("Availability zone: ")
        zones[m.zone] = replace(model.zones[m.zone], notes=())
        text = (
            f"The same as {like}, checked in the model: subnets, systems, routes, ACLs, "
            "controls and connections alike; every connection drawn there runs here through "
            + "; ".join(f"{', '.join(b)} as {', '.join(a)}" for b, a in m.subnets)
            + "."
        )
        # Long lines, so the box is low: it sits under the zone it mirrors, about as wide.
        lines = textwrap.wrap(text, _BOX_WIDTH, break_on_hyphens=False)
        nodes[mirror_node(m.zone)] = Node(mirror_node(m.zone), "\n".join(lines), m.zone)
    connections = [
        replace(c, hops=tuple(h for h in c.hops if not {h.source, h.target} & gone_nodes))
        for c in model.connections
    ]
    return ConnectionMap(zones, nodes, connections)
