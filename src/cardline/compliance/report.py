"""The assessor's report: for every architecture a connection diagram, a data-flow diagram,
the derived scope and the responsibility matrix, side by side; written as ``report.md``,
``matrix.md`` and one self-contained, printable ``index.html`` (images inlined).

The text outputs hold no timestamps: the same templates give the same report, so a test
can keep the committed sample in ``docs/compliance/`` in step with the templates.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from cardline.compliance import scope as scoping
from cardline.compliance.architecture import Architecture, analyse
from cardline.compliance.connections import connection_table
from cardline.compliance.flows import Declaration, load_declaration
from cardline.compliance.matrix import PARTY_NAMES, Requirements, load_requirements, ownership
from cardline.compliance.writeup import Check, components_used, requirements_met

DEFAULT_TEMPLATES = (
    Path("infra/serverless/template.yaml"),
    Path("infra/traditional/template.yaml"),
)


@dataclass(frozen=True)
class Block:
    """One piece of a report: ``kind`` is h1-h3, p, ul, table or img."""

    kind: str
    text: str = ""
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass
class Document:
    """A report as blocks, rendered to Markdown and to HTML alike."""

    blocks: list[Block] = field(default_factory=list)

    def heading(self, level: int, text: str) -> None:
        self.blocks.append(Block(f"h{level}", text))

    def para(self, text: str) -> None:
        self.blocks.append(Block("p", text))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(Block("ul", items=tuple(items)))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(Block("table", header=tuple(header), rows=tuple(map(tuple, rows))))

    def image(self, path: str, alt: str) -> None:
        self.blocks.append(Block("img", alt, items=(path,)))

    def markdown(self) -> str:
        out: list[str] = []
        for block in self.blocks:
            if block.kind.startswith("h"):
                out.append(f"{'#' * int(block.kind[1])} {block.text}\n")
            elif block.kind == "p":
                out.append(f"{block.text}\n")
            elif block.kind == "ul":
                out.append("".join(f"- {item}\n" for item in block.items))
            elif block.kind == "table":
                lines = ["| " + " | ".join(_cell(h) for h in block.header) + " |"]
                lines.append("|" + "---|" * len(block.header))
                lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
                out.append("\n".join(lines) + "\n")
            elif block.kind == "img":
                out.append(f"![{block.text}]({block.items[0]})\n")
        return "\n".join(out)

    def html(self, title: str, images: Path) -> str:
        body: list[str] = []
        for block in self.blocks:
            if block.kind.startswith("h"):
                anchor = "".join(c if c.isalnum() else "-" for c in block.text.lower())
                body.append(f'<{block.kind} id="{anchor}">{html.escape(block.text)}</{block.kind}>')
            elif block.kind == "p":
                body.append(f"<p>{_inline(block.text)}</p>")
            elif block.kind == "ul":
                body.append(
                    "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>"
                )
            elif block.kind == "table":
                head = "".join(f"<th>{_inline(h)}</th>" for h in block.header)
                cells = "".join(
                    "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                    for row in block.rows
                )
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
            elif block.kind == "img":
                path, alt = block.items[0], block.text
                data = base64.b64encode((images / path).read_bytes()).decode()
                body.append(
                    f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
                    f"<figcaption>{html.escape(alt)} ({html.escape(path)}; SVG beside it)"
                    "</figcaption></figure>"
                )
        return _PAGE.format(title=html.escape(title), body="\n".join(body))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _inline(text: str) -> str:
    """Markdown's `code` and **bold** in HTML; everything else escaped."""
    parts = html.escape(text).split("`")
    out = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    bold = out.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(bold))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; color: #1b1b1b; margin: 2rem auto;
  max-width: 78rem; padding: 0 1.5rem; }}
