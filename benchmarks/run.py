"""`make bench`: cardline's charge function against the floor and its peers, and the rest.

Implementations of the one charge route (benchmarks/peers/), each run by harness.py:
  floor                 standard library only, the same one PayPal call
  cardline              cardline.cde.http.lambda_charge.handler, as deployed
  fastapi_mangum        FastAPI + pydantic models behind Mangum
  powertools_pydantic   Powertools' APIGatewayRestResolver + a pydantic model
  paypal_sdk            a stdlib handler charging through paypal-server-sdk
The peers run from their own virtualenv (CARDLINE_BENCH_PEERS_PYTHON, made by `make bench`
as .venv-bench); floor and cardline from the project's.

Cold start = a new process: start -> first approved payment against the local emulator
-> exit; median of interleaved runs (machine noise falls on all alike), peak RSS as the
child reports it (VmHWM). Warm overhead = per payment, the handler's time minus a bare
http.client exchange of the same order with the same emulator, paired and interleaved.
Round trips per payment are counted at the emulator. Also: the charge zip's size,
backoffice list/get latency over 10,000 ledger rows, a short concurrent load through
the local server, and the throughput of one `cardline serve` process with PayPal
answering in 250 ms under 16 concurrent agents (against the 16 / 0.25 s they allow).

The charge function's cold start targets are measured as Lambda runs it
(benchmarks/lambda_cold.py): every zip under awslambdaric with python3.13, read-only, as an
unprivileged user, against the floor (a standard-library handler making the same PayPal
call, benchmarks/peers/floor.py) and FastAPI + Mangum run the same way, with a handler
answering a constant for the runtime's own cost; each zip answers a sample event first.

    python -m benchmarks.run [--publish]

Writes results.md and results.json into build/bench/ (benchmarks/ with --publish, `make
bench PUBLISH=1`) and exits 1 when a target is missed, naming it. Absolute times depend on
the machine; the ratios are the point.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cardline.sandbox import Emulator

if TYPE_CHECKING:
    from cardline.refund import Refunder

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
EVENT = HERE.parent / "events" / "charge-rest-v1.json"
COLD_RUNS = int(os.environ.get("CARDLINE_BENCH_COLD_RUNS", "15"))
WARM_RUNS = int(os.environ.get("CARDLINE_BENCH_WARM_RUNS", "300"))
LEDGER_ROWS = 10_000
MIB = 1 << 20

OWN = ("floor", "cardline")
PEER_NAMES = ("fastapi_mangum", "powertools_pydantic", "paypal_sdk")
FILES = {
    "floor": "floor.py",
    "cardline": "cardline_charge.py",
    "cardline_zip_no_pyc": "cardline_charge.py",
    "fastapi_mangum": "fastapi_mangum.py",
    "powertools_pydantic": "powertools_pydantic.py",
    "paypal_sdk": "paypal_sdk.py",
}
OUT = HERE.parent / "build" / "bench"
LAMBDA_ROUNDS = int(os.environ.get("CARDLINE_BENCH_LAMBDA_ROUNDS", "15"))
TARGETS = {
    "charge_cold_ratio_vs_floor": ("<=", 1.5),
    "charge_cold_ratio_vs_fastapi_mangum": ("<=", 0.3),
    "warm_overhead_us_median": ("<=", 100.0),
    "paypal_round_trips_per_payment": ("==", 1.0),
    "charge_package_bytes": ("<=", float(MIB)),
    "serve_fraction_of_concurrency_ceiling": (">=", 0.8),
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The charge zip as Lambda runs it: from the zip's files alone, which hold no bytecode, so
# every cold start compiles them (cold start only; warm, it is the same code as cardline).
ZIP_NO_PYC = "cardline_zip_no_pyc"


def _pythons() -> dict[str, str]:
    """The interpreter for each implementation; peers only if their virtualenv exists."""
    chosen = dict.fromkeys((*OWN, ZIP_NO_PYC), sys.executable)
    peers = os.environ.get("CARDLINE_BENCH_PEERS_PYTHON", "")
    if peers and Path(peers).is_file():
        chosen.update(dict.fromkeys(PEER_NAMES, peers))
    return chosen


def _env(emulator: Emulator) -> dict[str, str]:
    # Bytecode is written and reused by every implementation alike (pip compiled the
    # peers' at install): without this, cardline alone would compile at each start.
    skip = ("PAYPAL_", "CARDLINE_", "PYTHONDONTWRITEBYTECODE")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(skip)},
        "PAYPAL_CLIENT_ID": emulator.client_id,
        "PAYPAL_CLIENT_SECRET": emulator.client_secret,
        "PAYPAL_BASE_URL": emulator.base_url,
        "CARDLINE_FINGERPRINT_KEY": "b" * 64,
    }


def _cold_once(python: str, name: str, env: dict[str, str]) -> tuple[float, int]:
    """(seconds from spawn to exit, peak RSS in KiB as the child saw it) of one payment."""
    if name == ZIP_NO_PYC:
        env = {**env, "PYTHONPATH": str(_unzipped_charge()), "PYTHONDONTWRITEBYTECODE": "1"}
    harness = str(PEERS / "harness.py")
    command = [python, harness, "cold", str(PEERS / FILES[name]), str(EVENT), str(uuid.uuid4())]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    stderr = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {stderr[-500:]}")
    peak = [line for line in stderr.splitlines() if line.startswith("peak_rss_kib=")]
    return elapsed, int(peak[-1].partition("=")[2]) if peak else 0


_UNZIPPED: list[Path] = []


def _unzipped_charge() -> Path:
    """The charge zip's files in a folder of their own (made once per run)."""
    if not _UNZIPPED:
        from cardline.deploy.package import build_zip, charge_files

        folder = Path(tempfile.mkdtemp(prefix="cardline-charge-zip-"))
        build_zip(charge_files(), folder / "charge.zip")
        with zipfile.ZipFile(folder / "charge.zip") as archive:
            archive.extractall(folder / "code")
        _UNZIPPED.append(folder / "code")
    return _UNZIPPED[0]


