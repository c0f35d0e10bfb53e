"""A Lambda zip run the way Lambda runs it, on this machine.

- the runtime's Python: python3.13 (``PYTHON_RUNTIME``, else ``python3.13`` on PATH, else
  pyenv's 3.13), its standard library linked into a folder of its own (``lang``, Lambda's
  /var/lang) without the interpreter's site-packages;
- AWS's runtime interface client, ``awslambdaric`` (pinned in
  benchmarks/peers/lambda-runtime-requirements.txt with what it pulls in), installed
  for that Python into a folder of its own (``runtime``, Lambda's /var/runtime);
- the zip unpacked into a code folder nobody but root may write (Lambda's /var/task),
  the function process run as an unprivileged user (uid/gid 65534, no groups) with
  ``-I -S`` and ``sys.path`` = [code, runtime, the standard library], cwd the code folder,
  HOME and TMPDIR /tmp, the Lambda environment variables and the template's;
- :class:`RuntimeApi`, a local stand-in for the Lambda Runtime API (``GET
  /2018-06-01/runtime/invocation/next`` with Lambda's headers, ``POST .../response``,
  ``.../error``, ``/init/error``) that times one invocation from process start to the
  first answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cardline.deploy import runtime as deploy_runtime

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNTIME_REQUIREMENTS = HERE / "peers" / "lambda-runtime-requirements.txt"
RUNTIME_VERSION = "3.13"
NOBODY = 65534  # the function's uid and gid: Lambda runs code as an unprivileged user
API = "/2018-06-01/runtime"

# What the function process runs: the runtime folder behind the code folder, then the
# client's own entry point (awslambdaric/__main__.py), as Lambda's bootstrap does.
_BOOT = (
    "import sys; sys.path[:0] = [sys.argv.pop(1), sys.argv.pop(1)]; "
    "from awslambdaric.__main__ import main; main(sys.argv)"
)


class RigError(RuntimeError):
    """The rig could not be set up (no python3.13, an install failed, ...)."""


def find_runtime_python(environ: Mapping[str, str] = os.environ) -> str:
    """The Lambda runtime's Python, found as ``make package`` finds it
    (:mod:`cardline.deploy.runtime`); raises :class:`RigError` saying how to supply it."""
    try:
        return deploy_runtime.find_runtime_python(environ)
    except deploy_runtime.RuntimeNotFound as missing:
        raise RigError(str(missing)) from None


def _prefix(python: str) -> Path:
    done = subprocess.run(
        [python, "-I", "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())


def _link_tree(source: Path, target: Path, skip: set[Path]) -> None:
    """Hard links where the file system allows (instant), copies where it does not."""
    for folder, folders, files in os.walk(source):
        here = Path(folder)
        folders[:] = [name for name in folders if here / name not in skip]
        (target / here.relative_to(source)).mkdir(mode=0o755, parents=True, exist_ok=True)
        for name in files:
            destination = target / here.relative_to(source) / name
            try:
                os.link(here / name, destination)
            except OSError:
                shutil.copy2(here / name, destination)


def _read_only(folder: Path) -> None:
    """Folders r-x and files r-- for everyone: only root (who ignores them) could write."""
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)


@dataclass
class Runtime:
    """The runtime's Python and awslambdaric, laid out for an unprivileged process."""

    root: Path
    python: str  # the interpreter the rig was made from

    @property
    def lang(self) -> Path:
        return self.root / "lang"

    @property
    def client(self) -> Path:
        return self.root / "runtime"

    @property
    def executable(self) -> Path:
        return self.lang / "bin" / f"python{RUNTIME_VERSION}"

    def pip_install(self, target: Path, *arguments: str) -> None:
        """``pip install --target`` with the runtime's Python (its own pip, this platform)."""
        done = subprocess.run(
            [
                *(self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check"),
                *("--no-warn-script-location", "--root-user-action=ignore", "--target"),
                *(str(target), *arguments),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RigError(f"pip install {' '.join(arguments)} failed:\n{done.stderr[-2000:]}")


def make_runtime(root: Path, python: str | None = None) -> Runtime:
    """Lay out ``lang`` (the interpreter and its standard library, no site-packages) and
    ``runtime`` (awslambdaric) under ``root``; reuses what a previous call made."""
    python = python or find_runtime_python()
    root = root.resolve()
    runtime = Runtime(root, python)
    stamp = root / ".made"
    wanted = f"{python}\n{RUNTIME_REQUIREMENTS.read_text()}"
    if stamp.is_file() and stamp.read_text() == wanted:
        return runtime
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(mode=0o755, parents=True)
    root.chmod(0o755)
    prefix = _prefix(python)
    stdlib = prefix / "lib" / f"python{RUNTIME_VERSION}"
    for folder in ("bin", "lib"):
        (runtime.lang / folder).mkdir(mode=0o755, parents=True)
    shutil.copy2(Path(python).resolve(), runtime.executable)
    for library in (prefix / "lib").glob("libpython3*"):
        shutil.copy2(library, runtime.lang / "lib" / library.name, follow_symlinks=False)
    _link_tree(
        stdlib,
        runtime.lang / "lib" / stdlib.name,
        {stdlib / "site-packages", stdlib / "test", stdlib / "idlelib", stdlib / "tkinter"},
    )
    runtime.pip_install(runtime.client, "--no-deps", "-r", str(RUNTIME_REQUIREMENTS))
    _read_only(runtime.client)
    stamp.write_text(wanted)
    return runtime


@contextmanager
def scratch_root(prefix: str = "cardline-lambda-") -> Iterator[Path]:
    """A folder every user may enter (pytest's own are private to root), removed after."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for path in root.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)


def unpack(archive: Path, code: Path) -> Path:
    """The zip's files in ``code``, read-only (Lambda's /var/task)."""
    code = code.resolve()
    if code.exists():
        for path in [code, *code.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(code)
    code.mkdir(parents=True)
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(code)
    _read_only(code)
    return code


@dataclass
class Invocation:
    """One event handed out by the stand-in, and what came back."""

    event: bytes
    request_id: str
    started: float = 0.0  # perf_counter() at process start
    handed_out: float = 0.0
    answered: float = 0.0
    kind: str = ""  # "response", "error" or "init_error"
    body: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def seconds(self) -> float:
        """Process start to the first answer."""
        return self.answered - self.started

    def answer(self) -> Any:
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A function process is killed after its answer: its idle connection just drops.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RuntimeApi:
    """The Lambda Runtime API on 127.0.0.1 for one function process at a time."""

    def __init__(self) -> None:
        self._current: Invocation | None = None
        self._lock = threading.Lock()
        self._released = threading.Event()
        rig = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY a kept-alive
            # function (benchmarks/lambda_warm.py) waits ~40 ms on each event for the
            # delayed ACK of the first. A cold start's fresh connection never did.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                if self.path != f"{API}/invocation/next":
                    return self._reply(404, {"errorType": "NotFound"})
                invocation = rig._hand_out()
                if invocation is None:  # the next event: none comes, the process is ended
                    rig._released.wait(60)
                    return self._reply(410, {"errorType": "Gone"})
                self.send_response(200)
                for name, value in (
                    ("Lambda-Runtime-Aws-Request-Id", invocation.request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000)),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:cardline-bench",
                    ),
                    ("Lambda-Runtime-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{'0' * 24}"),
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(invocation.event))),
                ):
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(invocation.event)

            def do_POST(self) -> None:
                answered = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                invocation = rig._current
                kinds = {"response": "response", "error": "error"}
                parts = self.path.removeprefix(API + "/").split("/")
                if parts == ["init", "error"] and invocation is not None:
                    kind = "init_error"
                elif (
                    len(parts) == 3
                    and parts[0] == "invocation"
                    and invocation is not None
                    and parts[1] == invocation.request_id
                    and parts[2] in kinds
                ):
                    kind = kinds[parts[2]]
                else:
                    return self._reply(404, {"errorType": "NotFound"})
                self._reply(202, {"status": "OK"})
                if not invocation.done.is_set():
                    invocation.answered, invocation.kind, invocation.body = answered, kind, body
                    invocation.done.set()

            def _reply(self, status: int, body: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _hand_out(self) -> Invocation | None:
        with self._lock:
            invocation = self._current
            if invocation is None or invocation.handed_out:
                return None
            invocation.handed_out = time.perf_counter()
            return invocation

    def arm(self, event: Any) -> Invocation:
        """The event the next ``GET .../next`` hands out."""
        self._released.clear()
        self._current = Invocation(json.dumps(event).encode(), str(uuid.uuid4()))
        return self._current

    def release(self) -> None:
        """Ends the wait of a ``GET .../next`` that no event will answer."""
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


def lambda_environment(
    runtime: Runtime, code: Path, handler: str, api: RuntimeApi, variables: Mapping[str, str]
) -> dict[str, str]:
    """What Lambda sets for a python3.13 function, plus the function's own ``variables``."""
    return {
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{RUNTIME_VERSION}",
        "AWS_LAMBDA_FUNCTION_NAME": "cardline-bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cardline-bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/01/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(code),
        "LAMBDA_RUNTIME_DIR": str(runtime.client),
        "_HANDLER": handler,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": f"{runtime.lang / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LD_LIBRARY_PATH": str(runtime.lang / "lib"),
        "HOME": "/tmp",  # noqa: S108 - where Lambda lets a function write
        "TMPDIR": "/tmp",  # noqa: S108
        **variables,
    }


def function_command(
    runtime: Runtime, code: Path, handler: str, options: tuple[str, ...] = ()
) -> list[str]:
    """The function process: unprivileged, isolated, no site-packages (``options``: more
    interpreter options, ``("-X", "importtime")`` say)."""
    return [
        *("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"),
        *(str(runtime.executable), "-I", "-S", *options, "-c", _BOOT),
        *(str(code), str(runtime.client), handler),
    ]


@dataclass
class Run:
    """One cold start: the invocation and what the process printed."""

    invocation: Invocation
    output: str

    @property
    def seconds(self) -> float:
        return self.invocation.seconds

    def answer(self) -> Any:
        if self.invocation.kind != "response":
            raise RigError(
                f"the function answered {self.invocation.kind or 'nothing'}: "
                f"{self.invocation.body[-1500:]!r}\n{self.output[-1500:]}"
            )
        return self.invocation.answer()


def cold_start(
    runtime: Runtime,
    api: RuntimeApi,
    code: Path,
    handler: str,
    event: Any,
    variables: Mapping[str, str] = {},
    timeout: float = 60.0,
    options: tuple[str, ...] = (),
) -> Run:
    """Start a function process on ``code``, hand it ``event``, end it after its answer."""
    invocation = api.arm(event)
    environment = lambda_environment(runtime, code, handler, api, variables)
    with tempfile.TemporaryFile() as output:
        invocation.started = time.perf_counter()
        process = subprocess.Popen(
            function_command(runtime, code, handler, options),
            cwd=code,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            while not invocation.done.wait(0.05):
                if process.poll() is not None:
                    break
                if time.perf_counter() - invocation.started > timeout:
                    break
        finally:
            process.kill()
            process.wait()
            api.release()
        output.seek(0)
        printed = output.read().decode(errors="replace")
    if not invocation.done.is_set():
        raise RigError(f"{handler}: no answer (exit {process.returncode}):\n{printed[-3000:]}")
    return Run(invocation, printed)


# A zip of one module whose handler answers a constant: the floor every zip is held to.
FLOOR_HANDLER = "lambda_floor.handler"
# The probe: what the function process sees (sys.path, uid, site, a write into the code).
PROBE_HANDLER = "lambda_probe.handler"
PEER_MODULES = HERE / "peers"


def module_zip(
    target: Path, modules: list[str], runtime: Runtime, extra: Path | None = None
) -> Path:
    """A zip of ``benchmarks/peers/<module>.py`` (and the packages in ``extra``) with byte
    code compiled by the runtime's Python, as `make package` ships the charge zip."""
    from cardline.deploy.package import build_zip, bytecode_files, package_files

    files = [(PEER_MODULES / f"{name}.py", f"{name}.py") for name in modules]
    if extra is not None:
        files += package_files(extra)
    with tempfile.TemporaryDirectory() as workdir:
        files += bytecode_files(files, runtime.python, Path(workdir))
        build_zip(files, target)
    return target
