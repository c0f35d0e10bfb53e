"""Runs one implementation of the charge route, standard library only.

    harness.py cold FILE EVENT KEY            one approved payment, then exit
    harness.py warm FILE EVENT PREFIX RUNS OUT   RUNS payments, timed, into OUT (JSON)

FILE defines ``handler(event, context)`` (an API Gateway REST event in, a Lambda proxy
answer out). In warm mode each payment is paired with a bare http.client exchange of the
same order with the same PayPal (the gateway wait), so the handler's own overhead is
the difference. Round trips are read from the emulator's counters.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys

TYPE_CHECKING = False  # typing stays unimported: the harness must cost every peer nothing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Handler = Callable[[dict[str, Any], object], dict[str, Any]]
_FORM = "application/x-www-form-urlencoded"


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

    def exchange(self, request_id: str) -> None:
        self.connection.request(
            "POST",
            "/v2/checkout/orders",
            self.order,
            {
                "Authorization": "Bearer " + self.token,
                "Content-Type": "application/json",
                "PayPal-Request-Id": request_id,
                "Prefer": "return=representation",
            },
        )
        self.connection.getresponse().read()

    def requests_served(self) -> int:
        """The emulator's request counter (its inspection API is not counted)."""
        self.connection.request("GET", "/_emulator/stats")
        served: int = json.loads(self.connection.getresponse().read())["requests"]
        return served


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
    _check(handler(_event(template, f"{prefix}-warmup"), None))
    bare = _Bare(template)
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
