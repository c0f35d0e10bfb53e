"""Runs one implementation of the charge route, standard library only.

    harness.py cold FILE EVENT KEY            one approved payment, then exit
    harness.py warm FILE EVENT PREFIX RUNS OUT   RUNS payments, timed, into OUT (JSON)

FILE defines ``handler(event, context)`` (an API Gateway REST event in, a Lambda proxy
answer out). In warm mode each payment is paired with a bare http.client exchange of the
same order with the same PayPal (the gateway wait), so the handler's own overhead is
the difference. The same order is the one the handler sent on its warm-up payment, body
and headers (a fresh request id and, when it has one, invoice id each time): what PayPal
spends on a larger order is PayPal's time. A handler whose client does not send through
http.client's ``request`` is paired with the plain order built from the event. Round
trips are read from the emulator's counters.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys

TYPE_CHECKING = False  # typing stays unimported: the harness must cost every peer nothing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Handler = Callable[[dict[str, Any], object], dict[str, Any]]
_FORM = "application/x-www-form-urlencoded"
_ORDERS = "/v2/checkout/orders"
_INVOICE = re.compile(rb'"invoice_id": ?"([^"]+)"')
# Headers that belong to one request (or one connection), not to the order's shape.
_PER_REQUEST = frozenset(
    {"authorization", "paypal-request-id", "content-length", "host", "accept-encoding"}
)


def _load(path: str) -> Handler:
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("peer", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["peer"] = module  # pydantic resolves the module's annotations through it
    spec.loader.exec_module(module)
    handler: Handler = module.handler
    return handler


def _event(template: dict[str, Any], key: str) -> dict[str, Any]:
    return {**template, "headers": {**template["headers"], "Idempotency-Key": key}}


def _check(answer: dict[str, Any]) -> None:
    if answer.get("statusCode") != 201 or '"approved"' not in str(answer.get("body")):
        raise SystemExit(f"not approved: {answer.get('statusCode')}")


class _Bare:
    """The same order as a bare keep-alive exchange: what waiting for PayPal costs."""

    def __init__(self, template: dict[str, Any]) -> None:
        import base64
        import http.client
        import urllib.parse

        url = urllib.parse.urlsplit(os.environ["PAYPAL_BASE_URL"])
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=20)
        basic = base64.b64encode(
            (os.environ["PAYPAL_CLIENT_ID"] + ":" + os.environ["PAYPAL_CLIENT_SECRET"]).encode()
        ).decode()
        self.connection.request(
            "POST",
            "/v1/oauth2/token",
            "grant_type=client_credentials",
            {
                "Authorization": "Basic " + basic,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        self.token = json.loads(self.connection.getresponse().read())["access_token"]
        body = json.loads(template["body"])
        card = body["card"]
        month, year = card["expiry"].split("/")
        self.order = json.dumps(
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {"amount": {"currency_code": body["currency"], "value": body["amount"]}}
                ],
                "payment_source": {
                    "card": {
                        "number": card["number"],
                        "expiry": "20" + year + "-" + month,
                        "security_code": card["security_code"],
                        "name": card["name"],
                    }
                },
            }
        ).encode()
        self.headers = {"Content-Type": "application/json", "Prefer": "return=representation"}
        self.invoice_id = b""

    def same_as(self, sent: tuple[bytes, dict[str, str]] | None) -> None:
        """Send the order the handler sent (its body and headers) instead of the default
        one: PayPal's time for the handler's own request is PayPal's, not the handler's."""
        if sent is None:
            return
        self.order, headers = sent
        self.headers = {k: v for k, v in headers.items() if k.lower() not in _PER_REQUEST}
        found = _INVOICE.search(self.order)
        self.invoice_id = found.group(1) if found else b""

    def exchange(self, request_id: str) -> None:
        order = self.order
        if self.invoice_id:  # PayPal refuses an invoice id twice: a fresh one, same length
            fresh = request_id.encode()[-len(self.invoice_id) :].rjust(len(self.invoice_id), b"0")
            order = order.replace(self.invoice_id, fresh)
        self.connection.request(
            "POST",
            "/v2/checkout/orders",
            order,
            {**self.headers, "Authorization": "Bearer " + self.token,
             "PayPal-Request-Id": request_id},
        )  # fmt: skip
        self.connection.getresponse().read()

    def requests_served(self) -> int:
        """The emulator's request counter (its inspection API is not counted)."""
        self.connection.request("GET", "/_emulator/stats")
        served: int = json.loads(self.connection.getresponse().read())["requests"]
        return served


def _recorded_order(handler: Handler, event: dict[str, Any]) -> tuple[bytes, dict[str, str]] | None:
    """Run ``handler`` once on ``event``, keeping the body and headers of the last order it
    sent through http.client (None when it sends none that way, as a urllib3 client)."""
    import http.client

    sent: list[tuple[bytes, dict[str, str]]] = []
    request = http.client.HTTPConnection.request

    def recording(
        self: http.client.HTTPConnection, method: str, url: str, body: Any = None,
        headers: Any = None, **more: Any,
    ) -> None:  # fmt: skip
        if method == "POST" and url.endswith(_ORDERS) and body is not None:
            sent.append(
                (body if isinstance(body, bytes) else str(body).encode(), dict(headers or {}))
            )
        request(self, method, url, body, headers or {}, **more)

    http.client.HTTPConnection.request = recording  # type: ignore[method-assign]
    try:
        _check(handler(event, None))
    finally:
        http.client.HTTPConnection.request = request  # type: ignore[method-assign]
    return sent[-1] if sent else None


def _peak_memory() -> None:
    """The process's peak RSS on stderr (VmHWM: unlike getrusage's ru_maxrss, it does
    not carry over the forking parent's memory)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write(f"peak_rss_kib={line.split()[1]}\n")


def main(argv: list[str]) -> int:
    mode, path, event_file = argv[:3]
    with open(event_file, encoding="utf-8") as source:
        template = json.load(source)
    handler = _load(path)
    if mode == "cold":
        _check(handler(_event(template, argv[3]), None))
        _peak_memory()
        return 0
    import time

    prefix, runs, out = argv[3], int(argv[4]), argv[5]
    sent = _recorded_order(handler, _event(template, f"{prefix}-warmup"))
    bare = _Bare(template)
    bare.same_as(sent)
    handler_s: list[float] = []
    bare_s: list[float] = []
    before = bare.requests_served()
    for n in range(runs):
        event = _event(template, f"{prefix}-{n}")
        for step in ("handler", "bare") if n % 2 == 0 else ("bare", "handler"):
            started = time.perf_counter()
            if step == "handler":
                _check(handler(event, None))
                handler_s.append(time.perf_counter() - started)
            else:
                bare.exchange(f"{prefix}-bare-{n}")
                bare_s.append(time.perf_counter() - started)
    served = bare.requests_served() - before
    with open(out, "w", encoding="utf-8") as sink:
        json.dump(
            {"handler_s": handler_s, "bare_s": bare_s, "round_trips": (served - runs) / runs},
            sink,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
