"""The Makefile's set-up steps, run with stand-ins: what `make test` installs from Debian,
`make unit`'s loop, and `make package` without the runtime's Python."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """A PATH holding only an apt-get that records its calls and chatters as apt-get does."""
    folder = tmp_path / "bin"
    folder.mkdir()
    _script(
        folder / "apt-get",
        f'echo "$*" >> {tmp_path / "apt-calls"}\n'
        'echo "Selecting previously unselected package fake."\n'
        'echo "Setting up fake ..." >&2\n',
    )
    return folder


def _make(target: str, path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/make", "--no-print-directory", target, *more],
        cwd=ROOT,
        env={"PATH": str(path), "HOME": str(path)},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("target", "command", "package"),
    [
        ("chromium", "chromium", "chromium"),
        ("graphviz", "dot", "graphviz"),
    ],
)
def test_a_missing_debian_package_is_installed_quietly_saying_which(
    target: str, command: str, package: str, fake_bin: Path, tmp_path: Path
) -> None:
    done = _make(target, fake_bin)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = (tmp_path / "apt-calls").read_text().splitlines()
    assert calls[-1].split()[-1] == package
    assert "install" in calls[-1].split()
    said = done.stdout + done.stderr
    assert f"installing the Debian package {package}" in said
    assert "Selecting previously" not in said
    assert "Setting up" not in said


@pytest.mark.parametrize(("target", "command"), [("chromium", "chromium"), ("graphviz", "dot")])
def test_a_present_debian_package_is_left_alone_silently(
    target: str, command: str, fake_bin: Path, tmp_path: Path
) -> None:
    _script(fake_bin / command, "exit 0\n")
    done = _make(target, fake_bin)
    assert done.returncode == 0
    assert not (tmp_path / "apt-calls").exists()
    assert done.stdout + done.stderr == ""


def test_a_failed_install_shows_apt_gets_words_and_fails(fake_bin: Path) -> None:
    _script(fake_bin / "apt-get", 'echo "E: Unable to locate package chromium" >&2\nexit 100\n')
    done = _make("chromium", fake_bin)
    assert done.returncode != 0
    assert "Unable to locate package chromium" in done.stderr


def test_make_unit_runs_pytest_without_browser_apt_or_tools_venv() -> None:
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "unit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    planned = done.stdout
    assert "pytest" in planned
    for never in ("apt-get", ".venv-tools", "tests/browser", "playwright", "chromium"):
        assert never not in planned, never


def test_make_package_with_a_wrong_runtime_python_says_how_to_supply_it(tmp_path: Path) -> None:
    build = tmp_path / "lambda"
    build.mkdir()
    (build / "kept").write_text("an earlier build")
    wrong = _script(tmp_path / "python3", "echo 3.11\n")  # answers the probe as 3.11 would
    done = subprocess.run(
        [
            "/usr/bin/make",
            "--no-print-directory",
            "package",
            f"LAMBDA_BUILD={build}",
            f"PYTHON_RUNTIME={wrong}",
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "3.11" in done.stderr
    assert "make package PYTHON_RUNTIME=/path/to/python3.13" in done.stderr
    assert (build / "kept").exists()  # it stopped before touching the build
