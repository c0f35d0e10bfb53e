"""A CycloneDX SBOM of every Lambda zip and the layer its functions run with (PCI DSS 6.3.2:
an inventory of bespoke and third-party software components).

The components are read by CycloneDX's own tool, ``cyclonedx-py environment`` (pinned in
``infra/tools-requirements.txt``), from the zip as built: its ``*.dist-info`` folders are
unpacked into a folder that an empty virtualenv puts on its path, so the SBOM lists what the
zip holds and nothing of the machine that built it. Ours adds only what that tool cannot
know: the root component (the zip: cardline's name, version and licence from pyproject.toml,
the zip's SHA-256), and the Lambda layer(s) the template
gives the functions that run the zip (the AWS Parameters and Secrets Lambda Extension: a
binary from AWS, no Python metadata)::

    python -m cardline.deploy.sbom build/lambda --tool .venv-tools/bin/cyclonedx-py

writes ``build/lambda/<zip>.cdx.json`` for each ``*.zip`` (``make package`` does).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import tomllib
import venv
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cardline.compliance.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "infra" / "serverless" / "template.yaml"
PYPROJECT = ROOT / "pyproject.toml"


def _dist_info(archive: Path, into: Path) -> int:
    """Unpack every ``*.dist-info/`` entry of ``archive`` into ``into``; how many dists."""
    count = 0
    with zipfile.ZipFile(archive) as zipped:
        for name in zipped.namelist():
            top = name.split("/", 1)[0]
            if top.endswith(".dist-info") and not name.endswith("/"):
                zipped.extract(name, into)
                count += name.endswith("/METADATA")
    return count


def _environment(site: Path, workdir: Path) -> Path:
    """An empty virtualenv whose path holds ``site``: the interpreter cyclonedx-py reads."""
    env = workdir / "env"
    venv.create(env, with_pip=False, symlinks=True)
    (site_packages,) = env.glob("lib/python*/site-packages")
    (site_packages / "zip-contents.pth").write_text(f"{site}\n", encoding="utf-8")
    return env / "bin" / "python"


def layers_by_zip(template_path: Path = TEMPLATE) -> dict[str, list[dict[str, Any]]]:
    """zip file name -> the layers of the template's functions that run it, each as a
    CycloneDX component (the layer ARN parameter's default as its version)."""
    template = load_template(template_path)
    parameters = template.get("Parameters", {})
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        code = str(properties.get("CodeUri", ""))
        if not code.endswith(".zip"):
            continue
        components = found.setdefault(Path(code).name, [])
        for layer in properties.get("Layers", []):
            component = _layer_component(layer, parameters)
            if component not in components:
                components.append(component)
    return found


def _layer_component(layer: Any, parameters: Mapping[str, Any]) -> dict[str, Any]:
    parameter = layer.get("Ref") if isinstance(layer, Mapping) else None
    arn = str(parameters[parameter]["Default"]) if parameter else str(layer)
    name, version = arn.split(":")[-2:]  # arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION
    component: dict[str, Any] = {
        "type": "application",
        "bom-ref": f"lambda-layer:{name}",
        "name": name,
        "version": version,
        "supplier": {"name": "Amazon Web Services"},
        "description": "Lambda layer (binary, from AWS): the functions' Secrets Manager cache",
        "externalReferences": [{"type": "distribution", "url": arn}],
    }
    if parameter:
        component["properties"] = [
            {"name": "cardline:template-parameter", "value": parameter},
            {"name": "cardline:note", "value": "the deployed ARN is the parameter's value"},
        ]
    return component


def sbom(
    archive: Path,
    tool: Path,
    layers: Sequence[Mapping[str, Any]] = (),
    pyproject: Path = PYPROJECT,
) -> dict[str, Any]:
    """The CycloneDX document (JSON) of one zip: its Python distributions as cyclonedx-py
    reads them, the zip as the root component, and ``layers``."""
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        site = workdir / "site"
        site.mkdir()
        _dist_info(archive, site)
        python = _environment(site, workdir)
        out = workdir / "bom.json"
        done = subprocess.run(  # noqa: S603 - the cyclonedx-py the caller named
            [
                str(tool),
                "environment",
                "--mc-type",
                "application",
                "--output-reproducible",
                "--of",
                "JSON",
                "-o",
                str(out),
                str(python),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cyclonedx-py failed on {archive.name}: {done.stderr.strip()}")
        document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    # The root component from our pyproject (read here: the pinned cyclonedx-py predates
    # PEP 639's license string).
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    root = document["metadata"].setdefault("component", {"type": "application"})
    root.setdefault("bom-ref", "cardline-zip")
    root["name"] = f"{project['name']}-{archive.stem}"
    root["version"] = project["version"]
    root["licenses"] = [{"expression": project["license"]}]
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    root["hashes"] = [{"alg": "SHA-256", "content": digest}]
    root.setdefault("properties", []).append({"name": "cardline:zip", "value": archive.name})
    components = document.setdefault("components", [])
    dependencies = document.setdefault("dependencies", [])
    for layer in layers:
        components.append(dict(layer))
        dependencies.append({"ref": layer["bom-ref"]})
    # The zip holds every distribution listed, and runs with the layers.
    dependencies.append(
        {"ref": root["bom-ref"], "dependsOn": [c["bom-ref"] for c in components if "bom-ref" in c]}
    )
    return document


def main(argv: Sequence[str] | None = None) -> int:
    """Write ``<zip>.cdx.json`` beside each zip of a build folder."""
    parser = argparse.ArgumentParser(prog="python -m cardline.deploy.sbom")
    parser.add_argument("build", type=Path, help="the folder holding the Lambda zips")
    parser.add_argument("--tool", type=Path, required=True, help="the cyclonedx-py executable")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    arguments = parser.parse_args(argv)
    zips = sorted(arguments.build.glob("*.zip"))
    if not zips:
        print(f"no zip in {arguments.build}: run make package", file=sys.stderr)
        return 1
    layers = layers_by_zip(arguments.template)
    for archive in zips:
        document = sbom(archive, arguments.tool, layers.get(archive.name, []))
        target = archive.with_suffix(".cdx.json")
        target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"{target}: {len(document['components'])} components")
    return 0


if __name__ == "__main__":
    sys.exit(main())
