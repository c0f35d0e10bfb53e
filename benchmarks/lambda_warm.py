"""Warm invocations as Lambda runs them: the charge zip against the floor zip under the rig.

    python -m benchmarks.lambda_warm [PAYMENTS] [REVISION ...]

Each zip runs in one function process kept alive (python3.13 under awslambdaric, read-only
code, an unprivileged user: benchmarks/lambda_rig.py), and the Runtime API stand-in hands
them events in turn, the order alternating each payment so that the machine's noise falls
on all alike. An invocation's time is the stand-in's, from handing the event out to the
function's answer arriving: what Lambda bills, the runtime client's own work included (the
same for every zip). The floor is benchmarks/peers/floor.py, the standard library making
the same PayPal call (token cached, kept-alive connection), so charge's median minus the
floor's, paired payment by payment, is what cardline adds to a warm payment.

With REVISIONs, the charge zip of each git revision (as `make package` builds it, see
benchmarks/lambda_ab.py) runs beside the working tree's, each in its own process: a code
change weighed warm, as the functions run it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import lambda_cold
from benchmarks.lambda_rig import (
    Invocation,
    RigError,
    Runtime,
    RuntimeApi,
    function_command,
    lambda_environment,
    module_zip,
    scratch_root,
    unpack,
)

FLOOR = "paypal_floor"  # benchmarks/peers/floor.py: the same PayPal call, standard library only


class WarmApi(RuntimeApi):
    """The Runtime API stand-in for one long-lived function process: ``GET .../next``
    waits until :meth:`arm` gives it the next event (or :meth:`release` ends the wait)."""

    def __init__(self) -> None:
        self._armed = threading.Condition()
        self._closing = False
        super().__init__()

    def _hand_out(self) -> Invocation | None:
        with self._armed:
            while not self._closing:
                invocation = self._current
                if invocation is not None and not invocation.handed_out:
                    invocation.handed_out = time.perf_counter()
                    return invocation
                self._armed.wait()
        return None

    def arm(self, event: Any) -> Invocation:
        with self._armed:
            invocation = super().arm(event)
            self._armed.notify_all()
        return invocation

    def release(self) -> None:
        with self._armed:
            self._closing = True
            self._armed.notify_all()
        super().release()


class WarmFunction:
    """One function process on ``code``, answering the events :meth:`invoke` hands it."""

    def __init__(
        self, runtime: Runtime, code: Path, handler: str, variables: dict[str, str]
    ) -> None:
        self.api = WarmApi()
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(
            function_command(runtime, code, handler),
            cwd=code,
            env=lambda_environment(runtime, code, handler, self.api, variables),
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def invoke(self, event: Any, timeout: float = 60.0) -> Invocation:
        """Hand ``event`` out and wait for the answer; RigError if none comes."""
        invocation = self.api.arm(event)
        deadline = time.perf_counter() + timeout
        while not invocation.done.wait(0.05):
            if self._process.poll() is not None or time.perf_counter() > deadline:
                raise RigError(f"no answer (exit {self._process.returncode}):\n{self.output()}")
        if invocation.kind != "response":
            raise RigError(f"the function answered {invocation.kind}: {invocation.body[-1500:]!r}")
        return invocation

    @property
    def running(self) -> bool:
        """The function process has not exited."""
        return self._process.poll() is None

    def output(self) -> str:
        """The end of what the process printed (its log stream: the audit lines and the EMF
        metric lines, about 1.5 kB an invocation together)."""
        self._output.flush()
        self._output.seek(0)
        return self._output.read().decode(errors="replace")[-16000:]

    def close(self) -> None:
        self._process.kill()
        self._process.wait()
        self.api.close()
        self._output.close()


def _approved(invocation: Invocation) -> None:
    answer = invocation.answer()
    if answer.get("statusCode") != 201 or '"approved"' not in str(answer.get("body")):
        raise RigError(f"not approved: {answer.get('statusCode')} {str(answer)[:300]}")


def measure(
    rig: lambda_cold.Rig, charges: dict[str, Path], payments: int
) -> dict[str, list[float]]:
    """Seconds per warm invocation of the floor and of each charge code folder in
    ``charges``, ``payments`` each after one warm-up invocation, interleaved."""
    charge = rig.functions["charge"]
    variables = rig.stand_ins.variables(charge)
    functions = {FLOOR: WarmFunction(rig.runtime, rig.code[FLOOR], lambda_cold.PAYPAL_FLOOR_HANDLER,
                                     rig.stand_ins.variables(None))}  # fmt: skip
    try:
        for name, code in charges.items():
            functions[name] = WarmFunction(rig.runtime, code, charge.handler, variables)
        names = list(functions)
        for function in functions.values():  # the cold start, the token and the connection
            _approved(function.invoke(lambda_cold.charge_event()))
        times: dict[str, list[float]] = {name: [] for name in names}
        for n in range(payments):
            for name in names[n % len(names) :] + names[: n % len(names)]:
                invocation = functions[name].invoke(lambda_cold.charge_event())
                _approved(invocation)
                times[name].append(invocation.answered - invocation.handed_out)
    finally:
        for function in functions.values():
            function.close()
    return times


def summary(times: dict[str, list[float]]) -> dict[str, Any]:
    """Each one's median µs, and each charge's paired overhead over the floor (median, p99)."""
    floor = times[FLOOR]
    result: dict[str, Any] = {
        "payments": len(floor),
        "invocation_us_median": {
            name: round(statistics.median(values) * 1e6, 1) for name, values in times.items()
        },
    }
    for name, values in times.items():
        if name == FLOOR:
            continue
        overhead = sorted((c - f) * 1e6 for c, f in zip(values, floor, strict=True))
        result[f"{name}_overhead_us_median"] = round(statistics.median(overhead), 1)
        result[f"{name}_overhead_us_p99"] = round(overhead[int(len(overhead) * 0.99) - 1], 1)
    return result


def main(argv: list[str]) -> int:
    payments = int(argv[0]) if argv else 300
    revisions = argv[1:]
    from benchmarks.lambda_ab import _charge_zip_of

    with scratch_root() as root, lambda_cold.rig(root, everything=False) as rig:
        built = module_zip(root / "floor.zip", ["floor", "paypal_call"], rig.runtime)
        rig.code[FLOOR] = unpack(built, root / "task-floor")
        charges = {"charge": rig.code["charge"]}
        for revision in revisions:
            archive = _charge_zip_of(revision, root / f"{revision}.zip", rig.runtime.python)
            charges[f"charge@{revision}"] = unpack(archive, root / f"task-{revision}")
        times = measure(rig, charges, payments)
    print(json.dumps(summary(times), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
