"""The application's declared data flows (``flows.yaml``), bound to one template's resources.

A flow between two of our components is bound resource by resource through the permissions
derived from the template (:mod:`cardline.compliance.permissions`): ``via: read`` draws it
from each host of the source to each host of the sink that may read it, ``via: write`` and
``via: invoke`` from each host of the source that may write or invoke a host of the sink.
A flow with no such pair is not in that template. What IAM cannot show (the parties outside
the account, the telephone network, what each flow carries) stays declared.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Any

import yaml

from cardline.compliance.permissions import INVOKE, READ, WRITE, Permissions
from cardline.compliance.template import Template

SERVERLESS = "serverless"
TRADITIONAL = "traditional"
_FUNCTION_TYPES = {"AWS::Serverless::Function", "AWS::Lambda::Function"}


@dataclass(frozen=True)
class DataClass:
    key: str
    name: str
    account_data: bool
    note: str
    payment_page: bool = False  # the page in which card data is keyed (PCI DSS 6.4.3, 11.6.1)
    # Sensitive authentication data (the security code): never stored after authorization
    # (PCI DSS 3.3.1), so whatever receives it holds it in memory only.
    sad: bool = False


@dataclass(frozen=True)
class Selector:
    """Matches template resources by type, and optionally by logical-id glob (any case)."""

    types: tuple[str, ...]
    id: str = "*"
    exclude: tuple[str, ...] = ()

    def matches(self, resource_id: str, resource_type: str) -> bool:
        name = resource_id.lower()
        return (
            resource_type in self.types
            and fnmatch.fnmatch(name, self.id.lower())
            and not any(fnmatch.fnmatch(name, pattern.lower()) for pattern in self.exclude)
        )


@dataclass(frozen=True)
class Component:
    key: str
    name: str
    kind: str  # actor, external, process, datastore
    party: str  # us, paypal, telephony, cardholder
    hosts: tuple[Selector, ...]
    code: tuple[str, ...]
    note: str
    aoc: bool = False  # a service provider that gives the merchant its own PCI DSS AOC

    @property
    def hosted(self) -> bool:
        """True for our own components that run on template resources."""
        return bool(self.hosts)


@dataclass(frozen=True)
class Flow:
    number: int
    source: str
    sink: str
    data: tuple[str, ...]
    what: str
    protocol: str
    encryption: str
    via: str | None = None
    # (source resource, sink resource) for each pair of hosts the flow runs between; None
    # stands for an end that is a party outside the template.
    pairs: tuple[tuple[str | None, str | None], ...] = ()

    @property
    def source_hosts(self) -> tuple[str, ...]:
        return tuple(sorted({s for s, _ in self.pairs if s is not None}))

    @property
    def sink_hosts(self) -> tuple[str, ...]:
        return tuple(sorted({t for _, t in self.pairs if t is not None}))


@dataclass(frozen=True)
class Declaration:
    data: dict[str, DataClass]
    components: dict[str, Component]
    flows: tuple[dict[str, Any], ...]

    def carries_account_data(self, flow: Flow) -> bool:
        """True when the flow carries PAN or CVV."""
        return any(self.data[d].account_data for d in flow.data)

    def carries_sad(self, flow: Flow) -> bool:
        """True when the flow carries sensitive authentication data (the security code)."""
        return any(self.data[d].sad for d in flow.data)

    def sad_receivers(self, flows: tuple[Flow, ...]) -> tuple[str, ...]:
        """The components that receive sensitive authentication data in ``flows``: each
        holds it in memory (it may never be stored after authorization, PCI DSS 3.3.1)."""
        return tuple(dict.fromkeys(f.sink for f in flows if self.carries_sad(f)))


@dataclass(frozen=True)
class Binding:
    """The declaration applied to one template: who runs where, and the flows present."""

    kind: str
    hosts: dict[str, tuple[str, ...]]  # component key -> resource ids (empty for parties)
    flows: tuple[Flow, ...]
    absent: tuple[str, ...]  # hosted components this template does not run


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def load_declaration(text: str | None = None) -> Declaration:
    """Read the declared flows: the packaged ``flows.yaml`` unless ``text`` is given."""
    if text is None:
        text = (package_files.files("cardline.compliance") / "flows.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    data = {
        key: DataClass(
            key,
            str(v["name"]),
            bool(v.get("account_data")),
            str(v.get("note", "")),
            bool(v.get("payment_page")),
            bool(v.get("sad")),
        )
        for key, v in raw["data"].items()
    }
    components = {
        key: Component(
            key=key,
            name=str(v["name"]),
            kind=str(v["kind"]),
            party=str(v.get("party", "us")),
            hosts=tuple(
                Selector(_tuple(h["type"]), str(h.get("id", "*")), _tuple(h.get("exclude")))
                for h in v.get("hosts") or ()
            ),
            code=_tuple(v.get("code")),
            note=str(v.get("note", "")),
            aoc=bool(v.get("aoc")),
        )
        for key, v in raw["components"].items()
    }
    for flow in raw["flows"]:
        for end in (flow["from"], flow["to"]):
            if end not in components:
                raise ValueError(f"flows.yaml: flow names unknown component {end!r}")
        for item in flow["data"]:
            if item not in data:
                raise ValueError(f"flows.yaml: flow names unknown data class {item!r}")
        if flow.get("via") not in (None, READ, WRITE, INVOKE):
            raise ValueError(f"flows.yaml: unknown via {flow.get('via')!r}")
    return Declaration(data, components, tuple(raw["flows"]))


def _by_kind(value: Any, kind: str) -> str:
    if isinstance(value, dict):
        return str(value.get(kind, value.get("default", "")))
    return str(value)


def _pairs(
    via: str | None,
    sources: tuple[str, ...],
    sinks: tuple[str, ...],
    permissions: Permissions,
) -> tuple[tuple[str | None, str | None], ...]:
    """The host pairs a flow runs between: those a derived permission connects."""
    ends_from: tuple[str | None, ...] = sources or (None,)
    ends_to: tuple[str | None, ...] = sinks or (None,)
    pairs = []
    for a in ends_from:
        for b in ends_to:
            if a is not None and b is not None and a == b:
                continue
            if (
                a is None
                or b is None
                or via is None
                or (via == READ and permissions.can(b, READ, a))
                or (via in (WRITE, INVOKE) and permissions.can(a, via, b))
            ):
                pairs.append((a, b))
    return tuple(pairs)


def bind(declaration: Declaration, template: Template, permissions: Permissions) -> Binding:
    """Find each component's hosts in ``template`` and number the flows present in it,
    each bound to the pairs of hosts that ``permissions`` connect."""
    hosts: dict[str, tuple[str, ...]] = {}
    for component in declaration.components.values():
        hosts[component.key] = tuple(
            sorted(
                r.id
                for r in template.resources.values()
                if any(s.matches(r.id, r.type) for s in component.hosts)
            )
        )
    charge_types = {template.resources[r].type for r in hosts.get("charge", ())}
    kind = SERVERLESS if charge_types and charge_types <= _FUNCTION_TYPES else TRADITIONAL

    def present(key: str) -> bool:
        return not declaration.components[key].hosted or bool(hosts[key])

    flows: list[Flow] = []
    for raw in declaration.flows:
        kinds = _tuple(raw.get("kinds"))
        if kinds and kind not in kinds:
            continue
        if not (present(raw["from"]) and present(raw["to"])):
            continue
        via = raw.get("via")
        pairs = _pairs(via, hosts[raw["from"]], hosts[raw["to"]], permissions)
        if not pairs:
            continue  # no permission lets it happen in this template
        flows.append(
            Flow(
                number=len(flows) + 1,
                source=raw["from"],
                sink=raw["to"],
                data=_tuple(raw["data"]),
                what=str(raw["what"]),
                protocol=_by_kind(raw["protocol"], kind),
                encryption=_by_kind(raw["encryption"], kind),
                via=via,
                pairs=pairs,
            )
        )
    absent = tuple(k for k, c in declaration.components.items() if c.hosted and not hosts[k])
    return Binding(kind, hosts, tuple(flows), absent)
