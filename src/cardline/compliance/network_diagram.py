"""The network diagram (PCI DSS 1.2.3) of one architecture, drawn with the ``diagrams``
library: every resource the template declares, with AWS icons, inside its VPC, availability
zone and subnet, coloured by its PCI DSS scope, and the declared data flows between them.

``diagrams`` and Graphviz are tooling dependencies: imported here, never by the charge path.
"""

from __future__ import annotations

import base64
import importlib
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from cardline.compliance.architecture import Architecture
from cardline.compliance.flows import Declaration
from cardline.compliance.scope import CDE, CONNECTED, IMPACTING, OUT

SCOPE_COLOURS = {CDE: "#C62828", CONNECTED: "#E65100", IMPACTING: "#6A4C93", OUT: "#7A7A7A"}
PAN_COLOUR = "#C62828"

# Resource type -> diagrams icon class ("module.Class" below diagrams.aws).
_ICONS = {
    "AWS::EC2::VPC": "network.VPC",
    "AWS::EC2::Subnet": "network.PrivateSubnet",
    "AWS::EC2::InternetGateway": "network.InternetGateway",
    "AWS::EC2::VPCGatewayAttachment": "network.InternetGateway",
    "AWS::EC2::NatGateway": "network.NATGateway",
    "AWS::EC2::EIP": "compute.EC2ElasticIpAddress",
    "AWS::EC2::RouteTable": "network.RouteTable",
    "AWS::EC2::Route": "network.RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation": "network.RouteTable",
    "AWS::EC2::NetworkAcl": "network.Nacl",
    "AWS::EC2::NetworkAclEntry": "network.Nacl",
    "AWS::EC2::SubnetNetworkAclAssociation": "network.Nacl",
    "AWS::EC2::SecurityGroup": "security.Shield",
    "AWS::EC2::SecurityGroupIngress": "security.Shield",
    "AWS::EC2::SecurityGroupEgress": "security.Shield",
    "AWS::EC2::VPCEndpoint": "network.Endpoint",
    "AWS::EC2::FlowLog": "network.VPCFlowLogs",
    "AWS::EC2::Instance": "compute.EC2Instance",
    "AWS::EC2::LaunchTemplate": "compute.EC2Ami",
    "AWS::AutoScaling::AutoScalingGroup": "compute.EC2AutoScaling",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "network.ElbApplicationLoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener": "network.ELB",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "network.ELB",
    "AWS::Serverless::Function": "compute.LambdaFunction",
    "AWS::Lambda::Function": "compute.LambdaFunction",
    "AWS::Lambda::Permission": "compute.Lambda",
    "AWS::Serverless::Api": "network.APIGateway",
    "AWS::ApiGateway::RestApi": "network.APIGateway",
    "AWS::ApiGateway::DomainName": "network.Route53HostedZone",
    "AWS::ApiGateway::BasePathMapping": "network.APIGatewayEndpoint",
    "AWS::WAFv2::WebACL": "security.WAF",
    "AWS::WAFv2::WebACLAssociation": "security.WAFFilteringRule",
    "AWS::WAFv2::LoggingConfiguration": "security.WAFFilteringRule",
    "AWS::Cognito::UserPool": "security.Cognito",
    "AWS::Cognito::UserPoolClient": "security.Cognito",
    "AWS::Cognito::UserPoolGroup": "security.Cognito",
    "AWS::IAM::Role": "security.IAMRole",
    "AWS::IAM::Policy": "security.IAMPermissions",
    "AWS::IAM::ManagedPolicy": "security.IAMPermissions",
    "AWS::IAM::InstanceProfile": "security.IAMRole",
    "AWS::KMS::Key": "security.KMS",
    "AWS::KMS::Alias": "security.KMS",
    "AWS::SecretsManager::Secret": "security.SecretsManager",
    "AWS::DynamoDB::Table": "database.DynamodbTable",
    "AWS::Serverless::SimpleTable": "database.DynamodbTable",
    "AWS::RDS::DBInstance": "database.RDS",
    "AWS::Logs::LogGroup": "management.CloudwatchLogs",
    "AWS::Logs::LogStream": "management.CloudwatchLogs",
    "AWS::Logs::SubscriptionFilter": "management.Cloudwatch",
    "AWS::KinesisFirehose::DeliveryStream": "analytics.KinesisDataFirehose",
    "AWS::S3::Bucket": "storage.SimpleStorageServiceS3Bucket",
    "AWS::S3::BucketPolicy": "storage.S3",
    "AWS::SQS::Queue": "integration.SimpleQueueServiceSqsQueue",
}
_GENERAL = "general.General"
_COLUMNS = 4
# Regional (non-VPC) resources are grouped by what they are for.
_GROUPS = {
    "Edge": ("ApiGateway", "Serverless::Api", "WAFv2", "Cognito", "CertificateManager"),
    "Compute": ("Lambda", "Serverless::Function"),
    "Identity and keys": ("IAM", "KMS", "SecretsManager"),
    "Data": ("DynamoDB", "RDS", "Serverless::SimpleTable", "SQS"),
    "Logs and archive": ("Logs", "KinesisFirehose", "S3"),
}
_EXTERNAL_ICONS = {
    "actor": "general.Users",
    "external": "general.GenericOfficeBuilding",
}


