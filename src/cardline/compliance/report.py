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
from dataclasses import dataclass, field, replace
from pathlib import Path

from cardline.compliance import saq
from cardline.compliance import scope as scoping
from cardline.compliance.architecture import Architecture, analyse
from cardline.compliance.comparison import controls_table, kinds_table, owners_table
from cardline.compliance.connections import connection_table
from cardline.compliance.dataflow_diagram import flow_table
from cardline.compliance.flows import Declaration, load_declaration
from cardline.compliance.inventory import EMPTY, Inventory, find_inventory, load_inventory
from cardline.compliance.matrix import PARTY_NAMES, Requirements, load_requirements, ownership
from cardline.compliance.outside_checks import Scan, mapping, scan
from cardline.compliance.variants import load_variants
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
    add(
        "outside the templates, in scope (inventory)",
        [str(sum(1 for i in a.inventory if i.scope != scoping.OUT)) for a in architectures],
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
        for a in architectures:
            judged = check.judged[a.name]
            row.append(f"{judged.shown}: **{judged.verdict}**, {judged.reason}")
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
    templates: list[Path],
    out_dir: Path,
    *,
    declaration: Declaration | None = None,
    inventory: Path | None = None,
    run_tools: bool = True,
) -> Report:
    """Analyse each template and write the whole report into ``out_dir``. ``inventory``
    is the file of what the templates do not hold (default: the ``infra/inventory.yaml``
    beside the templates); ``run_tools`` runs cfn-lint and checkov where installed."""
    require_graphviz()
    from cardline.compliance import connection_diagram, dataflow_diagram

    declaration = declaration or load_declaration()
    requirements: Requirements = load_requirements()
    things: Inventory = load_inventory(inventory) if inventory else find_inventory(templates)
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    architectures: list[Architecture] = []
    for path in templates:
        for variant in load_variants(path):
            name = _name_for(path, taken) if variant.name is None else variant.name
            while name in taken:
                name += "-2"
            taken.add(name)
            analysed = analyse(name, path, declaration, requirements, things, variant.parameters)
            architectures.append(replace(analysed, description=variant.description))
    by_path: dict[Path, Scan] = {}
    for a in architectures:  # the outside tools read the template, not a variant of it
        if a.template.path not in by_path:
            by_path[a.template.path] = scan(a.template.path, run_tools=run_tools)
    scans = {a.name: by_path[a.template.path] for a in architectures}
    files: list[Path] = []
    for a in architectures:
        files += [p for k, p in connection_diagram.draw(a, out_dir).files.items() if k != "dot"]
        files += [
            p for k, p in dataflow_diagram.draw(a, declaration, out_dir).files.items() if k != "dot"
        ]

    doc = _report(architectures, declaration, things)
    _evidence_appendix(doc, architectures, scans)
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


