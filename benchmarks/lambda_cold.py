"""Every Lambda zip run as Lambda runs it (benchmarks/lambda_rig.py), and the charge
function's cold start against a floor zip and FastAPI + Mangum run the same way.

The zips are `make package`'s (its wheels for this machine's platform instead of the
template's arm64, so that they load here), each function's handler string and
environment variable names are read from infra/serverless/template.yaml, and each answers
a sample event on the tests' stand-ins: the PayPal emulator, the fake Parameters and
Secrets extension and moto's server. Charge takes events/charge-rest-v1.json; the
projector the charge's own audit line as a CloudWatch Logs subscription delivers it; the
backoffice lists that payment with events/list-payments-rest-v1.json; the ivr function
charges a contact-flow event whose card fields are encrypted as Connect encrypts them.

Cold start = process start to the first answer at the Runtime API stand-in, for floor,
charge and FastAPI + Mangum in turn (the order rotating each round, so the machine's noise
falls on all alike); the median of the rounds.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.lambda_rig import (
    FLOOR_HANDLER,
    PROBE_HANDLER,
    ROOT,
    RigError,
    Run,
    Runtime,
    RuntimeApi,
    cold_start,
    make_runtime,
    module_zip,
    unpack,
)

EVENTS = ROOT / "events"
TEMPLATE = ROOT / "infra" / "serverless" / "template.yaml"
PEER_REQUIREMENTS = ROOT / "benchmarks" / "peers" / "requirements.txt"
RESOURCES = {
    "charge": "ChargeFunction",
    "backoffice": "BackofficeFunction",
    "projector": "ProjectorFunction",
    "ivr": "IvrFunction",
}
FASTAPI_HANDLER = "fastapi_mangum.handler"
PAYPAL_FLOOR_HANDLER = "floor.handler"  # benchmarks/peers/floor.py: stdlib, one PayPal call
TIMED = ("floor", "charge", "fastapi_mangum", "paypal_floor")
# The template's variables the rig gives a stand-in value (StandIns.variables).
STAND_IN_VARIABLES = frozenset(
    {
        "CARDLINE_PAYPAL_SECRET_ID",
        "PAYPAL_ENV",
        "CARDLINE_LEDGER_TABLE",
        "CARDLINE_COGNITO_CLIENT_ID",
        "CARDLINE_IVR_KEYS_SECRET_ID",
        "CARDLINE_OPERATOR_POOL_ID",
        "CARDLINE_IVR_SESSIONS_TABLE",
    }
)


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


@dataclass(frozen=True)
class Function:
    """One function as the template declares it."""

    name: str
    handler: str
    zip_name: str
    variables: tuple[str, ...]
    # The variables the template sets to a literal (Powertools' settings): taken as they are.
    literals: tuple[tuple[str, str], ...] = ()


def template_functions() -> dict[str, Function]:
    """Handler, zip and environment variable names of each function, from the template."""
    from cardline.compliance import cfn_yaml

    resources = cfn_yaml.load_template(TEMPLATE)["Resources"]
    functions = {}
    for name, resource in RESOURCES.items():
        properties = resources[resource]["Properties"]
        variables = properties.get("Environment", {}).get("Variables", {})
        functions[name] = Function(
            name,
            properties["Handler"],
            Path(properties["CodeUri"]).name,
            tuple(variables),
            tuple((k, v) for k, v in variables.items() if isinstance(v, str)),
        )
    return functions


def lambda_platform() -> str:
    """The wheels' platform for this machine (the template's arm64 on an arm64 machine)."""
    return f"manylinux2014_{platform.machine()}"


def build_function_zips(folder: Path, runtime: Runtime) -> dict[str, Path]:
    """`make package` into ``folder``: zip name -> path."""
    done = subprocess.run(
        [
            *("make", "-s", "--no-print-directory", "package"),
            f"LAMBDA_BUILD={folder}",
            f"LAMBDA_PLATFORM={lambda_platform()}",
            f"PYTHON_RUNTIME={runtime.python}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RigError(f"make package failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return {path.name: path for path in folder.glob("*.zip")}


def build_charge_zip(target: Path, runtime: Runtime) -> Path:
    """The charge zip exactly as `make package` builds it (the CDE folder + byte code)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cardline.deploy.package",
            "charge",
            str(target),
            "--bytecode-python",
            runtime.python,
        ],
        check=True,
        capture_output=True,
    )
    return target


