"""A newcomer's first hour: each command as the README shows it, on make run's data directory,
answering with one clear line when something is missing or wrong (never a traceback)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifacts import run
from tests.cards import VISA, payment
from tests.conftest import Client
from tests.serve_process import CARDLINE, Served, clean_env

pytestmark = pytest.mark.slow


def _home(data_dir: Path) -> dict[str, str]:
    """A user whose default data directory ($XDG_DATA_HOME/cardline) is under ``data_dir``."""
    return clean_env({"XDG_DATA_HOME": str(data_dir / "xdg"), "HOME": str(data_dir / "home")})


def _one_clear_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["operators", "list"],
        ["operators", "add", "grace"],
        ["operators", "revoke", "grace"],
        ["ledger", "rebuild"],
        ["reconcile", "--dry-run"],
    ],
)
def test_a_command_on_a_missing_data_directory_says_where_it_looked_and_creates_nothing(
    argv: list[str], data_dir: Path, artifacts: Path
) -> None:
    env = _home(data_dir)
    done = run([*CARDLINE, *argv], artifacts, env=env)
    assert done.returncode == 1
    line = _one_clear_line(done.stderr)
    assert str(data_dir / "xdg" / "cardline") in line
    assert "cardline serve" in line
    assert not (data_dir / "xdg").exists()
    elsewhere = data_dir / "elsewhere"
    given = run([*CARDLINE, *argv, "--data-dir", str(elsewhere)], artifacts, env=env)
    assert given.returncode == 1
    assert str(elsewhere) in _one_clear_line(given.stderr)
    assert not elsewhere.exists()


def test_commands_without_data_dir_use_the_directory_serve_uses(
    data_dir: Path, artifacts: Path
) -> None:
    env = _home(data_dir)
    server = Served(None, artifacts / "serve-default-dir.log", env)
    try:
        assert f"data directory: {data_dir / 'xdg' / 'cardline'}" in "".join(server.lines)
        listed = run([*CARDLINE, "operators", "list"], artifacts, env=env, check=True)
        assert "agent-1" in listed.stdout
    finally:
        server.stop()


def test_a_second_start_says_how_to_get_an_operator_key(data_dir: Path, artifacts: Path) -> None:
    env = _home(data_dir)
    first = Served(data_dir, artifacts / "serve-first.log", env)
    first.key()
    first.stop()
    second = Served(data_dir, artifacts / "serve-second.log", env)
    try:
        said = "".join(second.lines)
        assert "cl_" not in said  # a key is shown once, when made
        assert "agent-1" in said
        assert f"cardline operators add NAME --data-dir {data_dir}" in said
    finally:
        second.stop()


def test_reconcile_checks_the_embedded_emulators_record_without_paypal_variables(
    data_dir: Path, artifacts: Path
) -> None:
    env = _home(data_dir)
    server = Served(data_dir, artifacts / "serve-reconcile.log", env)
    try:
        client = Client(server.url, server.key(), artifacts / "http-answers.log")
        for name in ("Ada Lovelace", "CCREJECT-IF", "Grace Hopper"):
            assert client.pay(payment(VISA, name=name)).status == 201
        # While it serves: reconcile reads the emulator's state file beside the ledger.
        done = run(
            [*CARDLINE, "reconcile", "--dry-run", "--data-dir", str(data_dir)], artifacts, env=env
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert "3 payments checked" in done.stderr
        assert "0 differences" in done.stderr
        assert "dry run: nothing changed" in done.stderr
    finally:
        server.stop()


def test_reconcile_dry_run_changes_nothing_then_a_real_run_repairs(
    data_dir: Path, artifacts: Path
) -> None:
    env = _home(data_dir)
    server = Served(data_dir, artifacts / "serve-repair.log", env)
    try:
        client = Client(server.url, server.key(), artifacts / "http-answers.log")
        paid = client.pay(payment(VISA))
        assert paid.status == 201
    finally:
        server.stop()
    # The ledger loses the payment: its audit event and the ledger file are gone.
    audit_file = data_dir / "audit.jsonl"
    kept = [
        line
        for line in audit_file.read_text().splitlines()
        if json.loads(line).get("type") != "payment"
    ]
    audit_file.write_text("".join(line + "\n" for line in kept))
    (data_dir / "ledger.sqlite3").unlink()
    before = audit_file.read_bytes()
    dry = run(
        [*CARDLINE, "reconcile", "--dry-run", "--data-dir", str(data_dir)], artifacts, env=env
    )
    assert dry.returncode == 0, dry.stderr
    assert paid.json()["id"] in dry.stdout
    assert "1 payment checked" in dry.stderr
    assert "1 difference" in dry.stderr
    assert "dry run: nothing changed" in dry.stderr
    assert audit_file.read_bytes() == before
    real = run([*CARDLINE, "reconcile", "--data-dir", str(data_dir)], artifacts, env=env)
    assert real.returncode == 0, real.stderr
    assert "1 repaired" in real.stderr
    assert "dry run" not in real.stderr
    again = run([*CARDLINE, "reconcile", "--data-dir", str(data_dir)], artifacts, env=env)
    assert "0 differences" in again.stderr


def test_reconcile_with_no_paypal_and_no_emulator_state_says_what_to_set(
    data_dir: Path, artifacts: Path
) -> None:
    (data_dir / "audit.jsonl").write_text("")
    done = run(
        [*CARDLINE, "reconcile", "--data-dir", str(data_dir)], artifacts, env=_home(data_dir)
    )
    assert done.returncode == 2
    assert "PAYPAL_CLIENT_ID" in _one_clear_line(done.stderr)


@pytest.fixture
def html_server() -> Iterator[str]:
    """Some other web server: answers every request with an HTML page."""

    class Page(http.server.BaseHTTPRequestHandler):
        def _page(self) -> None:
            body = b"<html><body>not cardline</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _page

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _refused_port() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed again: nothing listens


def test_demo_against_nothing_listening_says_so_in_one_line(
    data_dir: Path, artifacts: Path
) -> None:
    url = _refused_port()
    done = run([*CARDLINE, "demo", "--url", url, "--key", "cl_x"], artifacts, env=_home(data_dir))
    assert done.returncode == 1
    line = _one_clear_line(done.stderr)
    assert url in line
    assert "cannot reach" in line
    assert "charged once" not in done.stdout


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://127.0.0.1/", "http://[::1"])
def test_demo_with_a_malformed_url_says_so_in_one_line(
    url: str, data_dir: Path, artifacts: Path
) -> None:
    done = run([*CARDLINE, "demo", "--url", url, "--key", "cl_x"], artifacts, env=_home(data_dir))
    assert done.returncode == 2
    assert "http://" in _one_clear_line(done.stderr)
    assert "charged once" not in done.stdout


def test_demo_against_another_web_server_says_it_is_not_cardline(
    html_server: str, data_dir: Path, artifacts: Path
) -> None:
    done = run(
        [*CARDLINE, "demo", "--url", html_server, "--key", "cl_x"], artifacts, env=_home(data_dir)
    )
    assert done.returncode == 1
    assert html_server in _one_clear_line(done.stderr)
    assert "charged once" not in done.stdout


def test_demo_with_a_wrong_key_says_the_key_was_refused_and_charges_nothing(
    data_dir: Path, artifacts: Path
) -> None:
    env = _home(data_dir)
    server = Served(data_dir, artifacts / "serve-demo.log", env)
    try:
        key = server.key()
        done = run(
            [*CARDLINE, "demo", "--url", server.url, "--key", "cl_wrong"], artifacts, env=env
        )
        assert done.returncode == 1
        line = _one_clear_line(done.stderr)
        assert "key" in line
        assert "401" in line
        assert "charged once" not in done.stdout
        client = Client(server.url, key, artifacts / "http-answers.log")
        assert client.request("GET", "/v1/payments").json()["items"] == []
        good = run([*CARDLINE, "demo", "--url", server.url, "--key", key], artifacts, env=env)
        assert good.returncode == 0, good.stdout + good.stderr
        assert "same payment, charged once" in good.stdout
    finally:
        server.stop()


def test_compliance_report_without_graphviz_names_the_debian_package(
    data_dir: Path, artifacts: Path, tmp_path: Path
) -> None:
    import sys

    bare = tmp_path / "bin"  # a PATH without Graphviz (nor anything else)
    bare.mkdir()
    env = {**_home(data_dir), "PATH": str(bare)}
    out = tmp_path / "report"
    done = run(
        [sys.executable, "-m", "cardline.cli", "compliance", "report", "--out", str(out)],
        artifacts,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 1
    line = _one_clear_line(done.stderr)
    assert "apt-get install graphviz" in line
    assert not out.exists() or not any(out.iterdir())


def test_sandbox_on_a_port_in_use_says_so_in_one_line(data_dir: Path, artifacts: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run([*CARDLINE, "sandbox", "--port", port], artifacts, env=_home(data_dir))
    assert done.returncode == 1
    line = _one_clear_line(done.stderr)
    assert f"cannot listen on 127.0.0.1:{port}" in line
