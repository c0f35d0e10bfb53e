"""The connection diagrams (PCI DSS 1.2.3), read back from the SVG Graphviz drew: every
arrow points at the system that accepts the connection, every system sits inside its
subnet and zone, the labels sit by their edges, and the drawing is legible on A3. The
arrow, A3 and label checks hold for the data-flow diagrams (PCI DSS 1.2.4) too."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture, analyse
from cardline.compliance.connection_diagram import (
    build_dot,
    draw,
    drawn_map,
    notes_node,
)
from cardline.compliance.connections import INVENTORY_DRAWN, Hop, build
from cardline.compliance.dataflow_diagram import LINK
from cardline.compliance.flows import Declaration
from cardline.compliance.graphviz import cluster_name
from cardline.compliance.matrix import Requirements
from cardline.compliance.mirrors import mirror_node, mirrors
from cardline.compliance.report import Report
from tests.compliance.conftest import ARCHITECTURES, ROOT, TEMPLATES
from tests.compliance.svg_geometry import Block, Box, Drawing, centre, distance_to_path, parse

A3_LANDSCAPE_PT = (420 / 25.4 * 72, 297 / 25.4 * 72)
MIN_PRINTED_FONT_PT = 6.0
LABEL_REACH_PT = 36.0  # half an inch in the drawing's own units


def drawing(out: Path, name: str, kind: str = "connections") -> Drawing:
    return parse((out / f"{name}-{kind}.svg").read_text())


@pytest.mark.parametrize("kind", ["connections", "dataflow"])
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_arrowhead_sits_at_its_destination(
    name: str, kind: str, report: tuple[Report, Path]
) -> None:
    """But for the data-flow diagram's lines from an inventory item to what it connects
    to: the inventory gives no direction, and they are drawn without an arrowhead."""
    d = drawing(report[1], name, kind)
    assert d.edges
    for edge in d.edges:
        if edge.id.startswith(LINK):
            assert kind == "dataflow", edge.id
            assert not edge.arrowheads, edge.id
            continue
        assert len(edge.arrowheads) == 1, (edge.source, edge.target)
        tip = centre(edge.arrowheads[0])
        to_target = d.nodes[edge.target].distance(tip)
        to_source = d.nodes[edge.source].distance(tip)
        assert to_target < to_source, (edge.source, edge.target)
        assert to_target <= 20, (edge.source, edge.target, to_target)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_system_is_drawn_inside_its_zone_and_the_zones_around_it(
    name: str, report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    d = drawing(report[1], name)
    model = drawn_map(architectures[name])
    for node in model.nodes.values():
        box = d.nodes[node.key]
        for zone in model.zone_chain(node.zone):
            assert d.clusters[cluster_name(zone)].contains(box), (node.key, zone)
    for zone in model.zones.values():
        if zone.parent:
            outer, inner = d.clusters[cluster_name(zone.parent)], d.clusters[cluster_name(zone.key)]
            assert outer.contains(inner), (zone.key, zone.parent)


def test_the_load_balancer_and_the_instances_sit_in_each_of_their_subnets(
    report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    d = drawing(report[1], "traditional")
    template = architectures["traditional"].template
    for resource in ("LoadBalancer", "AppAutoScalingGroup", "NatGatewayA", "BastionHost"):
        subnets = template.placements[resource].subnets
        assert subnets, resource
        for subnet in subnets:
            key = resource if len(subnets) == 1 else f"{resource}@{subnet}"
            assert d.clusters[cluster_name(f"subnet_{subnet}")].contains(d.nodes[key]), key


@pytest.mark.parametrize("kind", ["connections", "dataflow"])
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_the_drawing_is_legible_on_a3_landscape(
    name: str, kind: str, report: tuple[Report, Path]
) -> None:
    d = drawing(report[1], name, kind)
    # Font sizes are in the drawing's units; the SVG maps them to its printed size.
    units_to_pt = d.width_pt / d.view_width
    fit = min(A3_LANDSCAPE_PT[0] / d.width_pt, A3_LANDSCAPE_PT[1] / d.height_pt)
    smallest = min(t.size for t in d.texts if t.text.strip())
    assert smallest * units_to_pt * fit >= MIN_PRINTED_FONT_PT, (smallest, d.width_pt, d.height_pt)


@pytest.mark.parametrize("kind", ["connections", "dataflow"])
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_label_sits_next_to_its_edge(
    name: str, kind: str, report: tuple[Report, Path]
) -> None:
    d = drawing(report[1], name, kind)
    for edge in d.edges:
        if edge.id.startswith(LINK):  # an inventory item's line: no flow, no label
            assert kind == "dataflow", edge.id
            assert not edge.texts, edge.id
            continue
        assert edge.texts, (edge.source, edge.target)
        corners = [
            corner
            for text in edge.texts
            for corner in ((text.box().left, text.box().top), (text.box().right, text.box().bottom))
        ]
        gap = distance_to_path(Box.around(corners), edge.path)
        assert gap <= LABEL_REACH_PT, (edge.source, edge.target, gap)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_edge_names_its_connections_protocol_and_port(
    name: str, report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    """Each edge carries its connections' numbers, protocol and port, and the name of every
    control it crosses (the rule itself, ports and NACL numbers, is in the report's table),
    but for a security group named on the system it leaves or reaches and a network ACL or
    default route named in the box of the subnet it leaves or reaches."""
    d = drawing(report[1], name)
    model = drawn_map(architectures[name])
    resources = architectures[name].template.resources
    drawn = {(e.source, e.target): " ".join(t.text for t in e.texts) for e in d.edges}

    def at_the_ends(hop: Hop) -> str:
        boxes = [hop.source, hop.target]
        for key in (hop.source, hop.target):
            boxes += [notes_node(z) for z in model.zone_chain(model.nodes[key].zone)]
        return " ".join(t.text for box in boxes for t in d.node_texts.get(box, []))

    assert set(drawn) == set(model.edges())
    # Every connection of the model is drawn (a folded zone's hops are the other zone's).
    numbers = {
        int(n)
        for text in drawn.values()
        for n in re.findall(r"\d+", " ".join(m for m in re.findall(r"\[([\d,]+)\]", text)))
    }
    assert numbers == {c.number for c in build(architectures[name]).connections}
    for connection in model.connections:
        for hop in connection.hops:
            label = drawn[(hop.source, hop.target)]
            numbers = re.search(r"\[([\d,]+)\] " + re.escape(connection.protocol), label)
            assert numbers, (connection.number, hop)
            assert str(connection.number) in numbers.group(1).split(",")
            for control in hop.controls:
                named = [w for w in re.findall(r"[\w-]+", control) if w in resources]
                words = named or [control.split(" (", 1)[0]]
                if all(word in label for word in words):
                    continue
                # Left to the boxes at the ends, as the legend says: security groups on their
                # systems, network ACLs and default routes (not a prefix list's) on subnets.
                assert re.match(r"(SG|NACL|route \S+$)", control), (control, label)
                if control.startswith("NACL: VPC default"):
                    assert "NACL: the VPC's default" in at_the_ends(hop), (control, hop)
                for word in named:
                    assert word in at_the_ends(hop), (control, hop)


def test_the_pan_leaves_for_paypal_outbound_from_the_cde(
    report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    d = drawing(report[1], "serverless")
    model = build(architectures["serverless"])
    outbound = {(c.source, c.target) for c in model.connections if c.account_data}
    assert {("ChargeFunction", "paypal"), ("IvrFunction", "paypal")} <= outbound
    assert not [c for c in model.connections if c.source == "paypal" and c.account_data]
    edge = next(e for e in d.edges if (e.source, e.target) == ("ChargeFunction", "paypal"))
    tip = centre(edge.arrowheads[0])
    assert d.nodes["paypal"].distance(tip) < d.nodes["ChargeFunction"].distance(tip)


def test_the_internet_gateway_and_the_network_acls_are_attached(
    report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    d = drawing(report[1], "traditional")
    assert {e.target for e in d.edges if e.source == "InternetGateway"} >= {
        "LoadBalancer@PublicSubnetA",
        "LoadBalancer@PublicSubnetB",
        "BastionHost",
        "paypal",
    }
    assert {e.source for e in d.edges if e.target == "InternetGateway"} >= {
        "NatGatewayA",
        "NatGatewayB",
        "agent_browser",
    }
    template = architectures["traditional"].template
    for subnet in template.subnets:
        # The subnet's routes and ACL entries: a box of their own inside the subnet's.
        notes = notes_node(f"subnet_{subnet}")
        assert d.clusters[cluster_name(f"subnet_{subnet}")].contains(d.nodes[notes]), subnet
        text = " ".join(t.text for t in d.node_texts[notes])
        acl = "PublicNetworkAcl" if template.subnets[subnet].public else "PrivateNetworkAcl"
        assert f"NACL {acl} in" in text, subnet
        assert f"NACL {acl} out" in text, subnet
        assert "route table" in text


def test_connections_follow_security_groups_routes_and_permissions(
    architectures: dict[str, Architecture],
) -> None:
    traditional = {
        (c.source, c.target, c.port): c for c in build(architectures["traditional"]).connections
    }
    to_app = traditional[("LoadBalancer", "AppAutoScalingGroup", "8080")]
    assert {"SG LoadBalancerToApp out", "SG AppFromLoadBalancer in"} <= set(to_app.controls)
    assert to_app.account_data
    ssh = traditional[("admins", "BastionHost", "22")]
    assert "SG BastionSecurityGroup in 22 from AdminCidr" in ssh.controls
    out = traditional[("AppAutoScalingGroup", "paypal", "443")]
    assert [h.target for h in out.hops[:3]] == ["NatGatewayA", "InternetGateway", "paypal"]
    serverless = build(architectures["serverless"])
    by_pair = {(c.source, c.target): c for c in serverless.connections}
    charge = by_pair[("Api", "ChargeFunction")]
    assert "ChargeInvokePermission (POST /v1/payments)" in charge.controls
    assert "TwilioPayInvokePermission (POST /v1/twilio/pay)" in charge.controls
    assert "no authorizer" in charge.controls  # Twilio's route: basic auth in the function
    assert "WAF WebAcl" in by_pair[("agent_browser", "Api")].controls
    secrets = by_pair[("ChargeFunction", "aws_endpoints")].what
    assert "PayPalSecret" in secrets
    assert "IvrKeysSecret" not in secrets
    # IAM and log plumbing are no part of the picture.
    drawn = {n.resource for n in serverless.nodes.values() if n.resource}
    kinds = {architectures["serverless"].template.resources[r].type for r in drawn}
    assert not [k for k in kinds if k.startswith(("AWS::IAM::", "AWS::Logs::", "AWS::S3::"))]


def test_a_new_security_group_rule_is_a_new_connection(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    source = (ROOT / TEMPLATES["traditional"]).read_text()
    rule = (
        "  AppFromOffice:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties:\n"
        "      GroupId: !Ref AppSecurityGroup\n      IpProtocol: tcp\n      FromPort: 3389\n"
        "      ToPort: 3389\n      CidrIp: 0.0.0.0/0\n"
    )
    path = tmp_path / "mine" / "template.yaml"
    path.parent.mkdir()
    path.write_text(source.replace("\nOutputs:\n", f"\n{rule}\nOutputs:\n", 1))
    mine = analyse("mine", path, declaration, requirements)
    new = [c for c in build(mine).connections if c.port == "3389"]
    assert [(c.source, c.target, c.service) for c in new] == [
        ("anyone", "AppAutoScalingGroup", "RDP")
    ]
    # The private ACL's ephemeral-port entry lets it through: the drawing says so.
    assert "NACL PrivateNetworkAcl #110 in" in new[0].controls
    diagram = draw(mine, tmp_path)
    edges = {(e.source, e.target) for e in parse(diagram.files["svg"].read_text()).edges}
    assert ("InternetGateway", "AppAutoScalingGroup@PrivateSubnetA") in edges


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_the_same_template_gives_the_same_drawing(
    name: str, tmp_path: Path, architectures: dict[str, Architecture], report: tuple[Report, Path]
) -> None:
    a = architectures[name]
    assert build_dot(a).dot == build_dot(a).dot
    again = draw(a, tmp_path)
    assert again.files["svg"].read_text() == (report[1] / f"{name}-connections.svg").read_text()


@pytest.mark.parametrize("kind", ["connections", "dataflow"])
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_no_two_labels_overlap(name: str, kind: str, report: tuple[Report, Path]) -> None:
    """Node, zone, edge and title labels each keep their own place: no two text blocks
    (widths estimated from the font size) share any of the drawing, and no edge's label
    lies on a node."""
    d = drawing(report[1], name, kind)
    blocks = d.blocks
    assert len(blocks) > 20
    clashes = [
        (a.owner, b.owner)
        for i, a in enumerate(blocks)
        for b in blocks[i + 1 :]
        if a.overlap(b) > 0
    ]
    assert not clashes, clashes
    # Nor does an edge's label lie over a system's box (or a box of notes).
    shapes = [Block(f"node {key}", box, "") for key, box in d.nodes.items()]
    covered = [
        (label.owner, shape.owner)
        for label in blocks
        if label.owner.startswith("edge ")
        for shape in shapes
        if label.overlap(shape) > 0
    ]
    assert not covered, covered


def test_with_the_firewall_the_pan_leaves_past_the_allow_list(
    report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    firewall = architectures["serverless-firewall"]
    model = build(firewall)
    charge = next(
        c for c in model.connections if (c.source, c.target) == ("ChargeFunction", "paypal")
    )
    assert charge.account_data
    first = [h for h in charge.hops if h.source == "ChargeFunction@CdeSubnetA"]
    path = [first[0].source]
    while path[-1] != "paypal":
        path.append(next(h.target for h in charge.hops if h.source == path[-1]))
    assert path == [
        "ChargeFunction@CdeSubnetA",
        "CdeFirewall@FirewallSubnetA",
        "NatGatewayA",
        "CdeInternetGateway",
        "paypal",
    ]
    out_of_firewall = next(h for h in charge.hops if h.source == "CdeFirewall@FirewallSubnetA")
    assert any(
        "allow-list" in c and "api-m.sandbox.paypal.com" in c for c in out_of_firewall.controls
    )
    d = drawing(report[1], "serverless-firewall")
    edges = {(e.source, e.target): "\n".join(t.text for t in e.texts) for e in d.edges}
    # The edge names the policy and the list; the firewall's node holds the domains, once.
    assert "CdeEgressAllowList" in edges[("CdeFirewall@FirewallSubnetA", "NatGatewayA")]
    assert not [label for label in edges.values() if "paypal.com" in label]
    node = " ".join(t.text for t in d.node_texts["CdeFirewall@FirewallSubnetA"])
    assert "api-m.sandbox.paypal.com" in node
    assert ("CdeInternetGateway", "paypal") in edges
    # Without the firewall the same connection leaves with no egress control at all.
    open_charge = next(
        c
        for c in build(architectures["serverless"]).connections
        if (c.source, c.target) == ("ChargeFunction", "paypal")
    )
    assert [h.target for h in open_charge.hops] == ["paypal"]
    assert "no egress control (no VPC)" in open_charge.controls


def test_the_second_zone_is_folded_only_where_the_model_proves_it_the_same(
    report: tuple[Report, Path], architectures: dict[str, Architecture]
) -> None:
    firewall = architectures["serverless-firewall"]
    model = build(firewall)
    [mirror] = mirrors(firewall, model)
    assert (mirror.zone, mirror.like) == ("az_CdeVpc_AZ 2", "az_CdeVpc_AZ 1")
    assert mirror.names["NatGatewayB"] == "NatGatewayA"
    assert mirror.names["ChargeFunction@CdeSubnetB"] == "ChargeFunction@CdeSubnetA"
    box = " ".join(
        t.text
        for t in drawing(report[1], "serverless-firewall").node_texts[mirror_node(mirror.zone)]
    )
    for subnet in ("CdeSubnetB", "FirewallSubnetB", "NatSubnetB"):
        assert subnet in box
    # The bastion host sits in one zone only: the traditional zones are drawn in full.
    assert mirrors(architectures["traditional"], build(architectures["traditional"])) == []
    # One control that differs in the second zone is enough to draw it in full.
    hop = next(
        h for c in model.connections for h in c.hops if h.source == "ChargeFunction@CdeSubnetB"
    )
    changed = replace(
        model,
        connections=[
            replace(
                c,
                hops=tuple(
                    Hop(h.source, h.target, h.controls[1:]) if h == hop else h for h in c.hops
                ),
            )
            for c in model.connections
        ],
    )
    assert mirrors(firewall, changed) == []


def test_the_api_edge_names_the_tls_policy_each_endpoint_states(
    tmp_path: Path, declaration: Declaration, requirements: Requirements
) -> None:
    def controls(path: Path, **parameters: str) -> set[str]:
        architecture = analyse("mine", path, declaration, requirements, parameters=parameters)
        edge = {
            c for conn in build(architecture).connections for h in conn.hops for c in h.controls
        }
        return {c for c in edge if "execute-api" in c or "(ApiDomain)" in c}

    template = ROOT / TEMPLATES["serverless"]
    assert controls(template) == {"execute-api SecurityPolicy_TLS13_1_2_2021_06"}
    behind_a_domain = {"DomainName": "pay.example.com", "CertificateArn": "arn:aws:acm:x"}
    assert controls(template, **behind_a_domain) == {
        "SecurityPolicy_TLS13_1_2_2021_06 (ApiDomain)",
        "execute-api endpoint disabled",
    }
    # Without a stated policy API Gateway applies its legacy default, and the drawing says so.
    source = template.read_text()
    stated = "      SecurityPolicy: SecurityPolicy_TLS13_1_2_2021_06\n      EndpointAccessMode"
    assert stated in source
    path = tmp_path / "mine" / "template.yaml"
    path.parent.mkdir()
    path.write_text(source.replace(stated, "      EndpointAccessMode", 1))
    assert controls(path) == {"execute-api TLS_1_0 (no policy stated)"}


def test_a_gateway_endpoint_hop_names_the_policy_the_template_gives_it(
    architectures: dict[str, Architecture],
) -> None:
    def policies(name: str) -> set[str]:
        model = build(architectures[name])
        return {
            control
            for connection in model.connections
            for hop in connection.hops
            for control in hop.controls
            if control.startswith("endpoint policy")
        }

    # CdeDynamoDbEndpoint states its statement; the traditional DynamoDbEndpoint states none.
    assert policies("serverless-firewall") == {"endpoint policy: ThisAccountsTablesOnly"}
    assert policies("traditional") == {"endpoint policy: default (full access)"}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_inventory_item_is_drawn_or_named_under_the_legend(
    name: str, report: tuple[Report, Path]
) -> None:
    built, out = report
    architecture = next(a for a in built.architectures if a.name == name)
    assert architecture.inventory
    model = drawn_map(architecture)
    drawn = model.inventory_drawn()
    d = drawing(out, name)
    # Every line of text in the drawing, joined as the legend's wrapped lines were split.
    text = " ".join(t.text for t in d.texts)
    for item in architecture.inventory:
        if item.id in drawn:
            key = next(k for k, v in INVENTORY_DRAWN.items() if v == item.id)
            assert key in d.nodes or cluster_name(key) in d.clusters, (item.id, key)
            assert item.name not in text  # a box stands for it: it is not listed again
        else:
            assert item.name in text, item.id
    # The call centre's network is its zone, drawn in every architecture.
    assert "call-centre-network" in drawn
