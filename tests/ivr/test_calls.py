"""Simulated calls end to end: the committed flow, the local stack over HTTP, the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardline.ivr.flow import default_flow_path
from cardline.ivr.scenarios import SCENARIOS
from cardline.ivr.simulator import CallResult, run_call
from tests.artifacts import run
from tests.cards import TEST_PANS
from tests.conftest import Running
from tests.serve_process import CARDLINE, Served, clean_env

pytestmark = pytest.mark.slow

CAPTURES = {"approved": ["COMPLETED"], "declined": ["DECLINED"], "failed": [], "abandoned": []}


def call(running: Running, artifacts: Path, name: str, *, agent: bool = False) -> CallResult:
    emulator = running.stack.emulator
    assert emulator is not None
    lines: list[str] = []
    result = run_call(
        SCENARIOS[name],
        url=running.url,
        key=running.key,
        flow_path=default_flow_path(),
        emulator_url=emulator.base_url,
        agent_assisted=agent,
        say=lines.append,
    )
    folder = artifacts / "ivr-transcripts"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}{'-agent' if agent else ''}.txt").write_text("\n".join(lines) + "\n")
    text = "\n".join(lines)
    assert not any(pan in text for pan in TEST_PANS)
    return result


@pytest.mark.parametrize("name", sorted(n for n, s in SCENARIOS.items() if not s.agent_only))
def test_each_scenario_ends_as_expected_with_at_most_one_capture(
    running: Running, artifacts: Path, name: str
) -> None:
    emulator = running.stack.emulator
    assert emulator is not None
    moved_before = emulator.capture_count()
    result = call(running, artifacts, name)
    assert result.status == SCENARIOS[name].expect
    captures = emulator.captures_for(result.paypal_request_id)
    assert [c["status"] for c in captures] == CAPTURES[result.status]
    assert emulator.capture_count() == moved_before + (result.status == "approved")
    assert result.transferred == (result.status != "approved")
    assert any(line.startswith("paypal : ") for line in result.transcript)
    assert_recording_suspended_around_the_keys(result.transcript)


def assert_recording_suspended_around_the_keys(transcript: list[str]) -> None:
    """Recording is suspended before the first keyed field and resumed after the last."""
    keyed = [i for i, line in enumerate(transcript) if "caller : " in line]
    suspended = transcript.index("  [recording suspended]")
    resumed = transcript.index("  [recording resumed]")
    assert keyed
    assert suspended < keyed[0]
    assert keyed[-1] < resumed
    assert all(
        transcript[i].endswith(
            ("(recording suspended)", "(recording and agent recording suspended)")
        )
        for i in keyed
        if "keys nothing" not in transcript[i]
    )


def test_mistyped_number_is_asked_again_then_charged_once(
    running: Running, artifacts: Path
) -> None:
    result = call(running, artifacts, "mistyped-then-ok")
    prompts = [line for line in result.transcript if "key your card number" in line]
    assert len(prompts) == 2
    assert any("keys ••••••••••••1882 #" in line for line in result.transcript)
    payment = running.client.request("GET", f"/v1/payments/{result.external['payment_id']}")
    assert payment.json()["status"] == "approved"
    assert payment.json()["operator"].startswith("ivr:")


def test_agent_assisted_call_shows_the_agent_the_outcome(running: Running, artifacts: Path) -> None:
    emulator = running.stack.emulator
    assert emulator is not None
    result = call(running, artifacts, "good-card", agent=True)
    assert result.session_id is not None
    session = running.client.request("GET", f"/v1/ivr/sessions/{result.session_id}").json()
    assert session["status"] == "approved"
    assert session["payment_id"] == result.external["payment_id"]
    assert (session["brand"], session["last4"]) == ("VISA", "1881")
    assert [c["status"] for c in emulator.captures_for(result.paypal_request_id)] == ["COMPLETED"]
    assert_agent_path(result.transcript)
    assert result.returned_to_agent
    assert not result.transferred


AGENT_PATH = [
    "agent  : transfers the caller with the secure payment quick connect",
    "agent  : on hold",
    "[agent recording suspended]",
    "[recording suspended]",
    "agent  : sees waiting, card_number_entered",
    "agent  : sees waiting, expiry_entered",
    "agent  : sees waiting, security_code_entered",
    "ivr fn : action=result, status=approved",
    "[recording resumed]",
    "[agent recording resumed]",
    "agent  : off hold: the caller is back with the agent",
    "outcome: approved (the caller is back with the agent)",
    "agent  : sees session",
    "paypal : 1 capture(s) for this call (COMPLETED)",
]


def assert_agent_path(transcript: list[str]) -> None:
    """The agent-assisted call's milestones, in this order."""
    at = 0
    for milestone in AGENT_PATH:
        found = [i for i, line in enumerate(transcript) if i >= at and milestone in line]
        assert found, f"{milestone!r} missing after line {at}:\n" + "\n".join(transcript)
        at = found[0] + 1
    assert_recording_suspended_around_the_keys(transcript)
    assert_both_recordings_suspended_at_every_key(transcript)


