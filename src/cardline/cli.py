"""The `cardline` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cardline import __version__
from cardline.cde import audit, roles
from cardline.cde.errors import CardlineError

if TYPE_CHECKING:
    from cardline.ivr.keys import KeyPair

DEFAULT_PORT = 8080
SANDBOX_PORT = 8888
LOOPBACK = "127.0.0.1"
RECONCILE_WINDOW = timedelta(days=7)


class _Refused(Exception):
    """A command cannot run as asked; the message says what to do instead."""


def _data_dir(value: str | None) -> Path:
    from cardline.local import default_data_dir

    return Path(value) if value else default_data_dir()


def _existing_data_dir(value: str | None) -> Path:
    """The data directory a command other than `serve` works on: it must exist already, so
    that a mistyped or defaulted directory is reported instead of silently created."""
    data_dir = _data_dir(value)
    if not data_dir.is_dir():
        raise _Refused(
            f"no data directory at {data_dir}: `cardline serve` (what make run runs) makes "
            "it; give --data-dir DIR or CARDLINE_DATA_DIR for another"
        )
    return data_dir


def _own_cardline() -> str | None:
    """How to put this ``cardline`` on PATH, when it runs from a virtualenv that is not on it."""
    import os
    import shutil

    if sys.prefix == sys.base_prefix:
        return None
    here = Path(sys.prefix) / "bin" / "cardline"
    found = shutil.which("cardline")
    if found is not None and Path(found).resolve() == here.resolve():
        return None
    prefix = Path(sys.prefix).resolve()
    if Path(".venv").resolve() == prefix:
        shown = ".venv"  # make run's, seen from the checkout
    else:
        relative = os.path.relpath(prefix)
        shown = str(prefix) if relative.startswith("..") else relative
    return f". {shown}/bin/activate"


def _interval(text: str) -> float:
    """``30s``, ``15m``, ``1h`` as seconds (10 s at least)."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) * units[unit] < 10:
        raise argparse.ArgumentTypeError("an interval such as 30s, 15m or 1h (10s at least)")
    return float(int(number) * units[unit])