def cold_starts(
    emulator: Emulator, pythons: dict[str, str]
) -> tuple[dict[str, list[float]], dict[str, list[int]], dict[str, str]]:
    env = _env(emulator)
    failed: dict[str, str] = {}
    names = []
    for name, python in pythons.items():  # warms OS caches and .pyc files; drops the broken
        try:
            _cold_once(python, name, env)
            names.append(name)
        except RuntimeError as error:
            failed[name] = str(error)
            _log(f"  {name}: {error}")
    times: dict[str, list[float]] = {name: [] for name in names}
    rss: dict[str, list[int]] = {name: [] for name in names}
    for run in range(COLD_RUNS):
        order = names[run % len(names) :] + names[: run % len(names)]
        for name in order:
            elapsed, peak = _cold_once(pythons[name], name, env)
            times[name].append(elapsed)
            rss[name].append(peak)
        _log(f"  cold run {run + 1}/{COLD_RUNS}")
    return times, rss, failed


def warm(emulator: Emulator, python: str, name: str) -> dict[str, float]:
    """Median and p99 of (handler - bare exchange) in µs, and round trips per payment."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "warm.json"
        subprocess.run(
            [
                *(python, str(PEERS / "harness.py"), "warm", str(PEERS / FILES[name])),
                *(str(EVENT), f"warm-{name}-{uuid.uuid4()}", str(WARM_RUNS), str(out)),
            ],
            env=_env(emulator),
            stdout=subprocess.DEVNULL,
            check=True,
            timeout=300,
        )
        data = json.loads(out.read_text())
    overhead = sorted((h - b) * 1e6 for h, b in zip(data["handler_s"], data["bare_s"], strict=True))
    handler = sorted(h * 1e6 for h in data["handler_s"])
    return {
        "overhead_us_median": round(statistics.median(overhead), 1),
        "overhead_us_p99": round(overhead[int(len(overhead) * 0.99) - 1], 1),
        "handler_us_median": round(statistics.median(handler), 1),
        "bare_exchange_us_median": round(statistics.median(x * 1e6 for x in data["bare_s"]), 1),
        "round_trips_per_payment": round(data["round_trips"], 3),
    }


def charge_package() -> tuple[int, str]:
    """Bytes of the charge function's zip: `make package`'s builder when present."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "charge.zip"
        try:
            from cardline.deploy.package import build_zip, charge_files
        except ImportError:
            import cardline

            source = Path(cardline.__file__ or "").parent
            files = [
                (path, "cardline/" + path.relative_to(source).as_posix())
                for path in sorted(source.rglob("*.py"))
                if path.parent.name in ("cardline", "http")
                and "backoffice" not in path.name
                and "console" not in path.name
            ]
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
                for path, name in files:
                    archive.write(path, name)
            return target.stat().st_size, "benchmarks/run.py's own zip of the charge modules"
        return build_zip(charge_files(), target), "cardline.deploy.package (make package)"