h1 {{ font-size: 1.8rem; border-bottom: 3px solid #c62828; padding-bottom: .3rem; }}
h2 {{ margin-top: 2.5rem; border-bottom: 1px solid #ccc; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; font-size: .9rem; }}
th, td {{ border: 1px solid #bbb; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
th {{ background: #f1f1f1; }}
tr:nth-child(even) td {{ background: #fafafa; }}
code {{ font-size: .85em; background: #f3f3f3; padding: 0 .2em; }}
figure {{ margin: 1rem 0; }}
figure img {{ max-width: 100%; height: auto; border: 1px solid #ddd; }}
figcaption {{ font-size: .85rem; color: #555; }}
@media print {{
  body {{ margin: 0; max-width: none; font-size: 10pt; }}
  h2 {{ break-before: page; }}
  figure, tr {{ break-inside: avoid; }}
}}
</style></head>
<body>
{body}
</body></html>
"""


@dataclass(frozen=True)
class Report:
    architectures: list[Architecture]
    files: list[Path]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name


def _name_for(path: Path, taken: set[str]) -> str:
    name = path.parent.name or path.stem
    if name in taken or name in {"", "."}:
        name = f"{name}-{path.stem}".strip("-")
    while name in taken:
        name += "-2"
    return name


def _summary(architectures: list[Architecture], declaration: Declaration) -> list[list[str]]:
    rows: list[list[str]] = []

    def add(label: str, values: list[str]) -> None:
        rows.append([label, *values])

    add("kind (charge on Lambda or not)", [a.binding.kind for a in architectures])
    add("resources declared", [str(len(a.template.resources)) for a in architectures])
    for category in scoping.CATEGORIES:
        add(f"resources {category}", [str(len(a.scope.of(category))) for a in architectures])
    add(
        "resources in PCI scope (all but out of scope)",
        [str(len(a.scope.in_scope())) for a in architectures],
    )
    add("CDE resources", [", ".join(a.scope.of(scoping.CDE)) for a in architectures])
    add(
        "application components in the CDE",
        [
            ", ".join(
                declaration.components[k].name
                for k in a.scope.cde_components
                if declaration.components[k].hosted
            )
            for a in architectures
        ],
    )
    add(
        "flows carrying PAN/CVV",
        [", ".join(map(str, a.scope.account_data_flows)) for a in architectures],
    )
    for principal, label in ((True, "principal requirements (12)"), (False, "all matrix rows")):
        counts = [ownership(a.assignments, principal=principal) for a in architectures]
        add(f"{label}: customer-owned (ours or shared)", [str(c["customer"]) for c in counts])
        add(f"{label}: ours alone", [str(c["us"]) for c in counts])
        add(f"{label}: handed to a provider", [str(c["handed over"]) for c in counts])
    return rows


def _check_table(
    checks: list[Check], architectures: list[Architecture]
) -> tuple[list[str], list[list[str]]]:
    header = ["item"]
    header += [f"write-up: {a.binding.kind}" for a in architectures]
    header += [f"model: {a.name}" for a in architectures]
    rows = []
    for check in checks:
        row = [check.item]
        row += [check.claims.get(a.binding.kind, "-") for a in architectures]
        row += [
            f"{check.derived[a.name]} {'✓' if check.agrees[a.name] else '✗ differs'}"
            for a in architectures
        ]
        rows.append(row)
    return header, rows


class GraphvizMissing(RuntimeError):
    """Graphviz's ``dot``, which draws the diagrams, is not installed."""


def require_graphviz() -> None:
    """Raise :class:`GraphvizMissing`, naming the package to install, without ``dot``."""
    if shutil.which("dot") is None:
        raise GraphvizMissing(
            "Graphviz's `dot` is not on PATH and the diagrams need it; on Debian or Ubuntu: "
            "apt-get install graphviz"
        )


def build(
    templates: list[Path], out_dir: Path, *, declaration: Declaration | None = None
) -> Report:
    """Analyse each template and write the whole report into ``out_dir``."""
    require_graphviz()
    from cardline.compliance import connection_diagram, dataflow_diagram

    declaration = declaration or load_declaration()
    requirements: Requirements = load_requirements()
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    architectures: list[Architecture] = []
    for path in templates:
        name = _name_for(path, taken)
        taken.add(name)
        architectures.append(analyse(name, path, declaration, requirements))
    files: list[Path] = []
    for a in architectures:
        files += [p for k, p in connection_diagram.draw(a, out_dir).files.items() if k != "dot"]
        files += [
            p for k, p in dataflow_diagram.draw(a, declaration, out_dir).files.items() if k != "dot"
        ]

    doc = _report(architectures, declaration)
    matrix = _matrix(architectures, requirements)
    (out_dir / "report.md").write_text(doc.markdown(), encoding="utf-8")
    (out_dir / "matrix.md").write_text(matrix.markdown(), encoding="utf-8")
    page = Document(doc.blocks + matrix.blocks)
    (out_dir / "index.html").write_text(
        page.html("cardline: PCI DSS scope and responsibility report", out_dir), encoding="utf-8"
    )
    for stale in out_dir.glob("*.dot"):
        stale.unlink()
    files += [out_dir / "report.md", out_dir / "matrix.md", out_dir / "index.html"]
    return Report(architectures, files)


def _report(architectures: list[Architecture], declaration: Declaration) -> Document:
    doc = Document()
    names = [a.name for a in architectures]
    doc.heading(1, "cardline: PCI DSS v4.0.1 scope and responsibility report")
    doc.para(
        "Generated by `cardline compliance report` from the infrastructure templates and the "
        "application's declared data flows (`src/cardline/compliance/flows.yaml`); nothing in it "
        "is drawn by hand. Regenerate it whenever a template changes (`make report`)."
    )
    doc.table(
        ["architecture", "template", "sha256 (first 16)", "description"],
        [
            [
                a.name,
                f"`{_display(a.template.path)}`",
                hashlib.sha256(a.template.path.read_bytes()).hexdigest()[:16],
                a.template.description,
            ]
            for a in architectures
        ],
    )
    doc.heading(2, "Scope summary, side by side")
    doc.table(["derived from the model", *names], _summary(architectures, declaration))
    doc.para(_verdict(architectures))
    doc.heading(2, "The write-up's tables, checked against the templates")
    doc.para(
        "The comparison in `achieving-pci-compliance-serverless` lists the AWS components "
        "each architecture uses and how each meets four PCI requirements. Each line below "
        "sets its words against what the templates declare (✓ the model bears it out)."
    )
    doc.heading(3, "AWS components used")
    header, rows = _check_table(components_used(architectures), architectures)
    doc.table(header, rows)
    doc.heading(3, "How each architecture meets PCI requirements")
    header, rows = _check_table(requirements_met(architectures), architectures)
    doc.table(header, rows)
    doc.heading(2, "How scope is derived")
    doc.para(
        "Rules (`src/cardline/compliance/scope.py`), applied to every resource of a template, "
        "each resource keeping the first reason found:"
    )
    doc.bullets(
        [
            "**CDE**: runs a component that sends or receives PAN or CVV in a declared flow; "
            "or is a system in the same subnet as one (no segmentation between them).",
            "**connected-to**: one reference away from a CDE resource, hosts a component "
            "exchanging a flow with a CDE component, may open connections into a CDE system "
            "through a security-group rule, or keeps the CDE's audit trail.",
            "**security-impacting**: anything a CDE resource, its audit trail or an in-scope "
            "attachment depends on (followed to the end, but not into another system's own "
            "dependencies), and every attachment (policy, rule, route, association, ACL entry, "
            "flow log, subscription) that changes an in-scope resource.",
            "**out of scope**: nothing connects it to the CDE.",
        ]
    )
    doc.heading(2, "Third-party service providers (PCI DSS 12.8.1)")
    doc.table(
        ["provider", "what it does here", "evidence to collect"],
        [
            [
                "AWS",
                "hosts every component; runs the edge, the runtime and the log stores",
                "AWS PCI DSS AOC (AWS Artifact)",
            ],
            [
                "PayPal",
                "authorizes and captures every card payment; keeps the PAN",
                "PayPal PCI DSS AOC",
            ],
            [
                "telephony provider",
                "carries the call (and DTMF) from the cardholder",
                "its PCI DSS AOC; recording pause or DTMF masking",
            ],
        ],
    )
    for a in architectures:
        _architecture_section(doc, a, declaration)
    return doc


def _verdict(architectures: list[Architecture]) -> str:
    by_kind = {a.binding.kind: a for a in architectures}
    if set(by_kind) != {"serverless", "traditional"}:
        return "Only one kind of architecture given: no side-by-side verdict."
    s, t = by_kind["serverless"], by_kind["traditional"]
    cde_s, cde_t = len(s.scope.of(scoping.CDE)), len(t.scope.of(scoping.CDE))
    own_s = ownership(s.assignments, principal=False)["customer"]
    own_t = ownership(t.assignments, principal=False)["customer"]
    ours_s = ownership(s.assignments, principal=False)["us"]
    ours_t = ownership(t.assignments, principal=False)["us"]
    return (
        f"**Verdict:** {s.name} puts {cde_s} resources in the CDE against {cde_t} for "
        f"{t.name}, and {len(s.scope.in_scope())} in scope against {len(t.scope.in_scope())}; "
        f"the business owns (alone or shared) {own_s} matrix rows against {own_t}, and "
        f"{ours_s} alone against {ours_t}. "
        + (
            "The write-up's claim holds: serverless hands more of PCI DSS to AWS."
            if cde_s < cde_t and own_s < own_t
            else "The write-up's claim does NOT hold for these templates."
        )
    )


def _architecture_section(doc: Document, a: Architecture, declaration: Declaration) -> None:
    def hosts(key: str) -> str:
        return ", ".join(a.binding.hosts.get(key, ())) or "-"

    doc.heading(2, f"{a.name}: connection diagram (PCI DSS 1.2.3)")
    doc.image(f"{a.name}-connections.png", f"{a.name} connection diagram")
    header, rows = connection_table(a)
    doc.table(header, rows)
    doc.heading(2, f"{a.name}: data-flow diagram (PCI DSS 1.2.4)")
    doc.image(f"{a.name}-dataflow.png", f"{a.name} data-flow diagram")
    rows = []
    for flow in a.binding.flows:
        account = declaration.carries_account_data(flow)
        rows.append(
            [
                f"**{flow.number}**" if account else str(flow.number),
                f"{declaration.components[flow.source].name} ({hosts(flow.source)})",
                f"{declaration.components[flow.sink].name} ({hosts(flow.sink)})",
                flow.what,
                ", ".join(declaration.data[d].name for d in flow.data),
                flow.protocol,
                flow.encryption,
                "**PAN/CVV**" if account else "",
            ]
        )
    doc.table(["#", "from", "to", "what", "data", "protocol", "encryption", "account data"], rows)
    if a.binding.absent:
        doc.para(
            "Declared components this template does not run (their flows are left out): "
            + ", ".join(declaration.components[k].name for k in a.binding.absent)
            + "."
        )
    doc.heading(3, f"{a.name}: every resource and its scope")
    doc.table(
        ["resource", "type", "scope", "why"],
        [
            [
                f"`{rid}`",
                a.template.resources[rid].type,
                a.scope.verdicts[rid].category,
                a.scope.verdicts[rid].reason,
            ]
            for category in scoping.CATEGORIES
            for rid in a.scope.of(category)
        ],
    )
    facts = ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in sorted(a.facts.items()))
    doc.para(f"Facts read from the template (they decide the matrix's owners): {facts}.")


def _matrix(architectures: list[Architecture], requirements: Requirements) -> Document:
    doc = Document()
    doc.heading(2, "PCI DSS v4.0.1 responsibility matrix (12.8.5)")
    parties = ", ".join(PARTY_NAMES.values())
    doc.para(
        f"Owners: {parties}, or shared. Rules: `src/cardline/compliance/requirements.yaml`; "
        "the owner follows from facts read from each template. Principal requirements in bold."
    )
    header = ["req", "requirement"]
    for a in architectures:
        header += [f"{a.name}: owner", f"{a.name}: how it is met", f"{a.name}: evidence"]
    rows = []
    for index, requirement in enumerate(requirements.items):
        req = f"**{requirement.id}**" if requirement.principal else requirement.id
        row = [req, requirement.title]
        for a in architectures:
            assignment = a.assignments[index]
            row += [
                assignment.owner_label,
                assignment.how,
                "; ".join(f"`{e}`" for e in assignment.evidence) or "-",
            ]
        rows.append(row)
    doc.table(header, rows)
    return doc


def default_templates(root: Path | None = None) -> list[Path]:
    """The repository's two templates, found from ``root`` (the working directory) up."""
    here = (root or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        found = [directory / t for t in DEFAULT_TEMPLATES]
        if all(p.is_file() for p in found):
            return [Path(os.path.relpath(p)) for p in found]
    raise FileNotFoundError(
        "infra/serverless/template.yaml and infra/traditional/template.yaml not found "
        "here or above; pass --template PATH"
    )