def _days(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError("a whole number of days, 0 or more")
    return int(text)


def _serve(args: argparse.Namespace) -> int:
    from cardline.http.waitress_server import make_server, port_of, serve_until_stopped
    from cardline.http.webhook_route import PATH as WEBHOOK_PATH
    from cardline.local import build_local

    data_dir = _data_dir(args.data_dir)
    stack = build_local(data_dir)
    try:
        server = make_server(stack.app, args.host, args.port)
    except OSError as error:
        stack.close()
        print(
            f"cardline: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr
        )
        return 1
    url = f"http://{args.host}:{port_of(server)}"
    print(f"cardline {__version__} listening on {url}", flush=True)
    print(f"  data directory: {data_dir}", flush=True)
    if stack.emulator is not None:
        emulator = stack.emulator.base_url
        print(
            f"  PayPal: emulator at {emulator} (captures: {emulator}/_emulator/stats)", flush=True
        )
    else:
        print(f"  PayPal: {stack.paypal_mode}", flush=True)
    if stack.subscribe_webhooks(url):
        print(f"  PayPal webhooks: {url}{WEBHOOK_PATH}", flush=True)
        if stack.emulator is not None:
            print(
                f"  send one: cardline sandbox fire --emulator {stack.emulator.base_url} "
                "EVENT --capture ID (--help lists the events)",
                flush=True,
            )
    else:
        print("  PayPal webhooks: off (set PAYPAL_WEBHOOK_ID to receive them)", flush=True)
    known = stack.operators.list()
    if not known:
        # The first operator is whoever set the service up: the role that may do anything.
        _operator, key = stack.operators.add("agent-1", role=roles.ADMIN, origin="serve")
        print("  first operator 'agent-1' (admin) created; its key (shown once):", flush=True)
        print(f"  {key}", flush=True)
    else:
        active = [o.name for o in known if not o.revoked_at]
        where = f" --data-dir {args.data_dir}" if args.data_dir else ""
        add = f"cardline operators add NAME{where}"
        print(
            f"  operators: {', '.join(active) or 'none active'} (a key is shown once, when "
            f"made); a new key: {add}",
            flush=True,
        )
    activate = _own_cardline()
    if activate is not None:
        print(f"  `cardline` commands, in another shell: {activate} first", flush=True)
    print("  try: curl -s " + url + "/health", flush=True)
    schedule = None
    if args.reconcile_every is not None:
        from cardline.local import ReconcileSchedule

        schedule = ReconcileSchedule(stack, args.reconcile_every)
        schedule.start()
        print(f"  reconcile: every {args.reconcile_every:g}s, audited", flush=True)
    try:
        serve_until_stopped(server, stack.app)
    finally:
        if schedule is not None:
            schedule.stop()
        stack.close()
    return 0


def _operators(args: argparse.Namespace) -> int:
    from cardline.local import OPERATORS_FILE, open_store
    from cardline.operators import OperatorStore

    data_dir = _existing_data_dir(args.data_dir)
    if args.action == "list":  # reads operators.json only: a listing writes nothing
        for operator in OperatorStore(data_dir / OPERATORS_FILE, audit.StreamSink()).list():
            state = f"revoked {operator.revoked_at}" if operator.revoked_at else "active"
            print(
                f"{operator.id}\t{operator.name}\t{operator.role}\t{operator.created_at}\t{state}"
            )
        return 0
    ledger, _sink, operators = open_store(data_dir)
    try:
        if args.action == "add":
            _operator, key = operators.add(args.name, role=args.role or roles.DEFAULT_ROLE)
            print(key)
        elif args.action == "role":
            operator = operators.set_role(args.name, args.role)
            print(f"{operator.name} ({operator.id}) is now {operator.role}", file=sys.stderr)
        elif args.action == "revoke":
            operator = operators.revoke(args.name)
            print(f"revoked {operator.name} ({operator.id})", file=sys.stderr)
    finally:
        ledger.close()
    return 0


def _ledger(args: argparse.Namespace) -> int:
    from cardline.ledger.projector import rebuild
    from cardline.ledger.sqlite import SqliteLedger
    from cardline.local import AUDIT_FILE, LEDGER_FILE

    data_dir = _existing_data_dir(args.data_dir)
    path = data_dir / LEDGER_FILE
    for suffix in ("", "-wal", "-shm"):
        old = Path(str(path) + suffix)
        if old.is_file() or old.is_symlink():  # anything else is moved aside on opening
            old.unlink()
    ledger = SqliteLedger(path)
    torn: list[int] = []
    try:
        applied, skipped = rebuild(ledger, audit.read_events(data_dir / AUDIT_FILE, torn=torn))
    finally:
        ledger.close()
    print(
        f"ledger rebuilt from {data_dir / AUDIT_FILE}: {applied} events applied, {skipped} skipped"
        + (f"; {_count(len(torn), 'torn line')} skipped (see the warnings)" if torn else "")
    )
    return 0


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _since(value: str) -> datetime:
    """--since: an ISO date or date-time (UTC unless it says otherwise), or hours like 6h."""
    text = value.strip()
    if text.endswith("h") and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(hours=int(text[:-1]))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("use an ISO date/date-time or hours such as 6h") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reconcile(args: argparse.Namespace) -> int:
    from cardline.local import NoPayPalRecord, open_store, paypal_record
    from cardline.reconcile import Reconciler

    data_dir = _existing_data_dir(args.data_dir)
    since = args.since or datetime.now(UTC) - RECONCILE_WINDOW
    try:
        with paypal_record(data_dir) as (paypal, mode):
            ledger, sink, _operators = open_store(data_dir)
            try:
                reconciler = Reconciler(paypal, ledger, sink, dry_run=args.dry_run)
                differences = reconciler.run(since)
            finally:
                ledger.close()
    except NoPayPalRecord as error:
        print(f"cardline reconcile: {error}", file=sys.stderr)
        return 2
    for difference in differences:
        print(difference.line())
    repaired = sum(1 for d in differences if d.repaired)
    if not args.dry_run:
        outcome = f"{repaired} repaired"
    else:
        outcome = "dry run: nothing changed"
        if differences:
            outcome += " (run it without --dry-run to repair)"
    print(
        f"reconcile against PayPal ({mode}) since {since.isoformat(timespec='seconds')}: "
        f"{_count(reconciler.checked, 'payment')} checked, "
        f"{_count(len(differences), 'difference')}; {outcome}",
        file=sys.stderr,
    )
    return 0


def _twilio_call(args: argparse.Namespace) -> int:
    from cardline.twilio_sim import SCENARIOS as TWILIO_SCENARIOS
    from cardline.twilio_sim import TwilioCallError, twilio_call

    if args.script is not None or args.agent:
        print(
            "cardline call: --twilio takes --scenario only (not --script or --agent)",
            file=sys.stderr,
        )
        return 2
    try:
        result = twilio_call(
            args.scenario,
            url=args.url,
            username=args.username or os.environ.get("TWILIO_CONNECTOR_USERNAME"),
            password=args.password or os.environ.get("TWILIO_CONNECTOR_PASSWORD"),
            data_dir=Path(args.data_dir) if args.data_dir else None,
        )
    except TwilioCallError as error:
        print(f"cardline call: {error}", file=sys.stderr)
        return 2
    return 0 if result.status == TWILIO_SCENARIOS[args.scenario].expect else 1


def _call(args: argparse.Namespace) -> int:
    from cardline.ivr.call import CallError, call, scenario_named

    if args.twilio:
        return _twilio_call(args)
    try:
        scenario = scenario_named(args.scenario, args.script)
        result = call(
            scenario,
            url=args.url,
            key=args.key,
            emulator_url=args.emulator,
            data_dir=Path(args.data_dir) if args.data_dir else None,
            flow_path=args.flow,
            agent_assisted=args.agent,
        )
    except CallError as error:
        print(f"cardline call: {error}", file=sys.stderr)
        return 2
    return 0 if result.status == scenario.expect else 1


def _ivr_keys(args: argparse.Namespace) -> int:
    from cardline.ivr.key_check import check_key_pairs, exit_code, render_json, render_table
    from cardline.ivr.keys import (
        KeyConfigError,
        KeyPair,
        add_local_key_pair,
        read_local_key_pairs,
        remove_local_key_pair,
    )

    if args.action != "check" and (args.secret_id or args.certificate):
        raise _Refused(
            f"{args.action} changes the local key file only: no --secret-id or "
            "--certificate (on AWS, follow docs/ivr.md's rotation steps)"
        )
    if (args.action == "remove") != bool(args.key_id):
        raise _Refused("KEY_ID goes with remove, and remove only")
    if args.secret_id and args.certificate:
        raise _Refused("--secret-id or --certificate, not both")
    try:
        if args.action == "add":
            pair = add_local_key_pair(_existing_data_dir(args.data_dir))
            print(pair.key_id)
            print(
                "added first (the flow's key); restart `cardline serve` to use it", file=sys.stderr
            )
            return 0
        if args.action == "remove":
            left = remove_local_key_pair(_existing_data_dir(args.data_dir), args.key_id)
            print(
                f"removed {args.key_id}; {', '.join(p.key_id for p in left)} left", file=sys.stderr
            )
            return 0
        if args.certificate:
            pairs = [KeyPair(str(path), b"", path.read_bytes()) for path in args.certificate]
            source = "the certificate file" + ("s" if len(pairs) > 1 else "")
        elif args.secret_id:
            pairs = _secret_key_pairs(args.secret_id)
            source = f"secret {args.secret_id}"
        else:
            data_dir = _existing_data_dir(args.data_dir)
            pairs = read_local_key_pairs(data_dir)
            source = str(data_dir)
    except (KeyConfigError, OSError) as error:
        raise _Refused(str(error)) from None
    statuses = check_key_pairs(pairs, warn_days=args.warn_days)
    render = render_json if args.json else render_table
    sys.stdout.write(render(statuses, source=source, warn_days=args.warn_days))
    return exit_code(statuses)


def _secret_key_pairs(secret_id: str) -> list[KeyPair]:
    """The secret's entries, or the AWS error's code and message (about the call, never the
    value)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from cardline.ivr.keys import key_pairs_from_secrets_manager

    try:
        return key_pairs_from_secrets_manager(secret_id)
    except ClientError as error:
        raise _Refused(f"cannot read secret {secret_id}: {error}") from None
    except BotoCoreError as error:
        raise _Refused(f"cannot reach Secrets Manager: {error}") from None


def _sandbox(args: argparse.Namespace) -> int:
    from cardline.sandbox import serve_forever

    if args.sandbox_action == "fire":
        return _fire(args)
    try:
        serve_forever(args.host, args.port, tuple(args.webhook))
    except OSError as error:
        print(
            f"cardline sandbox: cannot listen on {args.host}:{args.port}: {error.strerror}",
            file=sys.stderr,
        )
        return 1
    return 0


def _fire(args: argparse.Namespace) -> int:
    """`cardline sandbox fire EVENT`: POST /_emulator/webhooks/fire on a running emulator."""
    import json
    import urllib.error
    import urllib.request

    about = {
        "capture_id": args.capture,
        "authorization_id": args.authorization,
        "dispute_id": args.dispute,
        "value": args.amount,
        "reason": args.reason,
        "outcome": args.outcome,
    }
    body = {"event_type": args.event, **{k: v for k, v in about.items() if v is not None}}
    request = urllib.request.Request(  # noqa: S310 - _emulator_url let only http(s) through
        args.emulator.rstrip("/") + "/_emulator/webhooks/fire",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            event = json.load(answer)
    except urllib.error.HTTPError as error:
        try:
            reason = json.load(error).get("error", error.reason)
        except ValueError:
            reason = error.reason
        print(f"cardline sandbox fire: {reason}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"cardline sandbox fire: no emulator at {args.emulator} ({error})", file=sys.stderr)
        return 1
    print(json.dumps(event, indent=2))
    return 0


def _emulator_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError("give the emulator's URL, http://HOST:PORT")
    return value


def _demo(args: argparse.Namespace) -> int:
    from cardline.demo import DemoError, run_demo

    try:
        return run_demo(url=args.url, key=args.key)
    except DemoError as error:
        print(f"cardline demo: {error}", file=sys.stderr)
        return error.exit_code


def _console_verify(args: argparse.Namespace) -> int:
    from cardline.http.console_integrity import verify

    try:
        problems = verify(args.url)
    except (OSError, ValueError) as error:
        print(f"cardline console verify: {error}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{args.url}: the page, its CSP and every script match the inventory")
    return 1 if problems else 0


def _compliance(args: argparse.Namespace) -> int:
    from cardline.compliance.report import GraphvizMissing, build, default_templates

    try:
        templates = [Path(t) for t in args.template] or default_templates()
        inventory = Path(args.inventory) if args.inventory else None
        report = build(templates, Path(args.out), inventory=inventory)
    except (FileNotFoundError, ValueError) as error:
        print(f"cardline compliance: {error}", file=sys.stderr)
        return 2
    except GraphvizMissing as error:
        print(f"cardline compliance: {error}", file=sys.stderr)
        return 1
    for path in report.files:
        print(path)
    return 0


def _export(args: argparse.Namespace) -> int:
    from cardline.export import write_csv
    from cardline.ledger import time_bound
    from cardline.local import open_store

    data_dir = _existing_data_dir(args.data_dir)
    since, until = time_bound(args.since, "--since"), time_bound(args.until, "--until")
    ledger, _sink, _operators = open_store(data_dir)
    try:
        if args.out is None:
            write_csv(sys.stdout, ledger, since=since, until=until)
            return 0
        # Card-free, but a list of customers' payments: readable by its owner only.
        try:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as error:
            print(f"cardline export: cannot write {args.out}: {error.strerror}", file=sys.stderr)
            return 1
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            written = write_csv(out, ledger, since=since, until=until)
    finally:
        ledger.close()
    print(f"{written} payments written to {args.out}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    from cardline.ivr.scenarios import SCENARIOS
    from cardline.twilio_sim import SCENARIOS as TWILIO_SCENARIOS

    main = argparse.ArgumentParser(
        prog="cardline",
        description="Telephone card payments through PayPal. "
        "`cardline COMMAND --help` lists a command's options, choices and defaults.",
    )
    main.add_argument("--version", action="version", version=f"cardline {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = (
        "state directory (default: $CARDLINE_DATA_DIR, else $XDG_DATA_HOME/cardline, else "
        "~/.local/share/cardline: the one `cardline serve` and make run use)"
    )

    def listening(command: argparse.ArgumentParser, port: int) -> None:
        command.add_argument(
            "--host", default=LOOPBACK, help="address to listen on (default: %(default)s)"
        )
        command.add_argument(
            "--port", type=int, default=port, help="port; 0 picks a free one (default: %(default)s)"
        )

    serve = commands.add_parser("serve", help="run every route locally with the PayPal emulator")
    listening(serve, DEFAULT_PORT)
    serve.add_argument("--data-dir", help=data_help + "; made if missing")
    serve.add_argument(
        "--reconcile-every",
        type=_interval,
        metavar="INTERVAL",
        help="reconcile with PayPal in the background every INTERVAL (30s, 15m, 1h; off by "
        "default); each run is audited",
    )
    serve.set_defaults(run=_serve)

    operators = commands.add_parser("operators", help="manage operator (agent) API keys")
    operators.add_argument(
        "action",
        choices=["add", "list", "revoke", "role"],
        help="add NAME [--role ROLE] (prints its key alone on stdout), list, revoke NAME, "
        "or role NAME --role ROLE (gives an operator another role)",
    )
    operators.add_argument("name", nargs="?", help="operator name (add, revoke, role)")
    operators.add_argument(
        "--role",
        choices=roles.ROLES,
        help="agent: takes payments, sees their own; supervisor: also refunds and sees and "
        "exports every payment; admin: also manages operators "
        f"(default for add: {roles.DEFAULT_ROLE})",
    )
    operators.add_argument("--data-dir", help=data_help)
    operators.set_defaults(run=_operators)

    ledger = commands.add_parser("ledger", help="ledger maintenance")
    ledger.add_argument(
        "action", choices=["rebuild"], help="rebuild: recreate the ledger from the audit file"
    )
    ledger.add_argument("--data-dir", help=data_help)
    ledger.set_defaults(run=_ledger)

    reconcile = commands.add_parser(
        "reconcile",
        help="compare the ledger with PayPal and repair it from PayPal's record",
        description="Compare the ledger's payments and refunds with PayPal's record and "
        "repair the ledger from it. PayPal is the PAYPAL_* variables' PayPal when they "
        "are set, else the embedded emulator's record in the data directory (what "
        "`cardline serve` charged there).",
    )
    reconcile.add_argument(
        "--since",
        type=_since,
        help="start of the period: an ISO date or date-time (UTC unless it says) or hours "
        "such as 6h (default: 7 days ago)",
    )
    reconcile.add_argument(
        "--dry-run", action="store_true", help="report the differences, change nothing"
    )
    reconcile.add_argument("--data-dir", help=data_help)
    reconcile.set_defaults(run=_reconcile)

    export = commands.add_parser(
        "export",
        help="the ledger's payments as CSV (what GET /v1/payments/export answers)",
        description="Write the payments of the data directory's ledger as CSV, newest first: "
        "card as brand and last 4, outcome, refunds. Cells a spreadsheet would run as a "
        "formula start with a '.",
    )
    export.add_argument(
        "--since", help="from this ISO date or date-time, UTC unless it says (default: the start)"
    )
    export.add_argument("--until", help="before this ISO date or date-time (default: now)")
    export.add_argument("--out", help="write to this file (mode 0600) instead of stdout")
    export.add_argument("--data-dir", help=data_help)
    export.set_defaults(run=_export)

    sandbox = commands.add_parser(
        "sandbox",
        help="run the PayPal sandbox emulator on its own, or fire a webhook event at one",
        description="Run the PayPal sandbox emulator; `cardline sandbox fire --help` lists "
        "the webhook events a running one can be made to send.",
    )
    listening(sandbox, SANDBOX_PORT)
    sandbox.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="subscribe URL to every webhook event at start (repeatable); prints its webhook id",
    )
    sandbox_actions = sandbox.add_subparsers(
        dest="sandbox_action",
        metavar="ACTION",
        help="fire: make a change at a running emulator and send its webhook event "
        "(without an action: run the emulator)",
    )
    _fire_parser(sandbox_actions)
    sandbox.set_defaults(run=_sandbox)

    call = commands.add_parser(
        "call",
        help="simulate an IVR card payment call through the Amazon Connect flow "
        "(or Twilio's Generic Pay Connector: --twilio)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios:\n"
        + "\n".join(f"  {name:<18} {s.description}" for name, s in SCENARIOS.items())
        + "\n\nscenarios with --twilio:\n"
        + "\n".join(f"  {name:<18} {s.description}" for name, s in TWILIO_SCENARIOS.items()),
    )
    which = call.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--scenario",
        choices=sorted({*SCENARIOS, *TWILIO_SCENARIOS}),
        metavar="NAME",
        help="one of the scenarios below",
    )
    which.add_argument("--script", type=Path, help="a scenario as a JSON file")
    call.add_argument("--url", help="a running `cardline serve` (default: start one of its own)")
    call.add_argument("--key", help="operator key for --url")
    call.add_argument("--emulator", help="the PayPal emulator's URL that `cardline serve` printed")
    call.add_argument("--agent", action="store_true", help="agent-assisted: start a session first")
    call.add_argument(
        "--flow", type=Path, help="the contact flow JSON (default: infra/connect's payment flow)"
    )
    call.add_argument("--data-dir", help="state directory of its own stack (default: temporary)")
    call.add_argument(
        "--twilio",
        action="store_true",
        help="play Twilio's Generic Pay Connector: POST /v1/twilio/pay with basic auth",
    )
    call.add_argument(
        "--username",
        help="with --twilio and --url: the connector's username (or TWILIO_CONNECTOR_USERNAME)",
    )
    call.add_argument(
        "--password",
        help="with --twilio and --url: the connector's password (or TWILIO_CONNECTOR_PASSWORD)",
    )
    call.set_defaults(run=_call)

    _ivr_parser(commands, data_help)

    demo = commands.add_parser("demo", help="drive a scripted call-centre shift over HTTP")
    demo.add_argument(
        "--url", help="a running cardline, http(s)://HOST:PORT (default: start one of its own)"
    )
    demo.add_argument("--key", help="operator key for --url (what `cardline serve` printed)")
    demo.set_defaults(run=_demo)

    compliance = commands.add_parser(
        "compliance", help="PCI DSS evidence generated from the infrastructure templates"
    )
    compliance.add_argument(
        "action", choices=["report"], help="report: diagrams, scope and matrix into --out"
    )
    compliance.add_argument("--out", required=True, help="directory to write the report into")
    compliance.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="PATH",
        help="a CloudFormation/SAM template (repeatable; default: infra/*/template.yaml)",
    )
    compliance.add_argument(
        "--inventory",
        metavar="PATH",
        help="what the templates do not hold (default: the inventory.yaml beside them, "
        "infra/inventory.yaml)",
    )
    compliance.set_defaults(run=_compliance)

    # harden: PCI DSS 11.6.1, the served console checked against its inventory.
    console = commands.add_parser(
        "console", help="check a served agent console against its script inventory"
    )
    console.add_argument(
        "action",
        choices=["verify"],
        help="verify: the page, its CSP and every script as served at --url match "
        "src/cardline/console/inventory.json (exit 1 naming each difference)",
    )
    console.add_argument("--url", required=True, help="the console's URL (the ConsoleUrl output)")
    console.set_defaults(run=_console_verify)
    return main


def _ivr_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], data_help: str
) -> None:
    from cardline.ivr.key_check import DEFAULT_WARN_DAYS

    ivr = commands.add_parser("ivr", help="the IVR's Amazon Connect encryption keys")
    things = ivr.add_subparsers(
        dest="ivr_thing",
        required=True,
        metavar="THING",
        help="keys: check, add or remove encryption key pairs",
    )
    keys = things.add_parser(
        "keys",
        help="check, add or remove encryption key pairs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check each IVR encryption key: its certificate's subject, expiry and\n"
        "days left, and whether the private key is the certificate's (nothing of a\n"
        "private key is printed). Reads the data directory's ivr-keys.json, the Secrets\n"
        "Manager secret --secret-id (boto3, the usual AWS credentials), or certificates\n"
        "alone (--certificate). add and remove change the local file the way\n"
        "docs/ivr.md's rotation changes the secret.",
        epilog="exit codes of check:\n"
        "  0  every key valid for more than --warn-days, private key matching\n"
        "  1  the keys could not be read (no file, secret unreadable, malformed)\n"
        "  3  a certificate expires within --warn-days, or an entry has no certificate\n"
        "  4  a certificate has expired (or is not yet valid), does not match its private\n"
        "     key, or a certificate or private key does not parse",
    )
    keys.add_argument(
        "action",
        choices=["check", "add", "remove"],
        help="check: report and exit by the codes below; add: a new pair, first (the "
        "flow's key), the current kept second; remove KEY_ID: drop one of two",
    )
    keys.add_argument("key_id", nargs="?", metavar="KEY_ID", help="the key remove drops")
    keys.add_argument(
        "--secret-id", help="check the keys in this Secrets Manager secret (IvrKeysSecretArn)"
    )
    keys.add_argument(
        "--certificate",
        type=Path,
        action="append",
        metavar="FILE",
        help="check this PEM certificate alone (repeatable): expiry only, no key to match",
    )
    keys.add_argument(
        "--warn-days",
        type=_days,
        default=DEFAULT_WARN_DAYS,
        metavar="DAYS",
        help="warn (exit 3) when a certificate ends within DAYS (default: %(default)s)",
    )
    keys.add_argument("--json", action="store_true", help="print JSON instead of a table")
    keys.add_argument("--data-dir", help=data_help)
    keys.set_defaults(run=_ivr_keys)


def _fire_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from cardline.sandbox.lifecycles import DISPUTE_REASONS, FIRE_HELP, OUTCOMES

    fire = actions.add_parser(
        "fire",
        help="make a change at a running emulator and send its webhook event",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Make the change EVENT reports happen at a running emulator (the "
        "capture, authorization or dispute reads so afterwards) and send the event, signed, "
        "to every subscribed webhook. Prints the event.",
        epilog="events:\n"
        + "\n".join(f"  {name}\n      {what}" for name, what in FIRE_HELP.items()),
    )
    fire.add_argument(
        "event", choices=list(FIRE_HELP), metavar="EVENT", help="one of the events below"
    )
    fire.add_argument("--capture", metavar="ID", help="the capture (capture_id)")
    fire.add_argument("--authorization", metavar="ID", help="the authorization (authorization_id)")
    fire.add_argument("--dispute", metavar="ID", help="the dispute (dispute_id)")
    fire.add_argument(
        "--amount", metavar="VALUE", help="refund, reversal or dispute amount (value), e.g. 5.00"
    )
    fire.add_argument("--reason", choices=DISPUTE_REASONS, help="a new dispute's reason")
    fire.add_argument("--outcome", choices=OUTCOMES, help="a resolved dispute's outcome")
    fire.add_argument(
        "--emulator",
        type=_emulator_url,
        metavar="URL",
        default=f"http://{LOOPBACK}:{SANDBOX_PORT}",
        help="the running emulator (`cardline serve` prints its own; default: %(default)s)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    audit.configure_logging(logging.WARNING)
    if args.command == "operators" and args.action in {"add", "revoke", "role"} and not args.name:
        print("cardline operators: NAME is required", file=sys.stderr)
        return 2
    if args.command == "operators" and args.action == "role" and not args.role:
        print("cardline operators role: --role is required", file=sys.stderr)
        return 2
    if args.command == "demo" and bool(args.url) != bool(args.key):
        print("cardline demo: --url and --key go together", file=sys.stderr)
        return 2
    try:
        result: int = args.run(args)
    except CardlineError as error:
        print(f"cardline: {error.detail}", file=sys.stderr)
        return 1
    except _Refused as refused:
        print(f"cardline {args.command}: {refused}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C, however early: the shell's 128 + SIGINT, no traceback
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
