"""Helpers the refund and ledger attacks share: a PayPal client on the stack's emulator,
the audit file replayed into a fresh ledger, a sink that only remembers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cardline.cde import audit
from cardline.cde.paypal import PayPalClient, PayPalConfig
from cardline.ledger.projector import rebuild
from cardline.ledger.sqlite import SqliteLedger
from cardline.local import AUDIT_FILE
from cardline.sandbox import Emulator
from tests.conftest import Running


class MemorySink:
    """An audit sink that keeps the events in a list."""

    def __init__(self) -> None:
        self.events: list[audit.AuditEvent] = []

    def emit(self, event: audit.AuditEvent) -> None:
        self.events.append(event)


def emulator_of(running: Running) -> Emulator:
    assert running.stack.emulator is not None
    return running.stack.emulator


@contextmanager
def paypal_of(running: Running) -> Iterator[PayPalClient]:
    emulator = emulator_of(running)
    client = PayPalClient(
        PayPalConfig(emulator.base_url, emulator.client_id, emulator.client_secret)
    )
    try:
        yield client
    finally:
        client.close()


def operator_of(running: Running) -> str:
    return running.stack.operators.list()[0].id


def audit_events(running: Running) -> list[audit.AuditEvent]:
    return list(audit.read_events(running.stack.data_dir / AUDIT_FILE))


def rebuilt(running: Running, keep: Any = None) -> SqliteLedger:
    """A fresh ledger rebuilt from the audit file (only the events ``keep`` accepts)."""
    ledger = SqliteLedger(":memory:")
    rebuild(ledger, [e for e in audit_events(running) if keep is None or keep(e)])
    return ledger


def refund_path(payment_id: str) -> str:
    return f"/v1/payments/{payment_id}/refunds"