def assert_both_recordings_suspended_at_every_key(transcript: list[str]) -> None:
    """Each keyed field of an agent-assisted call: the flow's recording and the agent's
    (as Connect's recording API, played locally, reports it) are both suspended; both are
    on again before the agent has the caller back."""
    flow_on = agent_on = True  # a centre that records everyone: the worst case
    keyed = 0
    for line in transcript:
        flow_on = {"[recording suspended]": False, "[recording resumed]": True}.get(
            line.strip(), flow_on
        )
        agent_on = {"[agent recording suspended]": False, "[agent recording resumed]": True}.get(
            line.strip(), agent_on
        )
        if "caller : keys" in line:
            keyed += 1
            assert not flow_on, line
            assert not agent_on, line
        if "off hold" in line:
            assert flow_on, line
            assert agent_on, line
    assert keyed >= 3


@pytest.mark.parametrize("name", ["good-card", "mistyped-then-ok", "cvv-timeout", "expired-card"])
def test_every_key_of_an_agent_assisted_call_is_pressed_unrecorded(
    running: Running, artifacts: Path, name: str
) -> None:
    result = call(running, artifacts, name, agent=True)
    assert result.status == SCENARIOS[name].expect
    assert result.returned_to_agent
    assert_both_recordings_suspended_at_every_key(result.transcript)


def test_when_connect_keeps_recording_the_agent_no_card_is_asked_for(
    running: Running, artifacts: Path
) -> None:
    emulator = running.stack.emulator
    assert emulator is not None
    captures = emulator.capture_count()
    result = call(running, artifacts, "agent-recorded", agent=True)
    assert result.status == SCENARIOS["agent-recorded"].expect == "none"
    text = "\n".join(result.transcript)
    assert "caller : keys" not in text
    assert "key your card number" not in text
    assert "[agent recording suspended]" not in text
    assert "not asked for it. Nothing was charged." in text
    assert "agent_recording=not_suspended, reason=InvalidRequestException" in text
    assert result.returned_to_agent
    assert not result.transferred
    assert emulator.capture_count() == captures
    assert result.session_id is not None
    session = running.client.request("GET", f"/v1/ivr/sessions/{result.session_id}").json()
    assert (session["status"], session["progress"]) == ("waiting", "waiting")


def test_ivr_routes_need_an_operator_key(running: Running) -> None:
    for method, path in (
        ("POST", "/v1/ivr/connect"),
        ("POST", "/v1/ivr/sessions"),
        ("GET", "/v1/ivr/encryption-key"),
    ):
        assert running.client.request(method, path, {}, auth=False).status == 401


def test_a_session_for_a_card_number_in_the_name_is_refused(running: Running) -> None:
    answer = running.client.request(
        "POST",
        "/v1/ivr/sessions",
        {
            "contact_id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "amount": "1.00",
            "currency": "USD",
            "cardholder_name": f"Ada {TEST_PANS[0]}",
        },
    )
    assert answer.status == 422
    assert answer.json()["field"] == "cardholder_name"


def test_cardline_call_against_cardline_serve(data_dir: Path, artifacts: Path) -> None:
    server = Served(data_dir, artifacts / "ivr-serve.log")
    try:
        called = run(
            [
                *CARDLINE,
                "call",
                "--scenario",
                "mistyped-then-ok",
                "--url",
                server.url,
                "--key",
                server.key(),
                "--emulator",
                server.emulator_url(),
            ],
            artifacts,
            env=clean_env(),
            timeout=60,
        )
    finally:
        server.stop()
    (artifacts / "ivr-cardline-call.txt").write_text(called.stdout + called.stderr)
    assert called.returncode == 0, called.stderr
    assert "outcome: approved" in called.stdout
    assert "paypal : 1 capture(s) for this call (COMPLETED)" in called.stdout
    assert "keys ••••••••••••1882 #" in called.stdout


def test_cardline_call_agent_against_cardline_serve(data_dir: Path, artifacts: Path) -> None:
    server = Served(data_dir, artifacts / "ivr-serve-agent.log")
    try:
        called = run(
            [
                *CARDLINE,
                "call",
                "--agent",
                "--scenario",
                "good-card",
                "--url",
                server.url,
                "--key",
                server.key(),
                "--emulator",
                server.emulator_url(),
            ],
            artifacts,
            env=clean_env(),
            timeout=60,
        )
    finally:
        server.stop()
    (artifacts / "ivr-cardline-call-agent.txt").write_text(called.stdout + called.stderr)
    assert called.returncode == 0, called.stderr
    assert not any(pan in called.stdout for pan in TEST_PANS)
    assert_agent_path(called.stdout.splitlines())