def fastapi_zip(folder: Path, runtime: Runtime) -> Path:
    """The FastAPI + Mangum peer (benchmarks/peers) with its packages for python3.13,
    pinned by benchmarks/peers/requirements.txt."""
    site = folder / "fastapi-site-packages"
    if site.exists():
        shutil.rmtree(site)
    runtime.pip_install(site, "-c", str(PEER_REQUIREMENTS), "fastapi", "mangum")
    return module_zip(
        folder / "fastapi_mangum.zip", ["fastapi_mangum", "paypal_call"], runtime, site
    )


class StandIns:
    """The PayPal emulator, the secrets extension and moto, and what each function's
    template variables point at on them."""

    PAYPAL_SECRET = "cardline/paypal"  # noqa: S105 - a secret's name
    IVR_KEYS_SECRET = "cardline/ivr-keys"  # noqa: S105 - a secret's name

    def __init__(self, stack: ExitStack, with_aws: bool) -> None:
        from tests.aws_support import running_extension, running_moto

        from cardline.sandbox import Emulator

        self.emulator = stack.enter_context(Emulator())
        self.extension = stack.enter_context(running_extension())
        self.extension.put(
            self.PAYPAL_SECRET,
            {
                "PAYPAL_CLIENT_ID": self.emulator.client_id,
                "PAYPAL_CLIENT_SECRET": self.emulator.client_secret,
                "CARDLINE_FINGERPRINT_KEY": "q" * 64,
            },
        )
        self.aws = stack.enter_context(running_moto()) if with_aws else None
        self.table = self.aws.ledger_table() if self.aws else ""
        self.sessions_table = self.aws.sessions_table() if self.aws else ""
        self.key_pair: Any = None
        self.operator_pool = ""
        if self.aws:
            from cardline.ivr.keys import generate_key_pair, key_document

            self.key_pair = generate_key_pair()
            self.aws.client("secretsmanager").create_secret(
                Name=self.IVR_KEYS_SECRET, SecretString=key_document([self.key_pair])
            )
            pool = self.aws.client("cognito-idp").create_user_pool(PoolName="operators")
            self.operator_pool = pool["UserPool"]["Id"]

    def variables(self, function: Function | None) -> dict[str, str]:
        """The function's template variables set to the stand-ins, and the stand-ins'
        addresses (those real Lambda gets from the extension layer and its role)."""
        stand_ins = {
            "CARDLINE_PAYPAL_SECRET_ID": self.PAYPAL_SECRET,
            "PAYPAL_ENV": "sandbox",
            "CARDLINE_LEDGER_TABLE": self.table,
            "CARDLINE_COGNITO_CLIENT_ID": "4example0client0id0abcdefgh",
            "CARDLINE_IVR_KEYS_SECRET_ID": self.IVR_KEYS_SECRET,
            "CARDLINE_OPERATOR_POOL_ID": self.operator_pool,
            "CARDLINE_IVR_SESSIONS_TABLE": self.sessions_table,
        }
        assert set(stand_ins) == STAND_IN_VARIABLES
        literals = dict(function.literals) if function else {}
        names = [name for name in (function.variables if function else ()) if name not in literals]
        missing = [name for name in names if name not in stand_ins]
        if missing:
            raise RigError(f"the template sets {missing}: give them a stand-in value here")
        values = {**literals, **{name: stand_ins[name] for name in names}}
        values.update(
            PAYPAL_BASE_URL=self.emulator.base_url,
            PAYPAL_CLIENT_ID=self.emulator.client_id,  # the floor and FastAPI read these
            PAYPAL_CLIENT_SECRET=self.emulator.client_secret,
            AWS_SESSION_TOKEN=self.extension.token,
            PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(self.extension.port),
        )
        if self.aws:
            values.update(self.aws.environment())
        return values

    def ivr_event(self) -> dict[str, Any]:
        """A contact-flow event for the sample card, its fields encrypted as Connect does."""
        from tests.ivr.conftest import connect_event

        from cardline.ivr.encrypt import encrypt_like_connect

        card = json.loads(event("charge-rest-v1.json")["body"])["card"]
        month, year = card["expiry"].split("/")

        def encrypted(digits: str) -> str:
            return encrypt_like_connect(
                digits,
                key_id=self.key_pair.key_id,
                certificate_pem=self.key_pair.certificate_pem,
            )

        return connect_event(
            str(uuid.uuid4()),
            {
                "card_number": encrypted(card["number"]),
                "expiry": encrypted(month + year),
                "security_code": encrypted(card["security_code"]),
                "amount": "12.50",
                "currency": "USD",
                "reference": "invoice-7",
                "cardholder_name": card["name"],
            },
        )


