"""Scripted callers for the simulator: what each one keys at each prompt.

A scenario is also readable from a JSON file (``cardline call --script FILE``) with the
same field names; ``null`` in a keyed list is a prompt left to time out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

# PayPal's public sandbox test card, and the same number with its last digit slipped.
SANDBOX_VISA = "4012888888881881"
SANDBOX_VISA_MISTYPED = "4012888888881882"
SECURITY_CODE = "123"


def future_expiry() -> str:
    """December three years ahead, as the four digits a caller keys (MMYY)."""
    return f"12{(date.today().year + 3) % 100:02d}"


@dataclass(frozen=True)
class Scenario:
    """One simulated caller. Each keyed list is used in turn; its last entry repeats."""

    name: str
    description: str
    card_number: tuple[str | None, ...] = (SANDBOX_VISA,)
    expiry: tuple[str | None, ...] = field(default_factory=lambda: (future_expiry(),))
    security_code: tuple[str | None, ...] = (SECURITY_CODE,)
    amount: str = "12.50"
    currency: str = "USD"
    reference: str = "invoice-1001"
    cardholder_name: str = "Ada Lovelace"
    paypal_outage: bool = False
    # A call of Connect's recording API that fails (recording_control.FAULTS), agent-assisted.
    connect_fault: str | None = None
    agent_only: bool = False
    expect: str = "approved"

    def keyed(self, field_name: str) -> tuple[str | None, ...]:
        entries: tuple[str | None, ...] = getattr(self, field_name)
        return entries


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("good-card", "keys a good Visa card; approved"),
        Scenario(
            "mistyped-then-ok",
            "slips on the last digit of the card number, is asked again, keys it right",
            card_number=(SANDBOX_VISA_MISTYPED, SANDBOX_VISA),
        ),
        Scenario(
            "expired-card",
            "keeps keying an expired date until the IVR gives up and calls an agent",
            expiry=("0120",),
            expect="abandoned",
        ),
        Scenario(
            "cvv-timeout",
            "says nothing at the security code prompt, is asked again, keys it",
            security_code=(None, SECURITY_CODE),
        ),
        Scenario(
            "decline",
            "a card the issuer declines for insufficient funds (sandbox trigger CCREJECT-IF)",
            cardholder_name="CCREJECT-IF",
            expect="declined",
        ),
        Scenario(
            "paypal-outage",
            "PayPal answers 503 to every attempt: nothing is charged, the caller goes to an agent",
            paypal_outage=True,
            expect="failed",
        ),
        Scenario(
            "agent-recorded",
            "with --agent: Connect does not suspend the agent's recording, so no card is "
            "asked for; back to the agent, nothing charged",
            connect_fault="suspend-contact-recording",
            agent_only=True,
            expect="none",
        ),
    )
}


def load_script(path: Path) -> Scenario:
    """A scenario from a JSON file; unknown keys are refused."""
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("a scenario script is a JSON object")
    known = {f.name for f in fields(Scenario)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown scenario fields: {unknown}")
    data.setdefault("name", path.stem)
    data.setdefault("description", f"scripted in {path.name}")
    for keyed in ("card_number", "expiry", "security_code"):
        if keyed in data:
            data[keyed] = tuple(data[keyed])
    return Scenario(**data)
