"""Which PCI DSS validation applies to an architecture, and why, derived from its model:
the merchant's own components that receive the PAN (ends of the account-data flows bound
to the template, and the inventory's items in the CDE), the page the card is keyed into,
and what would take each out of the merchant's hands.

SAQ A needs every card-data function outsourced, with no electronic storing, processing
or transmitting by the merchant; SAQ C-VT needs each card keyed, one at a time, into a
virtual terminal hosted by a validated provider. A merchant whose own code or browser
page receives the PAN fills in SAQ D for merchants, or has a Report on Compliance (ROC)
by a QSA where its level (or its acquirer) asks for one.
"""

from __future__ import annotations

from dataclasses import dataclass

from cardline.compliance.architecture import Architecture
from cardline.compliance.flows import Declaration
from cardline.compliance.scope import CDE

SAQ_D = "SAQ D for merchants"


@dataclass(frozen=True)
class Receiver:
    """One component of the merchant's that receives the PAN: a declared component (with
    the template resources that host it) or an inventory item."""

    name: str
    hosts: tuple[str, ...]
    source: str  # "flow" (bound from the template) or "inventory"
    key: str = ""  # the component's key in flows.yaml, or the inventory item's id

    def shown(self) -> str:
        return f"{self.name} ({', '.join(self.hosts)})" if self.hosts else self.name


@dataclass(frozen=True)
class Statement:
    """The validation statement of one architecture."""

    architecture: str
    validation: str
    receivers: tuple[Receiver, ...]
    payment_page_hosts: tuple[str, ...]
    why_not_a: str
    why_not_c_vt: str
    reductions: tuple[str, ...]

    @property
    def receiving(self) -> tuple[Receiver, ...]:
        """The merchant's components that receive the PAN (ends of account-data flows)."""
        return tuple(r for r in self.receivers if r.source == "flow")

    @property
    def hosted(self) -> tuple[Receiver, ...]:
        """Those of them that are the merchant's code on template resources."""
        return tuple(r for r in self.receiving if r.hosts)

    @property
    def outside(self) -> tuple[Receiver, ...]:
        """The inventory's items in the CDE (the call centre, Connect, recordings)."""
        return tuple(r for r in self.receivers if r.source == "inventory")


def _receivers(a: Architecture, declaration: Declaration) -> tuple[Receiver, ...]:
    """The merchant's components at the receiving end of an account-data flow."""
    found: dict[str, Receiver] = {}
    for flow in a.binding.flows:
        if not declaration.carries_account_data(flow):
            continue
        component = declaration.components[flow.sink]
        if component.party != "us" or component.key in found:
            continue
        hosts = flow.sink_hosts or a.binding.hosts.get(component.key, ())
        found[component.key] = Receiver(component.name, tuple(hosts), "flow", component.key)
    return tuple(found.values())


def _reached_from_people(a: Architecture, declaration: Declaration) -> set[str]:
    """Our components the card reaches from the business's own people (the agent keying
    it), following account-data flows through our components."""
    people = {k for k, c in declaration.components.items() if c.kind == "actor" and c.party == "us"}
    reached: set[str] = set()
    frontier = set(people)
    while frontier:
        step = {
            f.sink
            for f in a.binding.flows
            if f.source in frontier
            and declaration.carries_account_data(f)
            and declaration.components[f.sink].party == "us"
            and declaration.components[f.sink].hosted
        }
        frontier = step - reached
        reached |= step
    return reached


def _payment_page_hosts(a: Architecture, declaration: Declaration) -> tuple[str, ...]:
    pages = {k for k, d in declaration.data.items() if d.payment_page}
    return tuple(
        sorted({h for f in a.binding.flows if pages & set(f.data) for h in f.source_hosts})
    )


def statement(a: Architecture, declaration: Declaration) -> Statement:
    """Derive the validation statement of ``a``."""
    receivers = _receivers(a, declaration)
    outside = tuple(
        Receiver(i.name, (), "inventory", i.id)
        for i in a.inventory
        if i.scope == CDE and i.zone in {"call-centre", "aws-account"}
    )
    pages = _payment_page_hosts(a, declaration)
    if not receivers:
        return Statement(
            a.name,
            "SAQ A may apply: no component of the merchant's receives the PAN in this model",
            outside,
            pages,
            "",
            "",
            (),
        )
    listed = "; ".join(r.shown() for r in receivers)
    why_not_a = (
        "SAQ A requires that the merchant store, process and transmit no card data "
        f"electronically; here {len(receivers)} of the merchant's own components receive "
        f"the PAN: {listed}."
    )
    keyed = _reached_from_people(a, declaration)
    console_path = [r for r in receivers if r.hosts and r.key in keyed]
    other = [r for r in receivers if r.hosts and r not in console_path]
    why_not_c_vt = (
        "SAQ C-VT requires each card to be keyed into a virtual terminal hosted by a PCI DSS "
        "validated provider; here the agent keys it into the merchant's own console"
        + (f", served by {', '.join(pages)}" if pages else "")
        + (
            ", which posts it to the merchant's own code ("
            + "; ".join(r.shown() for r in console_path)
            + ")"
            if console_path
            else ""
        )
        + (
            "; and cards keyed on the telephone reach "
            + "; ".join(r.shown() for r in other)
            + ", which no virtual terminal replaces"
            if other
            else ""
        )
        + "."
    )
    reductions = (
        "A DTMF-masking telephony service that captures the keyed digits and sends them "
        "straight to PayPal (not to cardline): no agent hears or keys the card and no "
        "function of ours receives it, so the agents' desktops, the call recordings and "
        "the charge and ivr functions leave the CDE. A connector that hands the card to "
        "cardline (as Twilio Pay's Generic Pay Connector does) keeps SAQ D.",
        "PayPal-hosted card fields (or PayPal's virtual terminal) in place of the console's "
        "own card inputs: the card is keyed into a page PayPal serves and never reaches "
        "cardline's API; SAQ C-VT may then apply to the agents' keying (one card at a time, "
        "on a device kept apart), and the console page around the fields stays in scope "
        "for its scripts (6.4.3, 11.6.1). The acquirer decides the SAQ.",
    )
    return Statement(
        a.name,
        f"{SAQ_D}, or a Report on Compliance by a QSA where the merchant's level asks for "
        "one (level 1: over 6 million Visa or Mastercard transactions a year) or its "
        "acquirer does",
        (*receivers, *outside),
        pages,
        why_not_a,
        why_not_c_vt,
        reductions,
    )
