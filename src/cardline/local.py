"""The local host: every route in one process, with the embedded PayPal emulator, a
SQLite ledger and a JSON-lines audit file in one data directory."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cardline.capture import Authorizations
from cardline.cde import audit, ids
from cardline.cde.charge import Charger
from cardline.cde.errors import CardlineError
from cardline.cde.http.app import App
from cardline.cde.http.charge_route import payment_route
from cardline.cde.http.twilio_route import twilio_route
from cardline.cde.paypal import PayPalClient, PayPalConfig
from cardline.cde.rules import rules_from_environment
from cardline.cde.twilio_pay import ConnectorCredentials
from cardline.files import read_or_create_private
from cardline.http.backoffice_routes import backoffice_routes
from cardline.http.console_routes import console_routes
from cardline.http.metrics_route import metrics_route
from cardline.http.webhook_route import PATH as WEBHOOK_PATH
from cardline.http.webhook_route import webhook_route
from cardline.ivr.routes import LocalIvr
from cardline.ledger.projector import rebuild
from cardline.ledger.sqlite import LedgerClosed, SqliteLedger
from cardline.local_metrics import AuditCounts, LocalMetrics, WebhookRefusalsCounted
from cardline.operators import OperatorStore
from cardline.refund import Refunder
from cardline.webhooks.notification import PAYPAL_CERT_HOSTS

if TYPE_CHECKING:
    from cardline.sandbox import Emulator

AUDIT_FILE = "audit.jsonl"
LEDGER_FILE = "ledger.sqlite3"
OPERATORS_FILE = "operators.json"
KEY_FILE = "fingerprint.key"
EMULATOR_FILE = "paypal-emulator.sqlite3"
TWILIO_FILE = "twilio-connector.json"
# The embedded emulator signs deliveries with a certificate it serves on loopback.
_LOOPBACK = frozenset({"127.0.0.1", "localhost"})

log = logging.getLogger("cardline.local")


def default_data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """--data-dir, else CARDLINE_DATA_DIR, else $XDG_DATA_HOME/cardline (~/.local/share)."""
    if environ.get("CARDLINE_DATA_DIR"):
        return Path(environ["CARDLINE_DATA_DIR"])
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cardline"


def fingerprint_key(data_dir: Path) -> bytes:
    """The secret keying request fingerprints, made on first use (mode 0600): 256 random
    bits written in letters (cardline.cde.ids), so the file can never hold a card-number-shaped
    run of digits; a key written in hex by an earlier version is read as it is."""
    return read_or_create_private(data_dir / KEY_FILE, lambda: ids.random_id(64)).strip().encode()


def twilio_credentials(data_dir: Path, environ: Mapping[str, str]) -> ConnectorCredentials:
    """The Twilio Generic Pay Connector's basic-auth credentials: TWILIO_CONNECTOR_USERNAME
    and TWILIO_CONNECTOR_PASSWORD (and TWILIO_CONNECTOR_NAME) when set, else those of the
    data directory's ``twilio-connector.json``, made on first use (mode 0600: username
    ``twilio``, a random password written in letters)."""
    configured = ConnectorCredentials.from_settings(environ)
    if configured is not None:
        return configured

    def made() -> str:
        return json.dumps({"username": "twilio", "password": ids.random_id(32)}) + "\n"

    saved = json.loads(read_or_create_private(data_dir / TWILIO_FILE, made))
    credentials = ConnectorCredentials.from_settings(
        {
            "TWILIO_CONNECTOR_USERNAME": str(saved.get("username", "")),
            "TWILIO_CONNECTOR_PASSWORD": str(saved.get("password", "")),
            "TWILIO_CONNECTOR_NAME": str(saved.get("name", "")),
        }
    )
    if credentials is None:
        raise ValueError(f"{data_dir / TWILIO_FILE} holds no username and password")
    return credentials


class ProjectingSink:
    """Appends each event to the audit file, then projects it into the ledger.

    Once the event is in the audit file it is recorded: a projection that fails is logged
    and left for replay (at the next start, or `cardline ledger rebuild`), so that the
    caller still gets the payment's true outcome rather than an internal error. An event
    that comes after the ledger closed (a request the stopping server could not finish) is
    kept the same way, in one line of log without a traceback.
    """

    def __init__(self, file_sink: audit.FileSink, ledger: SqliteLedger) -> None:
        self._file = file_sink
        self._ledger = ledger

    def emit(self, event: audit.AuditEvent) -> None:
        self._file.emit(event)
        try:
            self._ledger.apply(event)
        except LedgerClosed:
            log.warning(
                "audit event %s came after the ledger closed; it is kept in the audit file, "
                "and the next start or `cardline ledger rebuild` projects it",
                event.event_id,
            )
        except Exception:  # the audit file already holds the event
            log.exception(
                "ledger projection of audit event %s failed; the next start or "
                "`cardline ledger rebuild` replays it",
                event.event_id,
            )


@dataclass
class LocalStack:
    data_dir: Path
    app: App
    operators: OperatorStore
    ledger: SqliteLedger
    sink: ProjectingSink
    paypal_mode: str
    paypal: PayPalClient
    emulator: Emulator | None = None
    webhook_id: str | None = None
    twilio: ConnectorCredentials | None = None
    metrics: LocalMetrics | None = None
    # The charge route's and the IVR's own clients (each function has its own on AWS),
    # so that PayPal's latency and retries are counted for the service they served.
    charging: tuple[PayPalClient, ...] = ()

    def subscribe_webhooks(self, url: str) -> str | None:
        """With the embedded emulator and no PAYPAL_WEBHOOK_ID, subscribe the server at
        ``url`` to the events cardline acts on; the webhook id, or None (kept as it was).
        The emulator keeps one subscription for this route across restarts, on any port
        (PayPal's create call would refuse the URL the second time)."""
        if self.emulator is None or self.webhook_id:
            return self.webhook_id
        from cardline.webhooks.events import EVENT_TYPES

        listener = url.rstrip("/") + WEBHOOK_PATH
        self.webhook_id = self.emulator.subscribe(listener, tuple(sorted(EVENT_TYPES)), moves=True)
        return self.webhook_id

    def close(self) -> None:
        """Stop everything the stack runs, then close its ledger: the emulator (no more
        deliveries), the App (its held-back audit events written while the ledger is
        open, its flusher thread ended), the PayPal clients. Stop the server first."""
        if self.emulator is not None:
            self.emulator.stop()
        self.app.close()
        for client in (self.paypal, *self.charging):
            client.close()
        self.ledger.close()


def open_store(data_dir: Path) -> tuple[SqliteLedger, ProjectingSink, OperatorStore]:
    """The data directory's ledger, audit sink and operators, without starting a service.

    Audit events the ledger missed (a crash between the audit append and the projection)
    are projected first; events already applied are skipped by their id.
    """
    ledger = SqliteLedger(data_dir / LEDGER_FILE)
    applied, _skipped = rebuild(ledger, audit.read_events(data_dir / AUDIT_FILE))
    if ledger.replaced is not None:
        log.warning(
            "the ledger was rebuilt from the audit log %s (%d events applied); the damaged "
            "ledger is kept as %s",
            data_dir / AUDIT_FILE,
            applied,
            ledger.replaced.name,
        )
    sink = ProjectingSink(audit.FileSink(data_dir / AUDIT_FILE), ledger)
    return ledger, sink, OperatorStore(data_dir / OPERATORS_FILE, sink)


def build_local(data_dir: Path, environ: Mapping[str, str] = os.environ) -> LocalStack:
    """Everything `cardline serve` runs; the embedded emulator unless PayPal credentials are
    set. The charge route, the IVR and the backoffice report to one LocalMetrics, each as
    its function would on AWS (``service`` charge, ivr, backoffice), served at /metrics."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ledger, sink, operators = open_store(data_dir)
    config = PayPalConfig.from_env(environ)
    emulator = None
    if config is None:
        # Its state lives in the data directory: a restart still knows earlier payments.
        emulator, config = _start_emulator(data_dir, environ)
    mode = _mode(config, emulator)
    paypal = PayPalClient(config)
    metrics = LocalMetrics()
    key = fingerprint_key(data_dir)
    rules = rules_from_environment(environ)
    charge_paypal = PayPalClient(config, metrics=metrics.recorder("charge"))
    ivr_paypal = PayPalClient(config, metrics=metrics.recorder("ivr"))
    charger = Charger(charge_paypal, sink, key, rules)
    ivr_charger = Charger(ivr_paypal, sink, key, rules)
    counted = AuditCounts(sink, metrics)
    refunder = Refunder(paypal, ledger, counted)
    authorizations = Authorizations(paypal, ledger, sink)
    holder: list[LocalStack] = []
    twilio = twilio_credentials(data_dir, environ)
    cert_hosts = PAYPAL_CERT_HOSTS | (_LOOPBACK if emulator is not None else frozenset())
    routes = [
        payment_route(charger),
        twilio_route(charger, twilio, sink, lambda: holder[0].app.failures),
        *backoffice_routes(
            lambda: ledger, lambda: refunder, mode, lambda: operators, lambda: authorizations
        ),
        webhook_route(
            lambda: paypal,
            lambda: ledger,
            counted,
            lambda: holder[0].webhook_id,
            lambda: WebhookRefusalsCounted(holder[0].app.failures, metrics),
            cert_hosts=cert_hosts,
        ),
        *LocalIvr(data_dir, ivr_charger, sink).routes(),
        *console_routes(ivr_sessions=True),
        metrics_route(lambda: metrics),
    ]
    app = App(routes, operators, sink)
    stack = LocalStack(
        data_dir,
        app,
        operators,
        ledger,
        sink,
        mode,
        paypal,
        emulator,
        webhook_id=environ.get("PAYPAL_WEBHOOK_ID") or None,
        twilio=twilio,
        metrics=metrics,
        charging=(charge_paypal, ivr_paypal),
    )
    holder.append(stack)
    return stack


def _start_emulator(data_dir: Path, environ: Mapping[str, str]) -> tuple[Emulator, PayPalConfig]:
    """The embedded emulator on the data directory's state file, and the client's settings."""
    from cardline.sandbox import Emulator

    emulator = Emulator(state_path=data_dir / EMULATOR_FILE)
    base_url = emulator.start()
    try:
        config = PayPalConfig.with_env_timing(
            base_url, emulator.client_id, emulator.client_secret, environ
        )
    except ValueError:  # a bad PAYPAL_TIMEOUT_SECONDS or PAYPAL_DEADLINE_SECONDS
        emulator.stop()
        raise
    return emulator, config


def _mode(config: PayPalConfig, emulator: Emulator | None) -> str:
    if emulator is not None:
        return "emulator"
    return "live" if config.base_url == PayPalConfig.LIVE_URL else "sandbox"


class ReconcileSchedule:
    """``cardline serve --reconcile-every``: reconcile on a background thread, each run
    audited (:func:`cardline.reconcile.scheduled_run`); a run that fails is logged in one
    line and the next is tried at its time, so serve never stops for it."""

    def __init__(self, stack: LocalStack, every: float) -> None:
        self._stack = stack
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cardline-reconcile", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def run_once(self) -> None:
        """One run; never raises."""
        from cardline.reconcile import scheduled_run

        try:
            scheduled_run(self._stack.paypal, self._stack.ledger, self._stack.sink, origin="serve")
        except Exception as error:  # noqa: BLE001 - logged; the next run is tried
            # A cardline error's words are its own (never card data); any other's, not.
            words = error.detail if isinstance(error, CardlineError) else ""
            log.error("scheduled reconcile failed: %s %s", type(error).__name__, words)

    def _run(self) -> None:
        while not self._stopping.wait(self._every):
            self.run_once()


class NoPayPalRecord(Exception):
    """There is no PayPal record to compare the data directory with; the message says why."""


@contextmanager
def paypal_record(
    data_dir: Path, environ: Mapping[str, str] = os.environ
) -> Iterator[tuple[PayPalClient, str]]:
    """A client reading PayPal's record of the data directory's payments, and its mode.

    PayPal itself when credentials are set, as `cardline serve` would use; else the
    embedded emulator's state file, which holds what that emulator charged (read while a
    `cardline serve` on the same directory runs: reading writes nothing to it). Without
    that file there is no record, and an empty one would make every payment look
    missing at PayPal: :class:`NoPayPalRecord`.
    """
    config = PayPalConfig.from_env(environ)
    emulator = None
    if config is None:
        from cardline.sandbox.state import StateFile

        state = data_dir / EMULATOR_FILE
        if not state.is_file():
            raise NoPayPalRecord(
                f"no PayPal credentials (PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET) and no "
                f"embedded emulator's record in {data_dir}: set the credentials `cardline "
                "serve` used"
            )
        checked = StateFile(state)
        checked.close()
        if checked.replaced is not None:
            raise NoPayPalRecord(
                f"the embedded emulator's record {state} was damaged (kept as "
                f"{checked.replaced.name}): there is nothing to compare the ledger with"
            )
        emulator, config = _start_emulator(data_dir, environ)
    paypal = PayPalClient(config)
    try:
        yield paypal, _mode(config, emulator)
    finally:
        paypal.close()
        if emulator is not None:
            emulator.stop()


@dataclass
class BackgroundServer:
    """A waitress server on a background thread (the demo and the tests use it)."""

    url: str
    stop: Callable[[], None]


def serve_in_background(app: App, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
    from cardline.http.waitress_server import make_server, port_of

    # The public host's settings; a short loop timeout lets stop() return promptly.
    server = make_server(app, host, port, asyncore_loop_timeout=0.05)
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:
            # Closing the listening socket wakes the loop with EBADF: that is the stop.
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, name="cardline-server", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        # The workers first: one still answering pulls the loop's trigger, which close() shuts.
        server.task_dispatcher.shutdown()
        server.close()
        thread.join(timeout=5)
        app.flush()  # the audit events held back (aggregated failed authentication)

    return BackgroundServer(f"http://{host}:{port_of(server)}", stop)