def _icon(path: str) -> Any:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(f"diagrams.aws.{module}"), name)


def _group(resource_type: str) -> str:
    for group, markers in _GROUPS.items():
        if any(f"::{m}::" in resource_type or resource_type.endswith(f"::{m}") for m in markers):
            return group
    return "Other"


def _label(architecture: Architecture, resource_id: str) -> str:
    resource = architecture.template.resources[resource_id]
    verdict = architecture.scope.verdicts[resource_id]
    short = resource.type.split("::", 1)[-1]
    tag = " (SAM implicit)" if resource.implicit else ""
    if verdict.category == OUT:
        return f"{resource_id}\n{short}{tag}"
    return f"{resource_id}\n{short}{tag}\n[{verdict.category}]"


def draw(architecture: Architecture, declaration: Declaration, out_dir: Path) -> dict[str, Path]:
    """Write ``<name>-network.png`` and ``.svg`` (and the DOT source); return their paths."""
    from diagrams import Cluster, Diagram, Edge

    template = architecture.template
    stem = out_dir / f"{architecture.name}-network"
    graph_attr = {
        "fontsize": "20",
        "labelloc": "t",
        "pad": "0.4",
        "nodesep": "0.35",
        "ranksep": "0.9",
        "newrank": "true",
    }
    nodes: dict[str, Any] = {}

    def grid(resource_ids: list[str]) -> None:
        """Draw a cluster's nodes in rows of a few, not one tall column (invisible edges)."""
        for resource_id in resource_ids:
            node(resource_id)
        for i in range(1, len(resource_ids)):
            if i % _COLUMNS:
                nodes[resource_ids[i - 1]] >> Edge(style="invis") >> nodes[resource_ids[i]]

    def node(resource_id: str) -> None:
        resource = template.resources[resource_id]
        colour = SCOPE_COLOURS[architecture.scope.verdicts[resource_id].category]
        icon = _icon(_ICONS.get(resource.type, _GENERAL))
        if resource.type == "AWS::EC2::Subnet" and template.subnets[resource_id].public:
            icon = _icon("network.PublicSubnet")
        nodes[resource_id] = icon(
            _label(architecture, resource_id),
            nodeid=resource_id,
            fontcolor=colour,
            fontsize="11",
        )

    title = (
        f"{architecture.name}: network diagram (PCI DSS 1.2.3), generated from "
        f"{template.path.name}\nlabel colour = scope: CDE red, connected-to orange, "
        "security-impacting purple, out of scope grey; red edges carry PAN/CVV"
    )
    with Diagram(
        title,
        filename=str(stem),
        direction="LR",
        curvestyle="curved",
        outformat=["png", "svg"],
        show=False,
        graph_attr=graph_attr,
    ) as diagram:
        parties: dict[str, Any] = {}
        for key, component in declaration.components.items():
            if component.hosted or not any(
                key in (f.source, f.sink) for f in architecture.binding.flows
            ):
                continue
            icon = _icon(_EXTERNAL_ICONS.get(component.kind, "general.General"))
            parties[key] = icon(component.name, nodeid=f"party_{key}", fontsize="12")
        by_vpc: dict[str | None, list[str]] = defaultdict(list)
        for rid, placement in template.placements.items():
            by_vpc[placement.vpc].append(rid)
        with Cluster("AWS account (one region)", graph_attr={"fontsize": "14"}):
            for vpc in sorted(v for v in by_vpc if v is not None):
                _draw_vpc(architecture, vpc, by_vpc[vpc], grid, Cluster)
            regional: dict[str, list[str]] = defaultdict(list)
            for rid in by_vpc.get(None, []):
                regional[_group(template.resources[rid].type)].append(rid)
            for group in sorted(regional):
                with Cluster(f"{group} (regional, outside any VPC)"):
                    grid(sorted(regional[group]))
        for flow in architecture.binding.flows:
            account = declaration.carries_account_data(flow)
            # Each flow runs between the resources its permissions connect (flow.pairs).
            for source, sink in flow.pairs:
                a = nodes[source] if source else parties.get(flow.source)
                b = nodes[sink] if sink else parties.get(flow.sink)
                if a is None or b is None or a is b:
                    continue
                (
                    a
                    >> Edge(
                        label=f"({flow.number})",
                        color=PAN_COLOUR if account else "#37474F",
                        fontcolor=PAN_COLOUR if account else "#37474F",
                        penwidth="2.5" if account else "1.2",
                        style="bold" if account else "solid",
                    )
                    >> b
                )
        source = diagram.dot.source
    dot_path = stem.with_suffix(".dot")
    dot_path.write_text(source, encoding="utf-8")
    svg = stem.with_suffix(".svg")
    svg.write_text(_inline_icons(svg.read_text(encoding="utf-8")), encoding="utf-8")
    return {"png": stem.with_suffix(".png"), "svg": stem.with_suffix(".svg"), "dot": dot_path}


