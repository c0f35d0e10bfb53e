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


@pytest.mark.parametrize("name", sorted(SCENARIOS))
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
    result = call(running, artifacts, "good-card", agent=True)
    assert result.session_id is not None
    session = running.client.request("GET", f"/v1/ivr/sessions/{result.session_id}").json()
    assert session["status"] == "approved"
    assert session["payment_id"] == result.external["payment_id"]
    assert (session["brand"], session["last4"]) == ("VISA", "1881")


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