def _report(
    architectures: list[Architecture], declaration: Declaration, inventory: Inventory = EMPTY
) -> Document:
    doc = Document()
    names = [a.name for a in architectures]
    doc.heading(1, "cardline: PCI DSS v4.0.1 scope and responsibility report")
    doc.para(
        "Generated by `cardline compliance report` from the infrastructure templates and the "
        "application's declared data flows (`src/cardline/compliance/flows.yaml`); nothing in it "
        "is drawn by hand. Regenerate it whenever a template changes (`make report`)."
    )
    doc.table(
        ["architecture", "template", "sha256 (first 16)", "parameters", "description"],
        [
            [
                a.name,
                f"`{_display(a.template.path)}`",
                hashlib.sha256(a.template.path.read_bytes()).hexdigest()[:16],
                _given(a),
                a.description or a.template.description,
            ]
            for a in architectures
        ],
    )
    doc.para(
        "Each architecture is its template as CloudFormation would deploy it with the "
        "parameters shown (every other parameter at its default; the values come from the "
        "`variants.yaml` beside the template): resources whose condition is false are left "
        "out and every `Fn::If` takes its branch."
    )
    doc.heading(2, "Scope summary, side by side")
    doc.table(["derived from the model", *names], _summary(architectures, declaration))
    _validation(doc, architectures, declaration)
    _findings(doc, architectures)
    _comparison(doc, architectures)
    doc.heading(2, "The write-up's tables, checked against the templates")
    doc.para(
        "The comparison in `achieving-pci-compliance-serverless` lists the AWS components "
        "each architecture uses and how each meets four PCI requirements. Each line below "
        "sets its words against what the templates declare, judged **holds**, **partly** "
        "or **wrong**, with the reason."
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
            "**CDE**: at an end of a flow carrying PAN or CVV (bound to the resources the "
            "template's permissions connect), or a system sharing a subnet with one where no "
            "security group stands between them.",
            "**connected-to**: a store or process a CDE resource may read, write or invoke, or "
            "that may invoke or write one (derived from IAM and resource policies); a system "
            "security groups let connect to a CDE system (security groups are segmentation "
            "controls), and the NAT gateways and endpoints the CDE's subnets route through; "
            "whatever the CDE's audit stream reaches (log groups, subscriptions, the archive, "
            "the projector and the ledger it writes).",
            "**security-impacting**: the host of the payment page (6.4.3, 11.6.1); the roles "
            "of in-scope systems and every policy attached to them; whoever may read a secret "
            "or decrypt with a key the CDE uses, or may change CDE code; those secrets and "
            "keys; the segmentation controls of a VPC holding the CDE; anything an in-scope "
            "resource depends on, and every attachment that changes one.",
            "**out of scope**: no permission, flow, network path or dependency reaches the CDE.",
            "Outside the templates: `infra/inventory.yaml` gives each item's scope and why; "
            "it is shown in every scope table.",
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


def _validation(doc: Document, architectures: list[Architecture], declaration: Declaration) -> None:
    doc.heading(2, "SAQ and validation statement")
    statements = [saq.statement(a, declaration) for a in architectures]
    doc.para(
        "Which PCI DSS validation the merchant files, derived from the model "
        "(`src/cardline/compliance/saq.py`): the merchant's own components that receive the "
        "PAN are the ends of the account-data flows bound to each template, and the "
        "inventory's items in the CDE."
    )
    rows = []
    for s in statements:
        rows.append(
            [
                s.architecture,
                f"**{s.validation}**",
                f"{len(s.receiving)}: " + ("; ".join(r.shown() for r in s.receiving) or "none"),
                f"{len(s.outside)}: " + ("; ".join(r.name for r in s.outside) or "none"),
                ", ".join(f"`{h}`" for h in s.payment_page_hosts) or "-",
            ]
        )
    doc.table(
        [
            "architecture",
            "validation",
            "merchant components receiving the PAN",
            "also in the CDE, outside the template (inventory)",
            "payment page served by",
        ],
        rows,
    )
    for s in statements:
        if s.why_not_a:
            doc.para(
                f"**{s.architecture}**: the CDE holds {len(s.receiving)} merchant-operated "
                f"components that receive the PAN ({len(s.hosted)} of them code in the "
                f"template) and {len(s.outside)} more items of the inventory. Why not SAQ A: "
                f"{s.why_not_a} Why not SAQ C-VT: {s.why_not_c_vt}"
            )
    reductions = next((s.reductions for s in statements if s.reductions), ())
    if reductions:
        doc.para("What would reduce it:")
        doc.bullets(list(reductions))


def _findings(doc: Document, architectures: list[Architecture]) -> None:
    doc.heading(2, "Findings")
    doc.para(
        "Rows of the responsibility matrix whose control the template does not yet hold "
        "(the rule marked `finding` in `requirements.yaml`), with what is missing; each row "
        "turns around when the template gains the control, without a change to the code."
    )
    rows = [
        [a.name, x.requirement.id, x.requirement.title, " ".join(filter(None, [x.how, x.note]))]
        for a in architectures
        for x in a.assignments
        if x.finding
    ]
    doc.table(["architecture", "req", "requirement", "finding"], rows or [["-", "-", "-", "none"]])


def _comparison(doc: Document, architectures: list[Architecture]) -> None:
    doc.heading(2, "The comparison, counted")
    doc.para(
        "Counts, not a verdict: every number below follows from the templates and the "
        "inventory, and changes when they do. In-scope components by kind (template "
        "resources and the inventory's items outside them), then every row of the "
        "responsibility matrix by owner, then the controls each template has, so that a "
        "difference in the counts is not a difference in what was built."
    )
    header, rows = kinds_table(architectures)
    doc.table(header, rows)
    header, rows = owners_table(architectures)
    doc.table(header, rows)
    header, rows = controls_table(architectures)
    doc.table(header, rows)


def _given(a: Architecture) -> str:
    given = a.template.evaluation.given
    return ", ".join(f"`{k}={v}`" for k, v in sorted(given.items())) or "defaults"


def _conditions(doc: Document, a: Architecture) -> None:
    evaluation = a.template.evaluation
    decided = ", ".join(
        f"{name}: {'true' if holds else 'false'}"
        for name, holds in sorted(evaluation.conditions.items())
    )
    if decided:
        doc.para(f"Template conditions, decided by the parameters ({_given(a)}): {decided}.")
    if a.template.dropped:
        doc.para(
            f"Resources not created (their condition is false): {len(a.template.dropped)}, "
            + ", ".join(f"`{r}`" for r in sorted(a.template.dropped))
            + "."
        )
    if evaluation.undecided:
        doc.para(
            "Conditions the parameters do not decide (their resources are kept, both "
            "branches of their `Fn::If` counted): "
            + "; ".join(f"{n}: {why}" for n, why in sorted(evaluation.undecided.items()))
            + "."
        )


def _architecture_section(doc: Document, a: Architecture, declaration: Declaration) -> None:
    doc.heading(2, f"{a.name}: what is deployed")
    _conditions(doc, a)

    doc.heading(2, f"{a.name}: connection diagram (PCI DSS 1.2.3)")
    doc.image(f"{a.name}-connections.png", f"{a.name} connection diagram")
    header, rows = connection_table(a)
    doc.table(header, rows)
    doc.heading(2, f"{a.name}: data-flow diagram (PCI DSS 1.2.4)")
    doc.image(f"{a.name}-dataflow.png", f"{a.name} data-flow diagram")
    doc.heading(3, f"{a.name}: flows (numbered as drawn)")
    header, rows = flow_table(a, declaration)
    doc.table(header, rows)
    if a.binding.absent:
        doc.para(
            "Declared components this template does not run (their flows are left out): "
            + ", ".join(declaration.components[k].name for k in a.binding.absent)
            + "."
        )
    doc.heading(3, f"{a.name}: every resource and its scope")
    rows = [
        [
            f"`{rid}`",
            a.template.resources[rid].type,
            a.scope.verdicts[rid].category,
            a.scope.verdicts[rid].reason,
        ]
        for category in scoping.CATEGORIES
        for rid in a.scope.of(category)
    ]
    rows += [
        [
            f"`{item.id}` (inventory)",
            f"not in the template: {item.kind}, {item.zone}",
            item.scope,
            item.why,
        ]
        for category in scoping.CATEGORIES
        for item in a.inventory
        if item.scope == category
    ]
    doc.table(["resource", "type", "scope", "why"], rows)
    if not a.inventory:
        doc.para(
            "No inventory of what the template does not hold was found: the agents' "
            "desktops, networks, telephony, identities and logging are missing from this "
            "scope (write an `inventory.yaml`, see `infra/inventory.yaml`)."
        )
    doc.heading(3, f"{a.name}: permissions derived from the template")
    doc.para(
        "Who may do what to which resource, read from IAM role policies (inline and "
        "attached), resource policies, Lambda permissions and event sources, as deployed "
        "with this architecture's parameters (an `Fn::If` the parameters do not decide "
        "counts both ways, under its condition). The flows above are bound by these."
    )
    doc.table(
        ["principal", "may", "resource", "granted by", "condition"],
        [
            [
                f"`{x.principal}`",
                x.verb,
                f"`{x.target}`",
                x.via,
                ", ".join(x.conditions) or "-",
            ]
            for x in a.permissions.accesses
        ],
    )
    if a.permissions.unresolved:
        doc.para(
            "AWS managed policies attached (not read here): "
            + "; ".join(f"{role}: {policy}" for role, policy in a.permissions.unresolved)
            + "."
        )
    facts = ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in sorted(a.facts.items()))
    doc.para(f"Facts read from the template (they decide the matrix's owners): {facts}.")


