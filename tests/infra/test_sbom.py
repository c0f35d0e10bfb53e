"""PCI DSS 6.3.2: a CycloneDX SBOM of each Lambda zip, read from the zip by cyclonedx-py
(the tools virtualenv), with the zip as its root component and the layers the template
gives the functions that run it."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from cardline.deploy.package import build_zip, charge_files
from cardline.deploy.sbom import layers_by_zip, main, sbom
from tests.aws_support import TEMPLATE
from tests.infra.conftest import tool

EXTENSION = "AWS-Parameters-and-Secrets-Lambda-Extension-Arm64"


def _zip_with_a_distribution(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("cardline/__init__.py", "")
        archive.writestr("example_lib/__init__.py", "")
        archive.writestr(
            "example_lib-1.2.3.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: example-lib\nVersion: 1.2.3\nLicense: MIT\n",
        )
        archive.writestr("example_lib-1.2.3.dist-info/RECORD", "")
    return path


def test_every_zip_the_template_runs_gets_the_extension_layer() -> None:
    layers = layers_by_zip(TEMPLATE)
    assert set(layers) == {"charge.zip", "backoffice.zip", "ivr.zip"}
    for zip_name in ("charge.zip", "ivr.zip"):
        (layer,) = layers[zip_name]
        assert layer["name"] == EXTENSION
        assert layer["supplier"] == {"name": "Amazon Web Services"}
        assert layer["externalReferences"][0]["url"].startswith("arn:aws:lambda:")


def test_the_sbom_lists_what_the_zip_holds_and_the_zip_itself(tmp_path: Path) -> None:
    archive = _zip_with_a_distribution(tmp_path / "backoffice.zip")
    layers = layers_by_zip(TEMPLATE)["backoffice.zip"]
    document = sbom(archive, Path(tool("cyclonedx-py")), layers)
    assert document["bomFormat"] == "CycloneDX"
    root = document["metadata"]["component"]
    assert root["name"] == "cardline-backoffice"
    assert root["hashes"] == [
        {"alg": "SHA-256", "content": hashlib.sha256(archive.read_bytes()).hexdigest()}
    ]
    found = {c["name"]: c for c in document["components"]}
    # Only what the zip holds: nothing of the interpreter or virtualenv that read it.
    assert set(found) == {"example-lib", EXTENSION}
    assert found["example-lib"]["version"] == "1.2.3"
    assert found["example-lib"]["purl"] == "pkg:pypi/example-lib@1.2.3"
    (mine,) = [d for d in document["dependencies"] if d["ref"] == root["bom-ref"]]
    assert set(mine["dependsOn"]) == {c["bom-ref"] for c in document["components"]}


def test_the_charge_zip_has_no_third_party_component(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    build_zip(charge_files(), build / "charge.zip")
    assert main([str(build), "--tool", tool("cyclonedx-py"), "--template", str(TEMPLATE)]) == 0
    document = json.loads((build / "charge.cdx.json").read_text())
    assert [c["name"] for c in document["components"]] == [EXTENSION]
    assert document["metadata"]["component"]["name"] == "cardline-charge"
