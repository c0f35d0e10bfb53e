"""A real `cardline serve` process, as a user starts it, for the tests that need one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

CARDLINE = [sys.executable, "-m", "cardline.cli"]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without PayPal or cardline settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYPAL_", "CARDLINE_"))}
    env.update(extra or {})
    return env


class Served:
    """`cardline serve --port 0` on a data directory (None: the default one, as `make run`
    uses); what it prints goes to ``log``."""

    def __init__(
        self, data_dir: Path | None, log: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        where = ["--data-dir", str(data_dir)] if data_dir is not None else []
        self.process = subprocess.Popen(
            [*CARDLINE, "serve", "--port", "0", *where],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=dict(env) if env is not None else clean_env(),
        )
        assert self.process.stdout is not None
        self.lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stdout.readline().decode()
            if not line:
                break
            self.lines.append(line)
            if "try: curl" in line:
                break
        self.url = next(t.split()[-1] for t in self.lines if "listening on" in t)

    def key(self) -> str:
        """The first operator's key, printed on the data directory's first start."""
        return next(t.strip() for t in self.lines if t.strip().startswith("cl_"))

    def emulator_url(self) -> str:
        """The embedded PayPal emulator's URL (when no PayPal credentials are configured)."""
        return next(t.split()[3] for t in self.lines if "PayPal: emulator at" in t)

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self._log.write("".join(self.lines).encode() + self.process.stdout.read())
        self._log.close()
