"""The `cardline` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cardline import __version__
from cardline.cde import audit
from cardline.cde.errors import CardlineError

DEFAULT_PORT = 8080


def _data_dir(value: str | None) -> Path:
    from cardline.local import default_data_dir

    return Path(value) if value else default_data_dir()


def _serve(args: argparse.Namespace) -> int:
    from cardline.http.waitress_server import make_server, port_of, serve_until_stopped
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
    if not stack.operators.list():
        _operator, key = stack.operators.add("agent-1", origin="serve")
        print("  first operator 'agent-1' created; its key (shown once):", flush=True)
        print(f"  {key}", flush=True)
    print("  try: curl -s " + url + "/health", flush=True)
    try:
        serve_until_stopped(server, stack.app)
    finally:
        stack.close()
    return 0


def _operators(args: argparse.Namespace) -> int:
    from cardline.local import open_store

    ledger, _sink, operators = open_store(_data_dir(args.data_dir))
    try:
        if args.action == "add":
            _operator, key = operators.add(args.name)
            print(key)
        elif args.action == "revoke":
            operator = operators.revoke(args.name)
            print(f"revoked {operator.name} ({operator.id})", file=sys.stderr)
        else:
            for operator in operators.list():
                state = f"revoked {operator.revoked_at}" if operator.revoked_at else "active"
                print(f"{operator.id}\t{operator.name}\t{operator.created_at}\t{state}")
    finally:
        ledger.close()
    return 0


def _ledger(args: argparse.Namespace) -> int:
    from cardline.ledger.projector import rebuild
    from cardline.ledger.sqlite import SqliteLedger
    from cardline.local import AUDIT_FILE, LEDGER_FILE

    data_dir = _data_dir(args.data_dir)
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
    import os

    from cardline.cde.paypal import PayPalClient, PayPalConfig
    from cardline.local import open_store
    from cardline.reconcile import Reconciler

    config = PayPalConfig.from_env(os.environ)
    if config is None:
        print(
            "cardline reconcile: set PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET (and "
            "PAYPAL_BASE_URL for an emulator: `cardline sandbox` uses sandbox-client / "
            "sandbox-secret)",
            file=sys.stderr,
        )
        return 2
    ledger, sink, _operators = open_store(_data_dir(args.data_dir))
    paypal = PayPalClient(config)
    try:
        since = args.since or datetime.now(UTC) - timedelta(days=7)
        differences = Reconciler(paypal, ledger, sink, dry_run=args.dry_run).run(since)
    finally:
        paypal.close()
        ledger.close()
    for difference in differences:
        print(difference.line())
    repaired = sum(1 for d in differences if d.repaired)
    print(
        f"reconciled since {since.isoformat(timespec='seconds')}: {len(differences)} "
        f"differences, {repaired} repaired",
        file=sys.stderr,
    )
    return 0


def _call(args: argparse.Namespace) -> int:
    from cardline.ivr.call import CallError, call, scenario_named

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


def _sandbox(args: argparse.Namespace) -> int:
    from cardline.sandbox import serve_forever

    serve_forever(args.host, args.port)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from cardline.demo import run_demo

    return run_demo(url=args.url, key=args.key)


def _compliance(args: argparse.Namespace) -> int:
    from cardline.compliance.report import build, default_templates

    try:
        templates = [Path(t) for t in args.template] or default_templates()
        report = build(templates, Path(args.out))
    except (FileNotFoundError, ValueError) as error:
        print(f"cardline compliance: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(
            f"cardline compliance: {error.name} is missing; pip install 'cardline[compliance]' "
            "(and Graphviz: apt-get install graphviz)",
            file=sys.stderr,
        )
        return 2
    for path in report.files:
        print(path)
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="cardline", description="Telephone card payments through PayPal."
    )
    main.add_argument("--version", action="version", version=f"cardline {__version__}")
    commands = main.add_subparsers(dest="command", required=True)
    data_help = "state directory (default: $CARDLINE_DATA_DIR or ~/.local/share/cardline)"

    serve = commands.add_parser("serve", help="run every route locally with the PayPal emulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--data-dir", help=data_help)
    serve.set_defaults(run=_serve)

    operators = commands.add_parser("operators", help="manage operator (agent) API keys")
    operators.add_argument("action", choices=["add", "list", "revoke"])
    operators.add_argument("name", nargs="?", help="operator name (add, revoke)")
    operators.add_argument("--data-dir", help=data_help)
    operators.set_defaults(run=_operators)

    ledger = commands.add_parser("ledger", help="ledger maintenance")
    ledger.add_argument("action", choices=["rebuild"])
    ledger.add_argument("--data-dir", help=data_help)
    ledger.set_defaults(run=_ledger)

    reconcile = commands.add_parser(
        "reconcile", help="compare the ledger with PayPal and repair it from PayPal's record"
    )
    reconcile.add_argument(
        "--since", type=_since, help="start of the period: ISO date/date-time or hours (6h)"
    )
    reconcile.add_argument("--dry-run", action="store_true", help="report, repair nothing")
    reconcile.add_argument("--data-dir", help=data_help)
    reconcile.set_defaults(run=_reconcile)

    sandbox = commands.add_parser("sandbox", help="run the PayPal sandbox emulator on its own")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8888)
    sandbox.set_defaults(run=_sandbox)

    call = commands.add_parser(
        "call", help="simulate an IVR card payment call through the Amazon Connect flow"
    )
    which = call.add_mutually_exclusive_group(required=True)
    which.add_argument("--scenario", help="good-card, mistyped-then-ok, expired-card, ...")
    which.add_argument("--script", type=Path, help="a scenario as a JSON file")
    call.add_argument("--url", help="a running `cardline serve` (default: start one of its own)")
    call.add_argument("--key", help="operator key for --url")
    call.add_argument("--emulator", help="the PayPal emulator's URL that `cardline serve` printed")
    call.add_argument("--agent", action="store_true", help="agent-assisted: start a session first")
    call.add_argument("--flow", type=Path, help="the contact flow JSON (default: infra/connect)")
    call.add_argument("--data-dir", help="state directory of its own stack (default: temporary)")
    call.set_defaults(run=_call)

    demo = commands.add_parser("demo", help="drive a scripted call-centre shift over HTTP")
    demo.add_argument("--url", help="a running cardline (default: start one of its own)")
    demo.add_argument("--key", help="operator key for --url")
    demo.set_defaults(run=_demo)

    compliance = commands.add_parser(
        "compliance", help="PCI DSS evidence generated from the infrastructure templates"
    )
    compliance.add_argument("action", choices=["report"])
    compliance.add_argument("--out", required=True, help="directory to write the report into")
    compliance.add_argument(
        "--template",
        action="append",
        default=[],
        metavar="PATH",
        help="a CloudFormation/SAM template (repeatable; default: infra/*/template.yaml)",
    )
    compliance.set_defaults(run=_compliance)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    audit.configure_logging(logging.WARNING)
    if args.command == "operators" and args.action in {"add", "revoke"} and not args.name:
        print("cardline operators: NAME is required", file=sys.stderr)
        return 2
    if args.command == "demo" and args.url and not args.key:
        print("cardline demo: --key is required with --url", file=sys.stderr)
        return 2
    try:
        result: int = args.run(args)
    except CardlineError as error:
        print(f"cardline: {error.detail}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
