"""The data-flow diagram (PCI DSS 1.2.4) of one architecture, built as an OWASP pytm threat
model and rendered by Graphviz: trust boundaries, the CDE boundary drawn around every
component that handles PAN/CVV, every flow numbered and labelled with what it carries, its
protocol and its encryption, and the flows carrying PAN/CVV drawn in red.

pytm and Graphviz are tooling dependencies: imported here, never by the charge path.
"""

from __future__ import annotations

import base64
import functools
import html
import re
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardline.compliance.architecture import Architecture
from cardline.compliance.flows import Declaration, Flow

CDE_BOUNDARY = "Cardholder data environment (CDE)"
_WIDTH = 34


@dataclass(frozen=True)
class DataFlowDiagram:
    """The DOT text pytm produced, with the DOT ids needed to check it."""

    dot: str
    cde_cluster: str  # DOT name of the CDE boundary's subgraph
    nodes: dict[str, str]  # component key -> DOT node id
    files: dict[str, Path]


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH) or [""]


@functools.cache
def _pytm_classes() -> dict[str, Any]:
    """pytm element classes whose labels and colours say what an assessor needs."""
    import pytm

    def labelled(base: Any) -> Any:
        class Labelled(base):  # type: ignore[misc]
            def _label(self) -> str:
                return "\\n".join(line for part in self.name.split("\n") for line in _wrap(part))

        Labelled.__name__ = base.__name__
        return Labelled

    class CardFlow(pytm.Dataflow):  # type: ignore[misc]
        def _color(self) -> str:
            return "red3"

        def _label(self) -> str:
            return "\\n".join([*_wrap(self.display_name()), self.note])

    class Flow(pytm.Dataflow):  # type: ignore[misc]
        def _color(self) -> str:
            return "gray25"

        def _label(self) -> str:
            return "\\n".join([*_wrap(self.display_name()), self.note])

    class CdeBoundary(pytm.Boundary):  # type: ignore[misc]
        def _color(self, **kwargs: Any) -> str:
            return "red3"

        def _label(self) -> str:  # an HTML label: no escaped line breaks
            return html.escape(str(self.name))

    class Zone(pytm.Boundary):  # type: ignore[misc]
        def _color(self, **kwargs: Any) -> str:
            return "gray40"

        def _label(self) -> str:
            return html.escape(str(self.name))

    return {
        "TM": pytm.TM,
        "actor": labelled(pytm.Actor),
        "external": labelled(pytm.ExternalEntity),
        "process": labelled(pytm.Process),
        "datastore": labelled(pytm.Datastore),
        "card_flow": CardFlow,
        "flow": Flow,
        "cde": CdeBoundary,
        "zone": Zone,
    }


def _between(flow: Flow) -> str:
    """The resources a flow runs between where both ends are ours (derived permissions)."""
    pairs = [f"{a} → {b}" for a, b in flow.pairs if a and b]
    return ("\\n" + "\\n".join(pairs)) if pairs else ""


def build_dot(architecture: Architecture, declaration: Declaration) -> DataFlowDiagram:
    """Build the pytm model of ``architecture`` and return its DOT text."""
    classes = _pytm_classes()
    tm_class = classes["TM"]
    tm_class.reset()
    tm = tm_class(f"{architecture.name} data flows")
    tm.isOrdered = False
    binding = architecture.binding
    cde_keys = set(architecture.scope.cde_components)
    cde = classes["cde"](
        f"{CDE_BOUNDARY}: every system that stores, processes or transmits PAN/CVV"
    )
    zones = {
        "cde_aws": classes["zone"]("our AWS account: in the CDE", inBoundary=cde),
        "cde_us": classes["zone"]("our call centre", inBoundary=cde),
        "cde_paypal": classes["zone"]("PayPal: service provider, own PCI DSS AOC", inBoundary=cde),
        "cde_telephony": classes["zone"](
            "telephony provider: service provider, own PCI DSS AOC", inBoundary=cde
        ),
        "aws": classes["zone"]("our AWS account: outside the CDE"),
        "outside": classes["zone"]("outside: the public telephone network"),
    }
    used = {end for f in binding.flows for end in (f.source, f.sink)}
    elements: dict[str, Any] = {}
    for key, component in declaration.components.items():
        if key not in used:
            continue
        hosts = binding.hosts.get(key, ())
        label = component.name + (f"\n({', '.join(hosts)})" if hosts else "")
        if component.party == "cardholder":
            zone = zones["outside"]
        elif key in cde_keys:
            zone = zones["cde_aws" if component.hosted else f"cde_{component.party}"]
        else:
            zone = zones["aws" if component.hosted else "outside"]
        elements[key] = classes[component.kind](label, inBoundary=zone)
    for flow in binding.flows:
        names = ", ".join(declaration.data[d].name for d in flow.data)
        account = declaration.carries_account_data(flow)
        classes["card_flow" if account else "flow"](
            elements[flow.source],
            elements[flow.sink],
            f"{flow.what} [{names}]",
            order=flow.number,
            note=f"{flow.protocol}; {flow.encryption}" + _between(flow),
        )
    dot = tm.dfd()
    dot = dot.replace("digraph tm {", "digraph tm {\n    rankdir = LR;\n    newrank = true;", 1)
    dot = dot.replace(
        "    fontsize = 20;",
        f'    fontsize = 20;\n    label = "{architecture.name}: data-flow diagram (PCI DSS 1.2.4),'
        f" generated from {architecture.template.path.name} and flows.yaml\\n"
        'red: flows carrying PAN/CVV; red dashed box: the CDE";',
        1,
    )
    nodes = {key: element._uniq_name() for key, element in elements.items()}
    tm_class.reset()
    return DataFlowDiagram(dot, f"cluster_{cde._uniq_name()}", nodes, {})


def draw(architecture: Architecture, declaration: Declaration, out_dir: Path) -> DataFlowDiagram:
    """Write ``<name>-dataflow.dot``, ``.png`` and ``.svg``."""
    diagram = build_dot(architecture, declaration)
    stem = out_dir / f"{architecture.name}-dataflow"
    files = {"dot": stem.with_suffix(".dot")}
    files["dot"].write_text(diagram.dot, encoding="utf-8")
    for fmt in ("png", "svg"):
        files[fmt] = stem.with_suffix(f".{fmt}")
        subprocess.run(  # noqa: S603
            ["dot", f"-T{fmt}", "-Gdpi=110" if fmt == "png" else "-Gdpi=72", "-o", str(files[fmt])],  # noqa: S607
            input=diagram.dot.encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )
    svg = files["svg"].read_text(encoding="utf-8")
    files["svg"].write_text(_IMAGE_HREF.sub(_inline_image, svg), encoding="utf-8")
    return DataFlowDiagram(diagram.dot, diagram.cde_cluster, diagram.nodes, files)


# pytm draws data stores with a PNG of its own, which Graphviz links by its path on this
# machine: the SVG carries the picture itself instead, so it is the same wherever it is made.
_IMAGE_HREF = re.compile(r'xlink:href="([^"]+\.png)"')


def _inline_image(match: re.Match[str]) -> str:
    picture = base64.b64encode(Path(match.group(1)).read_bytes()).decode()
    return f'xlink:href="data:image/png;base64,{picture}"'