def _inline_icons(svg: str) -> str:
    """Graphviz links the icons by their path in site-packages: inline them instead, so
    the SVG shows the same anywhere."""

    def data_uri(match: re.Match[str]) -> str:
        data = base64.b64encode(Path(match.group(1)).read_bytes()).decode()
        return f'xlink:href="data:image/png;base64,{data}"'

    return re.sub(r'xlink:href="(/[^"]+\.png)"', data_uri, svg)


def _draw_vpc(
    architecture: Architecture, vpc: str, members: list[str], grid: Any, cluster: Any
) -> None:
    template = architecture.template
    with cluster(f"VPC {vpc}", graph_attr={"fontsize": "14"}):
        in_subnet: dict[str, list[str]] = defaultdict(list)
        vpc_level: list[str] = []
        for rid in sorted(members):
            subnets = template.placements[rid].subnets
            if len(subnets) == 1:
                in_subnet[subnets[0]].append(rid)
            else:
                vpc_level.append(rid)
        for zone in template.zones():
            with cluster(f"Availability zone: {zone}"):
                for subnet in sorted(template.subnets.values(), key=lambda s: s.id):
                    if subnet.zone != zone:
                        continue
                    if subnet.vpc != vpc:
                        continue
                    kind = "public" if subnet.public else "private"
                    with cluster(f"{kind} subnet {subnet.id}"):
                        grid(in_subnet[subnet.id])
        spanning = [r for r in vpc_level if template.placements[r].subnets]
        if spanning:
            with cluster("Across availability zones"):
                grid(spanning)
        with cluster("VPC-wide: routing, ACLs, security groups"):
            grid([r for r in vpc_level if not template.placements[r].subnets])
