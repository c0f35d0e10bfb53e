"""`make package` finds the Lambda runtime's Python (python3.13) where people keep it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cardline.deploy import runtime
from cardline.deploy.runtime import RuntimeNotFound, find_runtime_python


def _fake_python(path: Path, version: str) -> Path:
    """An executable that answers the version probe as a Python of ``version`` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _pyenv_shim(path: Path) -> Path:
    """pyenv's shim for a version that is installed but not selected: it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No system Python 3.13: the Debian locations point into the test's own folder."""
    monkeypatch.setattr(runtime, "SYSTEM_PLACES", (tmp_path / "usr-bin" / "python3.13",))
    return tmp_path


def test_pyenv_versions_are_found_even_when_the_shim_on_path_fails(nowhere: Path) -> None:
    shims = nowhere / "pyenv" / "shims"
    _pyenv_shim(shims / "python3.13")
    wanted = _fake_python(nowhere / "pyenv" / "versions" / "3.13.0" / "bin" / "python3.13", "3.13")
    _fake_python(nowhere / "pyenv" / "versions" / "3.12.1" / "bin" / "python3.12", "3.12")
    env = {"PATH": str(shims), "PYENV_ROOT": str(nowhere / "pyenv"), "HOME": str(nowhere)}
    assert find_runtime_python(env) == str(wanted)


def test_pyenv_under_home_is_found_without_pyenv_root(nowhere: Path) -> None:
    wanted = _fake_python(nowhere / ".pyenv" / "versions" / "3.13.5" / "bin" / "python3.13", "3.13")
    assert find_runtime_python({"PATH": "", "HOME": str(nowhere)}) == str(wanted)


def test_the_newest_pyenv_patch_release_wins(nowhere: Path) -> None:
    for patch in ("3.13.2", "3.13.10", "3.13.9"):
        _fake_python(nowhere / ".pyenv" / "versions" / patch / "bin" / "python3.13", "3.13")
    found = find_runtime_python({"PATH": "", "HOME": str(nowhere)})
    assert found == str(nowhere / ".pyenv" / "versions" / "3.13.10" / "bin" / "python3.13")


def test_python313_on_path_is_used(nowhere: Path) -> None:
    wanted = _fake_python(nowhere / "bin" / "python3.13", "3.13")
    assert find_runtime_python({"PATH": str(nowhere / "bin"), "HOME": str(nowhere)}) == str(wanted)


def test_debians_python313_is_found(nowhere: Path) -> None:
    wanted = _fake_python(nowhere / "usr-bin" / "python3.13", "3.13")
    assert find_runtime_python({"PATH": "", "HOME": str(nowhere)}) == str(wanted)


def test_python_runtime_wins_and_must_be_313(nowhere: Path) -> None:
    mine = _fake_python(nowhere / "mine" / "python", "3.13")
    _fake_python(nowhere / "bin" / "python3.13", "3.13")
    env = {"PATH": str(nowhere / "bin"), "HOME": str(nowhere), "PYTHON_RUNTIME": str(mine)}
    assert find_runtime_python(env) == str(mine)
    wrong = _fake_python(nowhere / "wrong" / "python", "3.11")
    with pytest.raises(RuntimeNotFound) as refused:
        find_runtime_python({**env, "PYTHON_RUNTIME": str(wrong)})
    assert "3.11" in str(refused.value)
    assert str(wrong) in str(refused.value)


def test_none_found_says_exactly_how_to_supply_one(nowhere: Path) -> None:
    _pyenv_shim(nowhere / "shims" / "python3.13")
    with pytest.raises(RuntimeNotFound) as missing:
        find_runtime_python({"PATH": str(nowhere / "shims"), "HOME": str(nowhere)})
    said = str(missing.value)
    assert "make package PYTHON_RUNTIME=/path/to/python3.13" in said
    assert "pyenv install 3.13" in said
    assert "apt-get install python3.13" in said


def test_the_command_prints_the_path_alone_or_one_line_why_not(
    nowhere: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wanted = _fake_python(nowhere / "bin" / "python3.13", "3.13")
    monkeypatch.setattr(os, "environ", {"PATH": str(nowhere / "bin"), "HOME": str(nowhere)})
    assert runtime.main() == 0
    assert capsys.readouterr().out == f"{wanted}\n"
    monkeypatch.setattr(os, "environ", {"PATH": "", "HOME": str(nowhere)})
    assert runtime.main() == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "PYTHON_RUNTIME" in captured.err
