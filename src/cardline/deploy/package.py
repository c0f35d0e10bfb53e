"""Deployment zips for the Lambda functions.

The charge function's zip is the ``cardline/cde/`` folder and nothing else: no
third-party code, no backoffice code, no tests. A test pins the zip's file list to the
folder and checks that a real payment loads nothing outside it. The backoffice/projector zip holds
the whole ``cardline`` package; its third-party packages are added by ``make package``.

Zips are reproducible: entries sorted, timestamps fixed, permissions normalised.

    python -m cardline.deploy.package charge build/lambda/charge.zip
    python -m cardline.deploy.package backoffice build/lambda/backoffice.zip [--extra DIR]
    python -m cardline.deploy.package ivr build/lambda/ivr.zip [--extra DIR]

The ivr zip is built like the backoffice's, with the AWS Encryption SDK among its extras.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["CDE", "build_zip", "charge_files", "package_files"]

SOURCE = Path(__file__).resolve().parents[1]  # src/cardline

CDE = SOURCE / "cde"  # the card-data environment: the charge zip is this folder
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def charge_files(source: Path = SOURCE) -> list[tuple[Path, str]]:
    """(file, name in the zip) for the charge function: the ``cde`` folder, whole, and
    nothing else. ``cardline`` stays a namespace package in the zip."""
    return package_files(source / "cde", "cardline/cde/")


def package_files(root: Path, prefix: str = "") -> list[tuple[Path, str]]:
    """Every file below ``root`` except byte code, named relative to it."""
    return [
        (path, prefix + path.relative_to(root).as_posix())
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def build_zip(files: Iterable[tuple[Path, str]], target: Path) -> int:
    """Write a reproducible zip of ``files``; returns its size in bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for path, name in sorted(files, key=lambda item: item[1]):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())
    return target.stat().st_size


_COMPILE = """
import json, py_compile, sys
sources = json.loads(sys.argv[1])
for source, target, name in sources:
    py_compile.compile(source, cfile=target, dfile=name, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print(sys.implementation.cache_tag)
"""


def bytecode_files(
    files: Iterable[tuple[Path, str]], python: str, workdir: Path
) -> list[tuple[Path, str]]:
    """Byte code of the ``.py`` files, compiled by ``python`` (the Lambda runtime's version).

    Lambda's code directory is read-only, so without these every cold start compiles every
    module again. Unchecked-hash ``.pyc`` files stay valid whatever the zip's timestamps.
    """
    sources = [(path, name) for path, name in files if name.endswith(".py")]
    jobs = [
        (str(path), str(workdir / f"{index}.pyc"), name)
        for index, (path, name) in enumerate(sources)
    ]
    done = subprocess.run(  # noqa: S603 - the interpreter the packager chose
        [python, "-I", "-c", _COMPILE, json.dumps(jobs)],
        check=True,
        capture_output=True,
        text=True,
    )
    tag = done.stdout.strip()
    compiled = []
    for (_source, target, _name), (_path, name) in zip(jobs, sources, strict=True):
        folder, slash, module = name.rpartition("/")
        compiled.append((Path(target), f"{folder}{slash}__pycache__/{module[:-3]}.{tag}.pyc"))
    return compiled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cardline.deploy.package")
    parser.add_argument("function", choices=["charge", "backoffice", "ivr"])
    parser.add_argument("target", type=Path)
    parser.add_argument("--extra", type=Path, help="installed third-party packages to add")
    parser.add_argument(
        "--bytecode-python",
        help="also ship byte code compiled by this interpreter (the Lambda runtime's version)",
    )
    args = parser.parse_args(argv)
    if args.function == "charge":
        files = charge_files()
    else:
        files = package_files(SOURCE, "cardline/")
        if args.extra is not None:
            files += package_files(args.extra)
    with tempfile.TemporaryDirectory() as workdir:
        if args.bytecode_python:
            files += bytecode_files(files, args.bytecode_python, Path(workdir))
        size = build_zip(files, args.target)
    print(f"{args.target}: {len(files)} files, {size} bytes ({size / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
