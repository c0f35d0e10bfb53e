"""`make bench`: how the charge path compares with the floor, as ratios measured together.

Cold start = a new Python process importing the charge Lambda entry point and taking one
approved payment against the local emulator, until the process exits. The floor is a
standard-library-only handler making the same PayPal calls (token + order) in the same
way. Runs are interleaved so that machine noise falls on both alike; medians are reported.
Warm overhead = the time the handler spends per payment beyond the emulator's own
answer time, measured in-process.

Writes benchmarks/results.md and benchmarks/results.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from cardline.sandbox import Emulator

HERE = Path(__file__).resolve().parent
EVENT = HERE.parent / "events" / "charge-rest-v1.json"
COLD_RUNS = int(os.environ.get("CARDLINE_BENCH_COLD_RUNS", "15"))
WARM_RUNS = int(os.environ.get("CARDLINE_BENCH_WARM_RUNS", "300"))

CHARGE_PROGRAM = """
import json, sys
import cardline.http.lambda_charge as entry
event = json.load(open(sys.argv[1]))
event["headers"]["Idempotency-Key"] = sys.argv[2]
answer = entry.handler(event, None)
assert answer["statusCode"] == 201 and '"approved"' in answer["body"], answer
"""

FLOOR_PROGRAM = """
import base64, http.client, json, os, ssl, sys, urllib.parse  # ssl: a real handler needs TLS
event = json.load(open(sys.argv[1]))
body = json.loads(event["body"])
url = urllib.parse.urlsplit(os.environ["PAYPAL_BASE_URL"])
connection = http.client.HTTPConnection(url.hostname, url.port)
basic = base64.b64encode(
    (os.environ["PAYPAL_CLIENT_ID"] + ":" + os.environ["PAYPAL_CLIENT_SECRET"]).encode()
).decode()
connection.request("POST", "/v1/oauth2/token", "grant_type=client_credentials",
                   {"Authorization": "Basic " + basic,
                    "Content-Type": "application/x-www-form-urlencoded"})
token = json.loads(connection.getresponse().read())["access_token"]
month, year = body["card"]["expiry"].split("/")
order = {"intent": "CAPTURE", "purchase_units": [{"amount": {
    "currency_code": body["currency"], "value": body["amount"]}}],
    "payment_source": {"card": {"number": body["card"]["number"],
    "expiry": "20" + year + "-" + month, "security_code": body["card"]["security_code"],
    "name": body["card"]["name"]}}}
connection.request("POST", "/v2/checkout/orders", json.dumps(order),
                   {"Authorization": "Bearer " + token, "Content-Type": "application/json",
                    "PayPal-Request-Id": sys.argv[2], "Prefer": "return=representation"})
answer = json.loads(connection.getresponse().read())
status = answer["purchase_units"][0]["payments"]["captures"][0]["status"]
print(json.dumps({"statusCode": 201, "body": json.dumps({"status": status})}))
assert status == "COMPLETED"
"""

PROGRAMS = {"cardline charge": CHARGE_PROGRAM, "stdlib floor": FLOOR_PROGRAM}


def _cold_once(program: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", program, str(EVENT), str(uuid.uuid4())],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        timeout=60,
    )
    return time.perf_counter() - started


def cold_starts(emulator: Emulator) -> dict[str, list[float]]:
    env = {
        **os.environ,
        "PAYPAL_CLIENT_ID": emulator.client_id,
        "PAYPAL_CLIENT_SECRET": emulator.client_secret,
        "PAYPAL_BASE_URL": emulator.base_url,
        "CARDLINE_FINGERPRINT_KEY": "b" * 64,
        "PYTHONDONTWRITEBYTECODE": "",
    }
    for program in PROGRAMS.values():  # warm the OS caches and .pyc files once
        _cold_once(program, env)
    samples: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    for run in range(COLD_RUNS):
        order = list(PROGRAMS.items())
        if run % 2:
            order.reverse()
        for name, program in order:
            samples[name].append(_cold_once(program, env))
        print(f"  cold run {run + 1}/{COLD_RUNS}", file=sys.stderr, flush=True)
    return samples


def warm_overhead(emulator: Emulator) -> dict[str, float]:
    """Per-payment time in the handler minus the emulator's own handling time (µs)."""
    os.environ.update(
        {
            "PAYPAL_CLIENT_ID": emulator.client_id,
            "PAYPAL_CLIENT_SECRET": emulator.client_secret,
            "PAYPAL_BASE_URL": emulator.base_url,
            "CARDLINE_FINGERPRINT_KEY": "b" * 64,
        }
    )
    import io

    import cardline.http.lambda_charge as entry
    from cardline.audit import StreamSink

    entry._sink = StreamSink(io.StringIO())  # keep the benchmark's stdout readable
    event = json.loads(EVENT.read_text())
    entry.handler({**event, "headers": {**event["headers"], "Idempotency-Key": "warm-0"}}, None)
    requests_before = emulator.stats()["requests"]
    durations = []
    for n in range(WARM_RUNS):
        headers = {**event["headers"], "Idempotency-Key": f"warm-{n + 1}-{uuid.uuid4()}"}
        started = time.perf_counter()
        answer = entry.handler({**event, "headers": headers}, None)
        durations.append(time.perf_counter() - started)
        assert answer["statusCode"] == 201
    round_trips = (emulator.stats()["requests"] - requests_before) / WARM_RUNS
    return {
        "handler_us_median": statistics.median(durations) * 1e6,
        "handler_us_p99": sorted(durations)[int(len(durations) * 0.99) - 1] * 1e6,
        "paypal_round_trips_per_payment": round_trips,
    }


def main() -> int:
    print("cardline benchmarks", file=sys.stderr)
    with Emulator() as emulator:
        cold = cold_starts(emulator)
        warm = warm_overhead(emulator)
    medians = {name: statistics.median(values) * 1000 for name, values in cold.items()}
    ratio = medians["cardline charge"] / medians["stdlib floor"]
    results: dict[str, Any] = {
        "charge_cold_ms_median": round(medians["cardline charge"], 1),
        "floor_cold_ms_median": round(medians["stdlib floor"], 1),
        "charge_cold_ratio_vs_floor": round(ratio, 3),
        "cold_runs": COLD_RUNS,
        "warm_handler_us_median": round(warm["handler_us_median"], 1),
        "warm_handler_us_p99": round(warm["handler_us_p99"], 1),
        "warm_runs": WARM_RUNS,
        "paypal_round_trips_per_payment": warm["paypal_round_trips_per_payment"],
        "python": sys.version.split()[0],
    }
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = "\n".join(f"| {key} | {value} |" for key, value in results.items())
    (HERE / "results.md").write_text(
        "# cardline benchmarks\n\n"
        "Produced by `make bench` (benchmarks/run.py). Cold start: a new process importing "
        "the charge Lambda and taking one approved payment against the local emulator, "
        "median of interleaved runs, against a standard-library-only handler making the "
        "same PayPal calls. Warm: one handler invocation per payment, in-process, "
        "emulator round trips included. Absolute times depend on the machine; compare "
        "the ratio.\n\n| measure | value |\n| --- | --- |\n" + table + "\n"
    )
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