def _no_refunds() -> Refunder:
    raise AssertionError("the benchmark makes no refunds")


def backoffice_latency() -> dict[str, float]:
    """GET /v1/payments (a page of 50) and GET /v1/payments/{id} over 10,000 ledger rows."""
    from cardline.cde import audit, roles
    from cardline.cde.http.app import App, Caller
    from cardline.cde.http.messages import Request
    from cardline.http.backoffice_routes import backoffice_routes
    from cardline.ledger.sqlite import SqliteLedger

    class _Operator:
        def authenticate(self, request: Request) -> Caller:
            return Caller("op_bench", roles.SUPERVISOR)  # reads every payment

    class _Discard:
        def emit(self, event: audit.AuditEvent) -> None:
            pass

    with tempfile.TemporaryDirectory() as folder:
        ledger = SqliteLedger(Path(folder) / "ledger.sqlite3")
        ledger._db.execute("PRAGMA synchronous=OFF")  # filling only; reads are what is timed
        for n in range(LEDGER_ROWS):
            ledger.apply(
                audit.AuditEvent(
                    type=audit.PAYMENT,
                    operator="op_bench",
                    outcome="success",
                    origin="bench",
                    resource=f"pay_{n:024d}",
                    details={"status": "approved", "amount": "10.00", "currency": "USD",
                             "brand": "VISA", "last4": "1881", "paypal_capture_id": f"C{n}"},
                )
            )  # fmt: skip
        app = App(
            backoffice_routes(lambda: ledger, _no_refunds, "emulator"), _Operator(), _Discard()
        )
        timings: dict[str, list[float]] = {"list": [], "get": []}
        for n in range(500):
            for kind, request in (
                ("list", Request("GET", "/v1/payments", query={"limit": "50"})),
                ("get", Request("GET", f"/v1/payments/pay_{(n * 7919) % LEDGER_ROWS:024d}")),
            ):
                started = time.perf_counter()
                answer = app.handle(request)
                timings[kind].append(time.perf_counter() - started)
                assert answer.status == 200
        ledger.close()
    result: dict[str, float] = {"rows": LEDGER_ROWS}
    for kind, values in timings.items():
        ordered = sorted(values)
        result[f"{kind}_ms_median"] = round(statistics.median(ordered) * 1000, 3)
        result[f"{kind}_ms_p99"] = round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3)
    return result


def load() -> dict[str, Any]:
    """8 concurrent agents x 25 payments through the local server and its emulator."""
    from benchmarks.load import run_load
    from cardline.local import build_local, serve_in_background

    with tempfile.TemporaryDirectory() as folder:
        stack = build_local(Path(folder), environ={})
        _operator, key = stack.operators.add("agent-bench")
        server = serve_in_background(stack.app)
        try:
            result = run_load(server.url, key)
        finally:
            server.stop()
            stack.close()
    return result.summary()


SERVE_AGENTS = 16
SERVE_PAYPAL_DELAY_S = 0.25
SERVE_PAYMENTS_EACH = int(os.environ.get("CARDLINE_BENCH_SERVE_PAYMENTS", "20"))
# What 16 agents allow when each payment waits 250 ms for PayPal: 16 / 0.25 s.
SERVE_CEILING_PER_S = SERVE_AGENTS / SERVE_PAYPAL_DELAY_S


