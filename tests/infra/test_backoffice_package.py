"""The backoffice zip (the backoffice, projector and reconcile functions) carries Powertools
and the X-Ray SDK at the versions pyproject.toml pins; the charge zip carries neither."""

from __future__ import annotations

import tomllib
from pathlib import Path

from cardline.deploy.package import charge_files

ROOT = Path(__file__).resolve().parents[2]
TELEMETRY = ("aws-lambda-powertools", "aws-xray-sdk")


def _pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for dependency in project["dependencies"]:
        name, version = dependency.split("==")
        pins[name] = version
    return pins


def _site_packages_install(folder: str) -> str:
    """The `pip install --target $(LAMBDA_BUILD)/<folder>` command of `make package`."""
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    (line,) = [ln for ln in makefile.splitlines() if f"--target $(LAMBDA_BUILD)/{folder} " in ln]
    return line


def test_the_backoffice_zip_installs_powertools_and_the_xray_sdk_at_the_pinned_versions() -> None:
    pins = _pins()
    install = _site_packages_install("site-packages")
    for name in TELEMETRY:
        assert f'"{name}=={pins[name]}"' in install, name


def test_the_charge_zip_holds_neither() -> None:
    names = [name for _path, name in charge_files()]
    assert all(name.startswith("cardline/cde/") for name in names)
    assert not [n for n in names if "powertools" in n or "xray" in n or "telemetry" in n]