def charge_event() -> dict[str, Any]:
    """events/charge-rest-v1.json under a fresh Idempotency-Key (a new payment each run)."""
    sample = event("charge-rest-v1.json")
    sample["headers"] = {**sample["headers"], "Idempotency-Key": str(uuid.uuid4())}
    return sample


def audit_lines(output: str) -> list[str]:
    """The audit events a function printed (its log stream's JSON lines)."""
    return [line for line in output.splitlines() if '"schema": "cardline.cde.audit/' in line
            or '"schema":"cardline.cde.audit/' in line]  # fmt: skip


def check_charge(run: Run) -> str:
    answer = run.answer()
    body = json.loads(answer["body"])
    if answer["statusCode"] != 201 or (body["status"], body["last4"]) != ("approved", "1881"):
        raise RigError(f"charge answered {answer['statusCode']}: {answer['body'][:300]}")
    if not audit_lines(run.output):
        raise RigError(f"charge printed no audit event:\n{run.output[-1000:]}")
    payment_id: str = body["id"]
    return payment_id


def check_floor(run: Run) -> None:
    if run.answer() != {"statusCode": 200, "body": '{"status":"ok"}'}:
        raise RigError(f"the floor answered {run.answer()!r}")


def check_fastapi(run: Run) -> None:
    """A peer's answer (FastAPI + Mangum, the PayPal floor): 201 approved."""
    answer = run.answer()
    if answer["statusCode"] != 201 or json.loads(answer["body"])["status"] != "approved":
        raise RigError(f"the peer answered {answer!r}")


@dataclass
class Rig:
    """Everything one benchmark (or test) needs: the runtime, the stand-ins, the code."""

    runtime: Runtime
    api: RuntimeApi
    stand_ins: StandIns
    functions: dict[str, Function]
    code: dict[str, Path]  # name -> unpacked, read-only code folder

    def run(self, name: str, handler: str, payload: Any, function: Function | None = None) -> Run:
        return cold_start(
            self.runtime,
            self.api,
            self.code[name],
            handler,
            payload,
            self.stand_ins.variables(function),
        )

    def floor(self) -> Run:
        return self.run("floor", FLOOR_HANDLER, {"any": "event"})

    def probe(self) -> Run:
        return self.run("probe", PROBE_HANDLER, {})

    def charge(self) -> Run:
        function = self.functions["charge"]
        return self.run("charge", function.handler, charge_event(), function)

    def fastapi_mangum(self) -> Run:
        return self.run("fastapi_mangum", FASTAPI_HANDLER, charge_event())

    def paypal_floor(self) -> Run:
        return self.run("paypal_floor", PAYPAL_FLOOR_HANDLER, charge_event())


@contextmanager
def rig(
    folder: Path, *, everything: bool, log: Callable[[str], None] = lambda _message: None
) -> Iterator[Rig]:
    """The rig in ``folder``: the floor, probe and charge zips; with ``everything``, also
    `make package`'s backoffice and ivr zips, FastAPI + Mangum and moto."""
    runtime = make_runtime(folder / "runtime")
    zips = folder / "zips"
    zips.mkdir(parents=True, exist_ok=True)
    functions = template_functions()
    log("  building the zips")
    built = {
        "floor": module_zip(zips / "floor.zip", ["lambda_floor"], runtime),
        "probe": module_zip(zips / "probe.zip", ["lambda_probe"], runtime),
    }
    if everything:
        packaged = build_function_zips(zips / "package", runtime)
        for name, function in functions.items():
            built[name] = packaged[function.zip_name]
        built["fastapi_mangum"] = fastapi_zip(zips, runtime)
        built["paypal_floor"] = module_zip(
            zips / "paypal_floor.zip", ["floor", "paypal_call"], runtime
        )
    else:
        built["charge"] = build_charge_zip(zips / functions["charge"].zip_name, runtime)
    code = {name: unpack(path, folder / "task" / name) for name, path in built.items()}
    with ExitStack() as stack:
        api = RuntimeApi()
        stack.callback(api.close)
        yield Rig(runtime, api, StandIns(stack, with_aws=everything), functions, code)


