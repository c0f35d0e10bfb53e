"""`cardline COMMAND --help` lists every choice and every default a reader needs."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from cardline import cli
from cardline.ivr.scenarios import SCENARIOS


def _commands() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in cli.parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


COMMANDS = dict(_commands())


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.parser().parse_args([*argv, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines where it likes


def test_the_main_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys)
    assert set(COMMANDS) == {
        "serve",
        "operators",
        "ledger",
        "reconcile",
        "export",
        "sandbox",
        "call",
        "ivr",
        "demo",
        "compliance",
        "console",
    }
    for name in COMMANDS:
        assert name in text


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_and_shows_its_choices_and_default(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(capsys, name)
    for action in COMMANDS[name]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        label = "/".join(action.option_strings) or action.dest
        assert action.help, f"cardline {name}: {label} has no help"
        for choice in action.choices or ():
            assert str(choice) in text, f"cardline {name} --help omits {label} choice {choice}"
        default = action.default
        if default not in (None, False, argparse.SUPPRESS, []):
            assert f"default: {default}" in text, f"cardline {name} --help omits {label}'s default"


def test_call_help_lists_all_seven_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "call")
    assert len(SCENARIOS) == 7
    for scenario in SCENARIOS:
        assert scenario in text


def test_ports_and_the_reconcile_window_show_their_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "default: 8080" in _help(capsys, "serve")
    assert "default: 8888" in _help(capsys, "sandbox")
    reconcile = _help(capsys, "reconcile")
    assert "default: 7 days" in reconcile
    assert "6h" in reconcile
    data = _help(capsys, "operators")
    assert "CARDLINE_DATA_DIR" in data
    assert "XDG_DATA_HOME" in data