def serve_throughput() -> dict[str, Any]:
    """Payments/s of one `cardline serve` process (waitress, the embedded emulator told to
    answer every order in 250 ms) under 16 concurrent agents, against 16 / 0.25 s."""
    import http.client
    from urllib.parse import urlsplit

    from benchmarks.load import run_load

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYPAL_", "CARDLINE_"))}
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "cardline.cli", "serve", "--port", "0"]
        process = subprocess.Popen(
            [*command, "--data-dir", folder],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            assert process.stdout is not None
            lines: list[str] = []
            while not any("try: curl" in line for line in lines):
                line = process.stdout.readline().decode()
                if not line:
                    raise RuntimeError("cardline serve stopped before it was ready")
                lines.append(line)
            url = next(line.split()[-1] for line in lines if "listening on" in line)
            key = next(line.strip() for line in lines if line.strip().startswith("cl_"))
            emulator = urlsplit(next(t.split()[3] for t in lines if "PayPal: emulator at" in t))
            delay = {
                "kind": "delay",
                "delay": SERVE_PAYPAL_DELAY_S,
                "path_prefix": "/v2/checkout/orders",
                "method": "POST",
                "times": SERVE_AGENTS * SERVE_PAYMENTS_EACH * 4,
            }
            control = http.client.HTTPConnection(emulator.hostname or "", emulator.port, timeout=10)
            control.request("POST", "/_emulator/faults", json.dumps(delay))
            assert control.getresponse().status == 201
            control.close()
            result = run_load(
                url, key, clients=SERVE_AGENTS, payments_per_client=SERVE_PAYMENTS_EACH
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    summary = result.summary()
    summary["paypal_delay_s"] = SERVE_PAYPAL_DELAY_S
    summary["ceiling_per_s"] = SERVE_CEILING_PER_S
    summary["fraction_of_ceiling"] = round(result.throughput_per_s / SERVE_CEILING_PER_S, 3)
    return summary


def _assess(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assessed: dict[str, dict[str, Any]] = {}
    for key, (op, target) in TARGETS.items():
        value = results.get(key)
        if value is None:
            assessed[key] = {"target": f"{op} {target:g}", "value": None, "met": None}
            continue
        met = {"<=": value <= target, ">=": value >= target, "==": value == target}[op]
        entry: dict[str, Any] = {"target": f"{op} {target:g}", "value": value, "met": met}
        if not met and op in ("<=", ">="):
            entry["missed_by"] = f"{value / target:.2f}x the target ({value - target:+g})"
        assessed[key] = entry
    return assessed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument(
        "--publish", action="store_true", help="write benchmarks/results.{json,md}, not build/"
    )
    args = parser.parse_args(argv)
    _log("cardline benchmarks")
    from benchmarks import lambda_cold

    _log(f"  Lambda zips under awslambdaric, {LAMBDA_ROUNDS} rounds")
    lambda_results = lambda_cold.measure(OUT / "lambda", LAMBDA_ROUNDS, _log)
    pythons = _pythons()
    with Emulator() as emulator:
        times, rss, failed = cold_starts(emulator, pythons)
        for folder in _UNZIPPED:
            shutil.rmtree(folder.parent, ignore_errors=True)
        warm_results = {}
        for name in (n for n in times if n != ZIP_NO_PYC):
            _log(f"  warm {name}")
            warm_results[name] = warm(emulator, pythons[name], name)
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    package_bytes, package_source = charge_package()
    _log("  backoffice over 10,000 rows")
    backoffice = backoffice_latency()
    _log("  load")
    loaded = load()
    _log(f"  cardline serve: {SERVE_AGENTS} agents, PayPal answering in {SERVE_PAYPAL_DELAY_S} s")
    served = serve_throughput()

    def ratio(peer: str) -> float | None:
        return round(medians["cardline"] / medians[peer], 3) if peer in medians else None

    ours = warm_results["cardline"]
    results: dict[str, Any] = {
        "charge_cold_ratio_vs_floor": lambda_results["charge_lambda_cold_ratio_vs_floor"],
        "charge_cold_ratio_vs_fastapi_mangum": lambda_results[
            "charge_lambda_cold_ratio_vs_fastapi_mangum"
        ],
        "lambda": lambda_results,
        "process_cold_ratio_vs_floor": ratio("floor"),
        "process_cold_ratio_vs_fastapi_mangum": ratio("fastapi_mangum"),
        "process_cold_ratio_vs_powertools_pydantic": ratio("powertools_pydantic"),
        "process_cold_ratio_vs_paypal_sdk": ratio("paypal_sdk"),
        "charge_zip_no_pyc_cold_ratio_vs_floor": (
            round(medians[ZIP_NO_PYC] / medians["floor"], 3) if ZIP_NO_PYC in medians else None
        ),
        "warm_overhead_us_median": ours["overhead_us_median"],
        "warm_overhead_us_p99": ours["overhead_us_p99"],
        "paypal_round_trips_per_payment": ours["round_trips_per_payment"],
        "charge_package_bytes": package_bytes,
        "charge_package_source": package_source,
        "cold_ms_median": {name: round(value, 1) for name, value in medians.items()},
        "peak_rss_kib_median": {
            name: int(statistics.median(values)) for name, values in rss.items()
        },
        "warm": warm_results,
        "backoffice": backoffice,
        "load": loaded,
        "serve": served,
        "serve_fraction_of_concurrency_ceiling": served["fraction_of_ceiling"],
        "cold_runs": COLD_RUNS,
        "warm_runs": WARM_RUNS,
        "not_measured": failed
        or ({} if len(pythons) > 2 else {"peers": "CARDLINE_BENCH_PEERS_PYTHON not set"}),
        "python": sys.version.split()[0],
    }
    results["targets"] = _assess(results)
    out = HERE if args.publish else OUT
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(_without_machine_paths(results), indent=2) + "\n")
    (out / "results.md").write_text(_markdown(results))
    print(json.dumps(results, indent=2))
    missed = [key for key, entry in results["targets"].items() if entry["met"] is not True]
    for key in missed:
        entry = results["targets"][key]
        print(f"target missed: {key} = {entry['value']} (target {entry['target']}"
              f"{'; ' + entry['missed_by'] if 'missed_by' in entry else ''})")  # fmt: skip
    print(f"results in {out.relative_to(HERE.parent)}/results.md and results.json")
    return 1 if missed else 0


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        "# cardline benchmarks",
        "",
        "Produced by `make bench` (benchmarks/run.py; the peers in benchmarks/peers/, run from "
        "their own virtualenv .venv-bench). Absolute times depend on the machine: compare "
        "the ratios, measured together.",
        "",
        "## Targets",
        "",
        "| measure | target | value | met |",
        "| --- | --- | --- | --- |",
    ]
    for key, entry in results["targets"].items():
        met = {True: "yes", False: f"no: {entry.get('missed_by', 'missed')}", None: "n/a"}
        lines.append(f"| {key} | {entry['target']} | {entry['value']} | {met[entry['met']]} |")
    lines += ["", *_lambda_markdown(results["lambda"])]
    lines += [
        "",
        "## Charge route, by implementation, in a plain process",
        "",
        "Cold (not the targets' measure: that is the Lambda one above): process start to "
        "first approved payment to exit, median of "
        f"{results['cold_runs']} interleaved runs. Warm: median/p99 over "
        f"{results['warm_runs']} payments of the handler's time minus a bare http.client "
        "exchange of the same order with the same emulator (the gateway wait).",
        "",
        "| implementation | cold ms | vs cardline | peak RSS MiB | warm overhead µs median "
        "| p99 | round trips / payment |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    cold = results["cold_ms_median"]
    for name, ms in cold.items():
        warm_row = results["warm"].get(name, {})
        warm_cells = [
            str(warm_row.get(key, "n/a"))
            for key in ("overhead_us_median", "overhead_us_p99", "round_trips_per_payment")
        ]
        lines.append(
            f"| {name} | {ms} | {ms / cold['cardline']:.2f}x | "
            f"{results['peak_rss_kib_median'][name] / 1024:.1f} | " + " | ".join(warm_cells) + " |"
        )
    backoffice = results["backoffice"]
    loaded = results["load"]
    served = results["serve"]
    lines += [
        "",
        f"Charge package: {results['charge_package_bytes']} bytes zipped "
        f"({results['charge_package_source']}).",
        "",
        f"Backoffice over {backoffice['rows']} ledger rows (in-process App, SQLite): list a "
        f"page of 50 {backoffice['list_ms_median']} ms median ({backoffice['list_ms_p99']} "
        f"p99); get one {backoffice['get_ms_median']} ms median ({backoffice['get_ms_p99']} "
        "p99).",
        "",
        f"Load through `cardline serve`'s stack over loopback: {loaded['clients']} agents, "
        f"{loaded['payments']} payments, {loaded['errors']} errors, "
        f"{loaded['throughput_per_s']} payments/s, latency p50 {loaded['latency_ms_p50']} ms, "
        f"p99 {loaded['latency_ms_p99']} ms.",
        "",
        f"One `cardline serve` process (waitress) with the emulator answering every order in "
        f"{served['paypal_delay_s'] * 1000:.0f} ms, {served['clients']} concurrent agents: "
        f"{served['payments']} payments, {served['errors']} errors, "
        f"{served['throughput_per_s']} payments/s = {served['fraction_of_ceiling']} of the "
        f"{served['ceiling_per_s']:g}/s their concurrency allows (target >= 0.8); latency "
        f"p50 {served['latency_ms_p50']} ms, p99 {served['latency_ms_p99']} ms.",
        "",
    ]
    if results["not_measured"]:
        lines += ["Not measured: " + json.dumps(results["not_measured"]), ""]
    lines += ["## Where a target is missed, why", "", NOTES, ""]
    return "\n".join(lines)


def _without_machine_paths(value: Any) -> Any:
    """``value`` with paths inside the checkout made relative to it and any other absolute
    path cut to its file name: published results name no machine's folders."""
    if isinstance(value, dict):
        return {key: _without_machine_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_machine_paths(item) for item in value]
    if isinstance(value, str) and value.startswith("/"):
        path = Path(value)
        root = HERE.parent
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    return value


def _lambda_markdown(lam: dict[str, Any]) -> list[str]:
    probe = lam["probe"]
    lines = [
        "## Lambda zips as Lambda runs them",
        "",
        f"Each zip of `make package` (wheels for {lam['platform']}) unpacked read-only and run "
        f"under awslambdaric {lam['awslambdaric']} with python3.{probe['version'][1]} "
        f"(`-I -S`), as uid {probe['uid']} (a write into the code folder: "
        f"{probe['write_into_code']}), HOME and TMPDIR {probe['home']}, against a local "
        "Runtime API stand-in; handler strings and variables from "
        "infra/serverless/template.yaml. sys.path in the function: "
        + ", ".join(f"`{Path(entry).name}`" for entry in probe["sys_path"])
        + " (the code folder, awslambdaric's folder, the standard library).",
        "",
        "| zip | answered | first cold start ms |",
        "| --- | --- | --- |",
    ]
    for name, entry in lam["answers"].items():
        lines.append(f"| {name} | {entry['answer']} | {entry['cold_ms']} |")
    cold = lam["cold_ms_median"]
    lines += [
        "",
        f"Cold start, process start to the first answer, median of {lam['rounds']} "
        "interleaved rounds:",
        "",
        "| zip | cold ms | charge is |",
        "| --- | --- | --- |",
    ]
    shown = {"floor": "constant handler", "paypal_floor": "floor"}
    for name, ms in cold.items():
        lines.append(f"| {shown.get(name, name)} | {ms} | {cold['charge'] / ms:.2f}x |")
    lines += [
        "",
        "floor (the targets' floor): benchmarks/peers/floor.py, the standard library making "
        "the same PayPal call (token + order) as charge does; constant handler: one module "
        "answering a constant, the runtime's own cost.",
    ]
    return lines


NOTES = """\
- **Cold start vs the floor, under awslambdaric** (the Lambda table above). The floor is
  what DESIGN.md calls the standard-library floor: a handler making the same PayPal call
  with ssl, http.client and json (benchmarks/peers/floor.py), the least a charge function
  can import without protocol code of its own. What charge adds over it: its own modules
  (~15 ms: card and money validation, the detector, the audit line), one more exchange
  (its secret through the Parameters and Secrets extension, where the floor reads
  environment variables) and the audit event. The constant handler (a one-module zip)
  shows the runtime's own cost: ssl and http.client with the email package are most of
  the distance from it to the floor. Weighed under awslambdaric with
  benchmarks/lambda_ab.py: locks from _thread and LazyLogger saved nothing (the runtime
  imports threading and logging before any handler) and are gone; importing typing costs
  ~6 % of charge's cold start (`TYPE_CHECKING = False` stays), dataclasses ~11 ms more
  (value classes stay written without them).
- **Bytecode.** `cardline_zip_no_pyc` runs the charge zip's files as Lambda would if the
  zip holds no `.pyc`: every cold start then compiles cardline's modules. Shipping
  bytecode in the zip (compiled for the Lambda runtime's Python) removes that cost.
- **Warm overhead** (before http.client parsed the answers again, see below: four `make
  bench` runs on 2026-11-28 gave 93.6, 97.9, 103.3 and 104.9 µs; 166 µs before the change
  below; the table above says whether this run met it, and on how busy a machine: compare
  the floor's own figures). Per payment
  cardline validates the card (Luhn, brand ranges, expiry, security-code length, a name
  free of card numbers), computes a keyed fingerprint (three HMAC-SHA256), encodes the
  order, interprets PayPal's answer, writes an audit event (JSON + a PAN-masking pass)
  and answers with the receipt. Profiled in situ (the harness's loop under cProfile, and
  the handler's time split around the PayPal exchange), the 166 µs were ~130 µs of that
  code (~85 µs with PayPal faked in-process: right after the network wait on this
  shared 2-core machine the same code runs ~1.5x as slowly) plus ~25 µs more spent in
  the exchange than the bare http.client exchange spends (more headers, a larger order,
  the idle-connection check). Since then the PayPal client's hand-written answer reader
  is gone again: it let errors escape after an order was sent (payment-truth finding 7),
  and the design keeps protocol code out of cardline, so http.client parses every answer
  (its email-package header parser included) and the client adds a deadline, a byte
  budget and a connection pool around it. That costs back the ~20-45 µs the reader saved
  (paired runs of both on the same loaded machine: 323-370 µs before, 430-845 µs after,
  the floor 46-76 µs), so this target is now missed by about that much: the price of
  parsing PayPal's answers with the standard library's hardened parser. Also: the receipt is
  encoded once for the audit line and the answer, the audit line is built directly
  (same bytes as before for every other event) and masked once, the event translation
  lower-cases header names in one pass, fixed PayPal headers are prebuilt and not copied,
  the brand table is indexed by first digit, and the security headers are merged in one
  step. With PayPal faked in-process the CPU per payment is now ~75 µs. The median is
  at the target rather than well under it: four more runs of the same warm measurement
  right after this one gave 97.8 to 100.4 µs, so a run on a busier machine can land just
  above 100. The Powertools + pydantic peer checks types only (no Luhn, no brand, no
  audit event, no fingerprint). Against a real PayPal the wait is hundreds of
  milliseconds, so this is well under 0.1 % of a payment.
- **One `cardline serve` under 16 agents** (met: 0.89-0.94 of 16 / 0.25 s; 3.9
  payments/s, 0.06, before). The client held one connection under one lock, so every
  payment of the process waited for the one before it; it now keeps a pool of
  connections (one per concurrent caller, 16 idle at most) and holds no lock across an
  exchange. `cardline serve` runs 16 waitress threads (8 before: at most 32 payments/s
  when each waits 250 ms for PayPal).
- **What was fixed on the way** (found by this benchmark): the client read every answer
  into a 1 MiB buffer (`read(limit + 1)` allocates the limit), the receipt was deep-copied
  twice per payment (`dataclasses.asdict`), and the client sent headers and body without
  TCP_NODELAY (the body could wait for a delayed ACK)."""


if __name__ == "__main__":
    sys.exit(main())
