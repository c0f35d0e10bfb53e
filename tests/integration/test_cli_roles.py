"""Roles and the export on the command line: `cardline operators add NAME --role R`,
`operators role`, `operators list` showing roles, an operators.json written before roles,
and `cardline export`."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.cde.errors import InvalidRequest
from cardline.cde.http.messages import Request
from cardline.cli import main
from cardline.local import AUDIT_FILE, OPERATORS_FILE, build_local
from cardline.operators import OperatorStore
from tests.cards import TEST_PANS, payment
from tests.conftest import Running


def _listed(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert main(["operators", "list", "--data-dir", str(data_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    return {line.split("\t")[1]: line.split("\t")[2] for line in lines}


def test_operators_are_added_with_a_role_listed_with_it_and_given_another(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boss = ["operators", "add", "boss", "--role", "supervisor", "--data-dir", str(data_dir)]
    assert main(boss) == 0
    assert main(["operators", "add", "ada", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    assert _listed(data_dir, capsys) == {"boss": "supervisor", "ada": "agent"}
    assert main(["operators", "role", "ada", "--role", "admin", "--data-dir", str(data_dir)]) == 0
    assert "ada" in capsys.readouterr().err
    assert _listed(data_dir, capsys) == {"boss": "supervisor", "ada": "admin"}
    changed = [
        e for e in audit.read_events(data_dir / AUDIT_FILE) if e.type == "operator_role_changed"
    ]
    assert [(e.details["role"], e.details["previous"]) for e in changed] == [("admin", "agent")]


def test_a_role_that_is_not_one_is_refused_without_a_traceback(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["operators", "add", "eve", "--role", "root", "--data-dir", str(data_dir)])
    assert "invalid choice" in capsys.readouterr().err
    assert main(["operators", "role", "nobody", "--data-dir", str(data_dir)]) == 2
    assert (
        main(["operators", "role", "nobody", "--role", "agent", "--data-dir", str(data_dir)]) == 1
    )
    assert "No active operator" in capsys.readouterr().err
    store = OperatorStore(data_dir / OPERATORS_FILE, audit.StreamSink(io.StringIO()))
    with pytest.raises(InvalidRequest, match="role"):
        store.add("eve", role="superuser")


def test_an_operators_file_written_before_roles_loads_and_its_operators_are_agents(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = OperatorStore(data_dir / OPERATORS_FILE, audit.StreamSink(io.StringIO()))
    operator, key = store.add("old-timer", role="supervisor")
    written = json.loads((data_dir / OPERATORS_FILE).read_text())
    for entry in written["operators"]:
        del entry["role"]  # as an earlier version wrote it
    (data_dir / OPERATORS_FILE).write_text(json.dumps(written))
    request = Request("GET", "/v1/payments", headers={"authorization": f"Bearer {key}"})
    caller = OperatorStore(data_dir / OPERATORS_FILE, audit.StreamSink(io.StringIO())).authenticate(
        request
    )
    assert (caller.operator, caller.role) == (operator.id, "agent")
    assert _listed(data_dir, capsys) == {"old-timer": "agent"}


def test_cardline_export_writes_the_ledger_as_csv_to_stdout_or_a_private_file(
    running: Running, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for reference in ("order-1", "=1+1"):
        assert running.client.pay(payment(reference=reference)).status == 201
    data_dir = str(running.stack.data_dir)
    assert main(["export", "--data-dir", data_dir, "--since", "2000-01-01"]) == 0
    text = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(row["reference"] for row in rows) == ["'=1+1", "order-1"]
    assert {row["card"] for row in rows} == {"VISA ending 1881"}
    assert not [number for number in TEST_PANS if number in text]
    answer = running.client.request("GET", "/v1/payments/export?since=2000-01-01")
    assert answer.body.decode() == text  # the same CSV as the API's

    out = tmp_path / "payments.csv"
    assert main(["export", "--data-dir", data_dir, "--out", str(out)]) == 0
    assert "2 payments" in capsys.readouterr().err
    assert out.read_bytes().decode() == text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert main(["export", "--data-dir", data_dir, "--until", "2000-01-01"]) == 0
    assert capsys.readouterr().out.count("\n") == 1  # the header alone
    assert main(["export", "--data-dir", data_dir, "--since", "soon"]) == 1
    assert "--since must be an ISO 8601" in capsys.readouterr().err


def test_export_into_a_new_folder_makes_it_and_an_unwritable_path_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    build_local(data_dir, environ={}).close()
    target = tmp_path / "reports" / "payments.csv"
    assert main(["export", "--out", str(target), "--data-dir", str(data_dir)]) == 0
    assert target.read_text().startswith('"card"')
    (tmp_path / "blocker").write_text("a file, not a folder")
    capsys.readouterr()
    code = main(
        ["export", "--out", str(tmp_path / "blocker" / "x.csv"), "--data-dir", str(data_dir)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0
    assert "cannot write" in err
