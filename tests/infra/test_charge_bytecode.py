"""The charge zip's byte code: Lambda's code directory is read-only, so modules shipped
without it are compiled again at every cold start."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

from cardline.deploy.package import build_zip, bytecode_files, charge_files


def test_every_module_ships_valid_unchecked_hash_byte_code(tmp_path: Path) -> None:
    files = charge_files()
    compiled = bytecode_files(files, sys.executable, tmp_path)
    target = tmp_path / "charge.zip"
    build_zip([*files, *compiled], target)
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        for path, name in files:
            folder, _, module = name.rpartition("/")
            pyc = archive.read(f"{folder}/__pycache__/{module[:-3]}.{tag}.pyc")
            assert pyc[:4] == importlib.util.MAGIC_NUMBER
            flags = int.from_bytes(pyc[4:8], "little")
            assert flags == 0b01  # hash-based, source not checked: valid whatever the mtimes
            assert pyc[8:16] == importlib.util.source_hash(path.read_bytes())
    assert len(names) == 2 * len(files)