def _evidence_appendix(
    doc: Document, architectures: list[Architecture], scans: dict[str, Scan]
) -> None:
    doc.heading(2, "Evidence appendix: the outside checks")
    doc.para(
        "cfn-lint and checkov, run on each template by `cardline compliance report` where "
        "they are installed (`make tools`); every check the templates skip, with the reason "
        "they give; and checkov's checks mapped to PCI DSS requirements "
        "(`src/cardline/compliance/checks.yaml`, in the manner of prowler's compliance "
        "mappings)."
    )
    rows = []
    for a in architectures:
        result = scans[a.name]
        lint = (
            "not run (cfn-lint not installed)"
            if result.cfn_lint is None
            else (f"{len(result.cfn_lint)} findings" if result.cfn_lint else "clean")
        )
        if result.checkov is None:
            checkov = "not run (checkov not installed)"
        else:
            count = {
                k: sum(1 for o in result.checkov if o.result == k)
                for k in ("passed", "failed", "skipped")
            }
            checkov = ", ".join(f"{n} {k}" for k, n in count.items())
        versions = ", ".join(f"{k} {v}" for k, v in sorted(result.versions.items())) or "-"
        rows.append([a.name, lint, checkov, versions])
    doc.table(["architecture", "cfn-lint", "checkov", "versions"], rows)
    for a in architectures:
        result = scans[a.name]
        failed = [o for o in result.checkov or () if o.result == "failed"]
        if failed:
            doc.para(
                f"{a.name}: checkov's failed checks: "
                + "; ".join(f"{o.check} on `{o.resource}` ({o.title})" for o in failed)
                + "."
            )
        if result.cfn_lint:
            doc.bullets(list(result.cfn_lint))
    doc.heading(3, "Skipped checks and why")
    doc.table(
        ["architecture", "resource", "check", "reason"],
        [
            [a.name, f"`{skip.resource}`", skip.check, skip.reason]
            for a in architectures
            for skip in scans[a.name].skips
        ]
        or [["-", "-", "-", "no skips"]],
    )
    doc.heading(3, "Template checks mapped to PCI DSS requirements")
    mapped = mapping()
    header = ["check", "what it asks", "PCI DSS"] + [a.name for a in architectures]
    rows = []
    for check, requirements in sorted(mapped.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[1])):
        titles = {o.title for s in scans.values() for o in s.checkov or () if o.check == check}
        row = [check, next(iter(sorted(titles)), "-"), ", ".join(requirements)]
        for a in architectures:
            outcomes = [o for o in scans[a.name].checkov or () if o.check == check]
            if scans[a.name].checkov is None:
                row.append("not run")
            elif not outcomes:
                row.append("n/a")
            else:
                row.append(
                    ", ".join(
                        f"{sum(1 for o in outcomes if o.result == k)} {k}"
                        for k in ("passed", "failed", "skipped")
                        if any(o.result == k for o in outcomes)
                    )
                )
        rows.append(row)
    doc.table(header, rows)


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
                ("**finding**: " if assignment.finding else "") + assignment.owner_label,
                " ".join(filter(None, [assignment.how, assignment.note])),
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
