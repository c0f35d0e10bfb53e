"""`cardline call --twilio`: Twilio's Generic Pay Connector played against a stack of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardline.cli import main
from tests import leakscan


@pytest.mark.parametrize(
    ("scenario", "said"),
    [
        ("good-card", "<Pay> result: approved"),
        ("replay", "same charge_id each time"),
        ("decline", "card_declined"),
        ("tokenize", "tokenization_unsupported"),
    ],
)
def test_each_twilio_scenario_ends_as_expected_with_a_masked_transcript(
    scenario: str, said: str, capsys: pytest.CaptureFixture[str], artifacts: Path
) -> None:
    assert main(["call", "--twilio", "--scenario", scenario]) == 0
    out = capsys.readouterr().out
    assert said in out
    if scenario in ("good-card", "replay"):
        assert "1 capture(s) during the call" in out
    folder = artifacts / "twilio-transcripts"
    folder.mkdir(exist_ok=True)
    (folder / f"cli-{scenario}.txt").write_text(out)
    assert leakscan.scan_text(out) == []


def test_an_ivr_only_scenario_is_refused_with_twilio(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "--twilio", "--scenario", "good-card", "--agent"]) == 2
    assert "--twilio takes --scenario only" in capsys.readouterr().err
