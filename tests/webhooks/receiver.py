"""The webhook route wired as the hosts wire it, against the suite's fake PayPal: an App
with the route, a SQLite ledger fed by a projecting audit sink, one pending payment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardline.cde import audit
from cardline.cde.http.app import App, GatewayAuthenticator
from cardline.cde.http.failure_audit import EachFailure
from cardline.cde.http.messages import Request, Response
from cardline.cde.paypal import PayPalClient, PayPalConfig
from cardline.http.webhook_route import PATH, webhook_route
from cardline.ledger.sqlite import SqliteLedger
from cardline.local import ProjectingSink
from tests.unit.test_paypal_client import FakePayPal
from tests.webhooks import samples
from tests.webhooks.deliveries import WEBHOOK_ID, deliver

PAYMENT_ID = "pay_webhookpaymentaaaaaaa"


@dataclass
class Receiver:
    app: App
    ledger: SqliteLedger
    audit_file: Path
    fake: FakePayPal
    paypal: PayPalClient
    sink: ProjectingSink

    def post(self, headers: dict[str, str], body: bytes, source: str = "203.0.113.9") -> Response:
        request = Request("POST", PATH, headers=dict(headers), body=body, source_ip=source)
        return self.app.handle(request)

    def deliver(self, event: dict[str, Any] | bytes, number: int = 1) -> Response:
        return self.post(*deliver(event, number))

    def events(self, kind: str | None = None) -> list[audit.AuditEvent]:
        found = list(audit.read_events(self.audit_file))
        return [e for e in found if kind is None or e.type == kind]

    def payment(self) -> dict[str, Any]:
        found = self.ledger.get_payment(PAYMENT_ID)
        assert found is not None
        found["refunds"] = self.ledger.refunds_for(PAYMENT_ID)
        return found

    def record_payment(self, status: str = "pending") -> None:
        audit.record(
            self.sink,
            audit.PAYMENT,
            operator="agent-1",
            outcome="success",
            origin="127.0.0.1",
            resource=PAYMENT_ID,
            details={
                "status": status,
                "amount": "25.00",
                "currency": "USD",
                "brand": "visa",
                "last4": "1111",
                "paypal_order_id": samples.ORDER_ID,
                "paypal_capture_id": samples.CAPTURE_ID,
            },
        )


def receiver(tmp_path: Path, webhook_id: str | None = WEBHOOK_ID) -> Iterator[Receiver]:
    """A receiver with one pending payment (its capture and order are the samples')."""
    fake = FakePayPal().start()
    paypal = PayPalClient(
        PayPalConfig(
            base_url=fake.base_url,
            client_id=FakePayPal.CLIENT_ID,
            client_secret=FakePayPal.CLIENT_SECRET,
            max_attempts=2,
            timeout=0.5,
            deadline=2.0,
        ),
        sleep=lambda _seconds: None,
    )
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    audit_file = tmp_path / "audit.jsonl"
    sink = ProjectingSink(audit.FileSink(audit_file), ledger)
    apps: list[App] = []
    route = webhook_route(
        lambda: paypal, lambda: ledger, sink, lambda: webhook_id, lambda: apps[0].failures
    )
    apps.append(App([route], GatewayAuthenticator(), sink, failures=EachFailure(sink)))
    found = Receiver(apps[0], ledger, audit_file, fake, paypal, sink)
    found.record_payment()
    try:
        yield found
    finally:
        paypal.close()
        fake.stop()
        ledger.close()
