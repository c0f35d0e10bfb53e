"""The data-flow diagrams show what the templates and the flows declare."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cardline.compliance.architecture import Architecture
from cardline.compliance.dataflow_diagram import build_dot
from cardline.compliance.flows import Declaration
from cardline.compliance.report import Report
from tests.compliance.conftest import ARCHITECTURES


def svg_nodes(svg: str) -> set[str]:
    """The ids of Graphviz's nodes in an SVG (each node's <title>)."""
    return set(re.findall(r'class="node">\s*<title>([^<]+)</title>', svg))


def cluster_text(dot: str, name: str) -> str:
    """The body of ``subgraph <name> { ... }``, nested clusters included."""
    start = dot.index(f"subgraph {name} {{")
    depth = 0
    for i in range(start, len(dot)):
        if dot[i] == "{":
            depth += 1
        elif dot[i] == "}":
            depth -= 1
            if depth == 0:
                return dot[start : i + 1]
    raise AssertionError(f"{name} is not closed")


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_pan_flow_is_inside_the_cde_boundary(
    name: str, architectures: dict[str, Architecture], declaration: Declaration
) -> None:
    a = architectures[name]
    diagram = build_dot(a, declaration)
    cde = cluster_text(diagram.dot, diagram.cde_cluster)
    outside = diagram.dot.replace(cde, "")
    pan_flows = [f for f in a.binding.flows if declaration.carries_account_data(f)]
    assert pan_flows
    for flow in pan_flows:
        for end in (flow.source, flow.sink):
            if declaration.components[end].party == "cardholder":
                continue  # the cardholder owns the card: no CDE of anyone's
            node = diagram.nodes[end]
            assert re.search(rf"^\s*{node} \[", cde, re.MULTILINE), (flow.number, end)
            assert not re.search(rf"^\s*{node} \[", outside, re.MULTILINE)
        edge = f"{diagram.nodes[flow.source]} -> {diagram.nodes[flow.sink]} ["
        block = diagram.dot[diagram.dot.index(edge) :].split("]", 1)[0]
        assert "color = red3;" in block
        assert f'label = "({flow.number})' in block


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_flow_is_numbered_and_labelled_with_protocol_and_encryption(
    name: str, architectures: dict[str, Architecture], declaration: Declaration
) -> None:
    a = architectures[name]
    dot = build_dot(a, declaration).dot
    for flow in a.binding.flows:
        assert f'label = "({flow.number}) ' in dot
        assert f"{flow.protocol}; {flow.encryption}" in dot
    non_pan = [f for f in a.binding.flows if not declaration.carries_account_data(f)]
    assert non_pan
    assert dot.count("fontcolor = red3;") == len(a.binding.flows) - len(non_pan)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_diagram_images_are_written(name: str, report: tuple[Report, Path]) -> None:
    _built, out = report
    for kind in ("connections", "dataflow"):
        png = (out / f"{name}-{kind}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
        assert len(png) > 10_000
        assert (out / f"{name}-{kind}.svg").read_text().lstrip().startswith("<?xml")
