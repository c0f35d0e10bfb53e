"""The charge zips of two git revisions against each other, under the Lambda rig.

    python -m benchmarks.lambda_ab BEFORE AFTER [ROUNDS]

Both zips are built as `make package` builds the charge zip (the CDE folder with byte code
for python3.13), run alternately with the floor zip (the order rotating each round), and
the medians printed: after/before is AFTER's cold start over BEFORE's. This is how
each cold-start trick of the charge path was weighed before it was kept or dropped.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from benchmarks import lambda_cold
from benchmarks.lambda_rig import ROOT, scratch_root, unpack


def _charge_zip_of(revision: str, target: Path, python: str) -> Path:
    from cardline.deploy.package import build_zip, bytecode_files, charge_files

    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "src/cardline/cde"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        files = charge_files(Path(folder) / "src" / "cardline")
        files += bytecode_files(files, python, Path(folder))
        build_zip(files, target)
    return target


def main(argv: list[str]) -> int:
    before, after = argv[0], argv[1]
    rounds = int(argv[2]) if len(argv) > 2 else 9
    with scratch_root() as root, lambda_cold.rig(root, everything=False) as rig:
        for name, revision in (("before", before), ("after", after)):
            built = _charge_zip_of(revision, root / f"{name}.zip", rig.runtime.python)
            rig.code[name] = unpack(built, root / name)
        charge = rig.functions["charge"]
        names = ["floor", "before", "after"]
        times: dict[str, list[float]] = {name: [] for name in names}
        for n in range(rounds + 1):
            for name in names[n % 3 :] + names[: n % 3]:
                if name == "floor":
                    run = rig.floor()
                else:
                    run = rig.run(name, charge.handler, lambda_cold.charge_event(), charge)
                    lambda_cold.check_charge(run)
                if n:  # the first round warms the page cache
                    times[name].append(run.seconds * 1000)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"{before} -> {after}, {rounds} rounds: floor {median['floor']:.1f} ms, "
        f"before {median['before']:.1f} ms ({median['before'] / median['floor']:.3f}x floor), "
        f"after {median['after']:.1f} ms ({median['after'] / median['floor']:.3f}x floor), "
        f"after/before {median['after'] / median['before']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