def answers(rig: Rig) -> dict[str, Any]:
    """Each zip answering its sample event once; raises :class:`RigError` at the first
    wrong answer. Returns what each answered, with its cold start in ms."""
    result: dict[str, Any] = {}

    def note(name: str, run: Run, summary: str) -> None:
        result[name] = {"cold_ms": round(run.seconds * 1000, 1), "answer": summary}

    charge = rig.charge()
    payment_id = check_charge(charge)
    note("charge", charge, f"201 approved, payment {payment_id}")

    from tests.aws_support import subscription_event

    function = rig.functions["projector"]
    projected = rig.run(
        "projector", function.handler, subscription_event(audit_lines(charge.output)), function
    )
    if projected.answer() != {"applied": 1, "already_applied": 0, "not_audit": 0}:
        raise RigError(f"the projector answered {projected.answer()!r}")
    note("projector", projected, "applied the charge's audit event")

    function = rig.functions["backoffice"]
    listed = rig.run("backoffice", function.handler, event("list-payments-rest-v1.json"), function)
    answer = listed.answer()
    ids = [item["id"] for item in json.loads(answer["body"]).get("items", [])]
    if answer["statusCode"] != 200 or ids != [payment_id]:
        raise RigError(f"the backoffice answered {answer['statusCode']}: {answer['body'][:300]}")
    note("backoffice", listed, f"200, lists payment {payment_id}")

    function = rig.functions["ivr"]
    called = rig.run("ivr", function.handler, rig.stand_ins.ivr_event(), function)
    answer = called.answer()
    if (answer.get("action"), answer.get("status"), answer.get("last4")) != (
        "result",
        "approved",
        "1881",
    ):
        raise RigError(f"the ivr function answered {answer!r}")
    note("ivr", called, "result: approved, last 4 1881")

    check_floor(floor := rig.floor())
    note("floor", floor, "200, the constant")
    check_fastapi(fastapi := rig.fastapi_mangum())
    note("fastapi_mangum", fastapi, "201 approved")
    check_fastapi(paypal_floor := rig.paypal_floor())
    note("paypal_floor", paypal_floor, "201 approved")
    return result


def cold_starts(rig: Rig, rounds: int, log: Callable[[str], None]) -> dict[str, list[float]]:
    """Seconds to the first answer of floor, charge and FastAPI + Mangum, interleaved."""
    checks: dict[str, Callable[[Run], object]] = {
        "floor": check_floor,
        "charge": check_charge,
        "fastapi_mangum": check_fastapi,
        "paypal_floor": check_fastapi,
    }
    times: dict[str, list[float]] = {name: [] for name in TIMED}
    for name in TIMED:  # once each first: page cache warm for all alike
        checks[name](getattr(rig, name)())
    for n in range(rounds):
        order = TIMED[n % len(TIMED) :] + TIMED[: n % len(TIMED)]
        for name in order:
            run = getattr(rig, name)()
            checks[name](run)
            times[name].append(run.seconds)
        log(f"  lambda cold round {n + 1}/{rounds}")
    return times


def measure(folder: Path, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The whole Lambda part of `make bench`: probe, answers, cold starts, ratios."""
    started = time.perf_counter()
    with rig(folder, everything=True, log=log) as opened:
        probe = opened.probe().answer()
        log("  each zip answers its event")
        answered = answers(opened)
        times = cold_starts(opened, rounds, log)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "python": opened.runtime.python,
        "awslambdaric": (ROOT / "benchmarks/peers/lambda-runtime-requirements.txt")
        .read_text()
        .split("awslambdaric==")[1]
        .split()[0],
        "platform": lambda_platform(),
        "probe": probe,
        "answers": answered,
        "rounds": rounds,
        "cold_ms_median": {name: round(value * 1000, 1) for name, value in medians.items()},
        "cold_ms_all": {
            name: [round(v * 1000, 1) for v in values] for name, values in times.items()
        },
        # The floor, as DESIGN.md has it: a standard-library handler making the same PayPal
        # call (peers/floor.py). The constant handler shows what the runtime itself costs.
        "charge_lambda_cold_ratio_vs_floor": round(medians["charge"] / medians["paypal_floor"], 3),
        "charge_lambda_cold_ratio_vs_constant_handler": round(
            medians["charge"] / medians["floor"], 3
        ),
        "charge_lambda_cold_ratio_vs_fastapi_mangum": round(
            medians["charge"] / medians["fastapi_mangum"], 3
        ),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str]) -> int:
    """``python -m benchmarks.lambda_cold [ROUNDS]``: the Lambda part alone, into build/bench."""
    rounds = int(argv[0]) if argv else 5
    folder = ROOT / "build" / "bench" / "lambda"
    result = measure(folder, rounds, lambda message: print(message, file=sys.stderr, flush=True))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main(sys.argv[1:]))
