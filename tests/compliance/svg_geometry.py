"""Where Graphviz put things in an SVG it drew: nodes, clusters and edges with their
shapes' bounding boxes, arrowheads, paths and label text, in the drawing's own units."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

SVG = "{http://www.w3.org/2000/svg}"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @staticmethod
    def around(points: list[Point]) -> Box:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return Box(min(xs), min(ys), max(xs), max(ys))

    def contains(self, other: Box, slack: float = 0.5) -> bool:
        return (
            self.left - slack <= other.left
            and self.top - slack <= other.top
            and other.right <= self.right + slack
            and other.bottom <= self.bottom + slack
        )

    def distance(self, point: Point) -> float:
        dx = max(self.left - point[0], 0.0, point[0] - self.right)
        dy = max(self.top - point[1], 0.0, point[1] - self.bottom)
        return math.hypot(dx, dy)


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    size: float
    anchor: str
    text: str

    def box(self) -> Box:
        """The line's extent, estimated from its length (Helvetica: ~0.55 em a glyph)."""
        width = 0.55 * self.size * len(self.text)
        left = {"start": self.x, "end": self.x - width}.get(self.anchor, self.x - width / 2)
        return Box(left, self.y - self.size, left + width, self.y)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: list[Point]  # the spline's control points, sampled
    arrowheads: list[list[Point]]
    texts: list[Text]
    id: str = ""  # the id the DOT gave it (Graphviz's own edgeN otherwise)


@dataclass(frozen=True)
class Block:
    """One label as drawn: the lines of a node's, a cluster's, an edge's or the graph's
    label, and the box around them."""

    owner: str  # "node a", "cluster cluster_x", "edge a->b", "graph"
    box: Box
    text: str

    def overlap(self, other: Block) -> float:
        """The area the two boxes share (0 when they are apart or only touch)."""
        width = min(self.box.right, other.box.right) - max(self.box.left, other.box.left)
        height = min(self.box.bottom, other.box.bottom) - max(self.box.top, other.box.top)
        return max(width, 0.0) * max(height, 0.0)


def _block(owner: str, texts: list[Text]) -> Block | None:
    lines = [t for t in texts if t.text.strip()]
    if not lines:
        return None
    corners = [
        c for t in lines for c in ((t.box().left, t.box().top), (t.box().right, t.box().bottom))
    ]
    return Block(owner, Box.around(corners), "\n".join(t.text for t in lines))


@dataclass(frozen=True)
class Drawing:
    width_pt: float
    height_pt: float
    view_width: float
    view_height: float
    nodes: dict[str, Box]
    node_texts: dict[str, list[Text]]
    clusters: dict[str, Box]
    cluster_texts: dict[str, str]
    edges: list[Edge]
    texts: list[Text]
    blocks: list[Block]


def _points(text: str) -> list[Point]:
    numbers = [float(n) for n in _NUMBER.findall(text)]
    return list(zip(numbers[0::2], numbers[1::2], strict=False))


def _bezier(points: list[Point]) -> list[Point]:
    """Sample Graphviz's cubic B-spline path (M p0 C p1 p2 p3 p4 p5 p6 ...)."""
    out = [points[0]]
    for i in range(1, len(points) - 2, 3):
        p0, p1, p2, p3 = points[i - 1], points[i], points[i + 1], points[i + 2]
        for step in range(1, 11):
            t = step / 10
            u = 1 - t
            out.append(
                (
                    u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                    u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
                )
            )
    return out


def _shape(group: ET.Element) -> Box | None:
    for child in group:
        tag = child.tag.removeprefix(SVG)
        if tag in ("polygon", "polyline"):
            return Box.around(_points(child.get("points", "")))
        if tag == "path":
            return Box.around(_points(child.get("d", "")))
        if tag == "image":
            x, y = float(child.get("x", 0)), float(child.get("y", 0))
            w = float(child.get("width", "0").removesuffix("px"))
            h = float(child.get("height", "0").removesuffix("px"))
            return Box(x, y, x + w, y + h)
        if tag == "ellipse":
            cx, cy = float(child.get("cx", 0)), float(child.get("cy", 0))
            rx, ry = float(child.get("rx", 0)), float(child.get("ry", 0))
            return Box(cx - rx, cy - ry, cx + rx, cy + ry)
    return None


def _texts(group: ET.Element) -> list[Text]:
    return [
        Text(
            float(t.get("x", 0)),
            float(t.get("y", 0)),
            float(t.get("font-size", 14)),
            t.get("text-anchor", "middle"),
            "".join(t.itertext()),
        )
        for t in group.iter(f"{SVG}text")
    ]


def parse(svg: str) -> Drawing:
    root = ET.fromstring(svg)  # noqa: S314 - our own Graphviz output
    view = [float(n) for n in root.get("viewBox", "0 0 0 0").split()]
    nodes: dict[str, Box] = {}
    node_texts: dict[str, list[Text]] = {}
    clusters: dict[str, Box] = {}
    cluster_texts: dict[str, str] = {}
    edges: list[Edge] = []
    blocks: list[Block | None] = []
    for group in root.iter(f"{SVG}g"):
        kind = group.get("class")
        title = group.find(f"{SVG}title")
        name = title.text if title is not None and title.text else ""
        if kind == "edge" and "->" in group.get("id", ""):
            name = group.get("id", "")  # laid out against its direction (dir=back)
        if kind == "graph":  # its own label: the text elements directly in it
            blocks.append(_block("graph", _direct_texts(group)))
        elif kind in ("node", "cluster", "edge"):
            blocks.append(_block(f"{kind} {name}", _texts(group)))
        if kind == "node":
            box = _shape(group)
            if box is not None:
                nodes[name] = box
                node_texts[name] = _texts(group)
        elif kind == "cluster":
            box = _shape(group)
            if box is not None:
                clusters[name] = box
                cluster_texts[name] = "\n".join(t.text for t in _texts(group))
        elif kind == "edge":
            source, _, target = name.partition("->")
            path = next(group.iter(f"{SVG}path"), None)
            heads = [_points(p.get("points", "")) for p in group.iter(f"{SVG}polygon")]
            edges.append(
                Edge(
                    source,
                    target,
                    _bezier(_points(path.get("d", ""))) if path is not None else [],
                    heads,
                    _texts(group),
                    group.get("id", ""),
                )
            )
    return Drawing(
        float(root.get("width", "0pt").removesuffix("pt")),
        float(root.get("height", "0pt").removesuffix("pt")),
        view[2],
        view[3],
        nodes,
        node_texts,
        clusters,
        cluster_texts,
        edges,
        _texts(root),
        [b for b in blocks if b is not None],
    )


def _direct_texts(group: ET.Element) -> list[Text]:
    holder = ET.Element("g")
    holder.extend(child for child in group if child.tag == f"{SVG}text")
    return _texts(holder)


def centre(points: list[Point]) -> Point:
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def distance_to_path(box: Box, path: list[Point]) -> float:
    """How far ``box`` is from the nearest sampled point of ``path`` (0 when it touches)."""
    return min(box.distance(p) for p in path)
