"""The Lambda rig of `make bench` (benchmarks/lambda_rig.py): zips unpacked read-only and run
under AWS's runtime interface client with python3.13 as an unprivileged user, talking to a
local Runtime API stand-in. No timing here: what the function process sees, and that the
floor and charge zips answer their events as Lambda would have them answered.

Needs python3.13 (PYTHON_RUNTIME, on PATH or pyenv's): without it these tests fail and say
how to supply it; awslambdaric is installed from its pinned requirements file."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from benchmarks import lambda_cold
from benchmarks.lambda_rig import FLOOR_HANDLER, RUNTIME_VERSION, scratch_root

from tests.aws_support import load_template


@pytest.fixture(scope="module")
def rig() -> Iterator[lambda_cold.Rig]:
    with scratch_root() as root, lambda_cold.rig(root, everything=False) as opened:
        yield opened


def test_the_function_runs_unprivileged_isolated_and_cannot_write_its_code(
    rig: lambda_cold.Rig,
) -> None:
    run = rig.probe()
    seen = run.answer()
    code, stdlib = rig.code["probe"], rig.runtime.lang / "lib"
    assert seen["sys_path"] == [
        str(code),
        str(rig.runtime.client),
        str(stdlib / "python313.zip"),
        str(stdlib / f"python{RUNTIME_VERSION}"),
        str(stdlib / f"python{RUNTIME_VERSION}" / "lib-dynload"),
    ]
    assert seen["flags"] == {"isolated": 1, "no_site": 1}
    assert seen["site_imported"] is False
    assert (seen["uid"], seen["gid"], seen["groups"]) == (65534, 65534, [])
    assert seen["write_into_code"].startswith("PermissionError")
    assert not (code / "written-by-the-function").exists()
    assert (seen["cwd"], seen["home"], seen["tmpdir"]) == (str(code), "/tmp", "/tmp")
    assert seen["version"] == [3, 13]
    assert seen["awslambdaric"] == str(rig.runtime.client / "awslambdaric" / "__init__.py")
    assert seen["aws_request_id"] == run.invocation.request_id  # Lambda's header, passed on
    assert sorted(path.name for path in rig.runtime.client.iterdir() if path.suffix != ".so") == [
        "__pycache__",
        "awslambdaric",
        "awslambdaric-4.2.2.dist-info",
        "simplejson",
        "simplejson-4.3.0.dist-info",
        "snapshot_restore_py-1.0.0.dist-info",
        "snapshot_restore_py.py",
    ]


def test_the_floor_zip_answers_its_constant(rig: lambda_cold.Rig) -> None:
    run = rig.floor()
    assert run.invocation.kind == "response"
    assert run.answer() == {"statusCode": 200, "body": '{"status":"ok"}'}
    assert run.seconds > 0


def test_the_charge_zip_takes_the_sample_payment_under_awslambdaric(
    rig: lambda_cold.Rig,
) -> None:
    template = load_template()["Resources"]["ChargeFunction"]["Properties"]
    assert rig.functions["charge"].handler == template["Handler"]
    run = rig.charge()
    payment_id = lambda_cold.check_charge(run)
    body = json.loads(run.answer()["body"])
    assert (body["id"], body["status"], body["brand"], body["last4"]) == (
        payment_id,
        "approved",
        "VISA",
        "1881",
    )
    (audit_line,) = lambda_cold.audit_lines(run.output)
    assert json.loads(audit_line)["resource"] == payment_id
    assert "4012888888881881" not in run.output
    assert rig.stand_ins.extension.requests  # the secret came through the extension


def test_a_warm_charge_process_answers_one_event_after_another(rig: lambda_cold.Rig) -> None:
    from benchmarks.lambda_warm import WarmFunction

    charge = rig.functions["charge"]
    function = WarmFunction(
        rig.runtime, rig.code["charge"], charge.handler, rig.stand_ins.variables(charge)
    )
    try:
        invocations = [function.invoke(lambda_cold.charge_event()) for _ in range(3)]
        still_running = function.running
        printed = function.output()
    finally:
        function.close()
    bodies = [json.loads(invocation.answer()["body"]) for invocation in invocations]
    assert [body["status"] for body in bodies] == ["approved"] * 3
    assert len({body["id"] for body in bodies}) == 3  # three payments, not one replayed
    assert len({invocation.request_id for invocation in invocations}) == 3
    assert still_running  # one process served all three: Lambda's warm instance
    assert len(lambda_cold.audit_lines(printed)) == 3
    assert "4012888888881881" not in printed


def test_a_handler_that_cannot_be_found_is_reported_to_init_error(rig: lambda_cold.Rig) -> None:
    run = rig.run("floor", FLOOR_HANDLER.replace(".handler", ".missing"), {})
    assert run.invocation.kind == "init_error"
    assert json.loads(run.invocation.body)["errorType"] == "Runtime.HandlerNotFound"


def test_a_handler_that_raises_is_reported_to_the_invocation_error(
    rig: lambda_cold.Rig,
) -> None:
    run = rig.run("floor", FLOOR_HANDLER.replace(".handler", ".__doc__"), {})  # a str: not callable
    assert run.invocation.kind == "error"
    assert json.loads(run.invocation.body)["errorType"] == "TypeError"


def test_every_variable_the_template_gives_a_function_has_a_stand_in() -> None:
    from benchmarks.lambda_cold import STAND_IN_VARIABLES, template_functions

    functions = template_functions()
    assert {"charge", "backoffice", "projector", "ivr"} <= set(functions)
    for function in functions.values():
        literals = {name for name, _value in function.literals}
        assert set(function.variables) - literals <= STAND_IN_VARIABLES, function.name
