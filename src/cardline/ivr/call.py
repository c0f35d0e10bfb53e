"""`cardline call`: one simulated IVR call against a running stack, or a stack of its own."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from cardline.ivr.flow import FlowError, default_flow_path
from cardline.ivr.scenarios import SCENARIOS, Scenario, load_script
from cardline.ivr.simulator import CallResult, SimulationError, run_call


class CallError(Exception):
    """The call could not be set up; the message says what to change."""


def scenario_named(name: str | None, script: Path | None) -> Scenario:
    if script is not None:
        try:
            return load_script(script)
        except (OSError, ValueError, TypeError) as error:
            raise CallError(f"cannot read the scenario script {script}: {error}") from None
    if name not in SCENARIOS:
        raise CallError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return SCENARIOS[name]


def call(
    scenario: Scenario,
    *,
    url: str | None,
    key: str | None,
    emulator_url: str | None,
    data_dir: Path | None,
    flow_path: Path | None,
    agent_assisted: bool,
    say: Callable[[str], None] = print,
) -> CallResult:
    """Run the call; without ``url``, against a local stack started for it (in ``data_dir``,
    else a temporary directory removed afterwards)."""
    if scenario.agent_only and not agent_assisted:
        raise CallError(f"the scenario {scenario.name} is an agent-assisted call: add --agent")
    flow = flow_path or default_flow_path()
    if not flow.exists():
        raise CallError(f"no contact flow at {flow}: pass --flow infra/connect/payment-flow.json")
    try:
        if url is not None:
            if not key:
                raise CallError("--key (an operator key of the stack at --url) is required")
            return run_call(
                scenario,
                url=url,
                key=key,
                flow_path=flow,
                emulator_url=emulator_url,
                agent_assisted=agent_assisted,
                say=say,
            )
        return _own_stack(scenario, data_dir, flow, agent_assisted, say)
    except (SimulationError, FlowError) as error:
        raise CallError(str(error)) from None


def _own_stack(
    scenario: Scenario,
    data_dir: Path | None,
    flow: Path,
    agent_assisted: bool,
    say: Callable[[str], None],
) -> CallResult:
    import secrets

    from cardline.cde import roles
    from cardline.local import build_local, serve_in_background

    temporary = data_dir is None
    directory = data_dir or Path(tempfile.mkdtemp(prefix="cardline-call-"))
    stack = build_local(directory, environ={})  # always the embedded emulator
    try:
        # A supervisor: the simulator reads back the payment the IVR took, as the agent
        # who checks the ledger would (an agent may read only the payments they took).
        _operator, key = stack.operators.add(
            f"ivr-simulator-{secrets.token_hex(3)}", role=roles.SUPERVISOR
        )
        server = serve_in_background(stack.app)
        try:
            assert stack.emulator is not None
            return run_call(
                scenario,
                url=server.url,
                key=key,
                flow_path=flow,
                emulator_url=stack.emulator.base_url,
                agent_assisted=agent_assisted,
                say=say,
            )
        finally:
            server.stop()
    finally:
        stack.close()
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
