"""Writing DOT text and drawing it with Graphviz's ``dot``, for the connection and
data-flow diagrams: quoting, cluster names, and the files each diagram is written as.

Graphviz is a tooling dependency: run here, never by the charge path.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

FORMATS = (("svg", 72), ("png", 110))  # format, dots per inch


def cluster_name(zone: str) -> str:
    """The DOT name of ``zone``'s cluster (``dot`` draws a box only for ``cluster_*``)."""
    return "cluster_" + "".join(c if c.isalnum() else "_" for c in zone)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_label(text: str, justify: str = "\\n") -> str:
    """Escape ``text`` for a DOT label, one output line per input line (``\\l``: each
    line left-justified)."""
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in text.split("\n")]
    return '"' + justify.join(escaped) + (justify if justify != "\\n" else "") + '"'


def render(dot: str, stem: Path) -> dict[str, Path]:
    """Write ``dot`` as ``<stem>.dot`` and draw it as ``<stem>.svg`` and ``.png``."""
    files = {"dot": stem.with_suffix(".dot")}
    files["dot"].write_text(dot, encoding="utf-8")
    for fmt, dpi in FORMATS:
        files[fmt] = stem.with_suffix(f".{fmt}")
        subprocess.run(  # noqa: S603
            ["dot", f"-T{fmt}", f"-Gdpi={dpi}", "-o", str(files[fmt])],  # noqa: S607
            input=dot.encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )
    return files
