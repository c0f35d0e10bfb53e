"""Keys that do not expire silently: `cardline ivr keys check`, the scheduled EMF metric,
and a rotation with two active keys (local file and Secrets Manager on moto)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cardline import cli
from cardline.ivr import key_check, lambda_handler
from cardline.ivr.decrypt import ConnectDecryptor, DecryptionFailed
from cardline.ivr.encrypt import encrypt_like_connect
from cardline.ivr.key_check import check_key_pairs, days_to_expiry, exit_code
from cardline.ivr.key_expiry_metric import (
    KEY_CHECK,
    METRIC,
    NAMESPACE,
    NotAKeyCheck,
    emf_line,
    run_key_check,
)
from cardline.ivr.keys import (
    KEY_FILE,
    KeyConfigError,
    KeyPair,
    add_local_key_pair,
    generate_key_pair,
    key_document,
    keys_from_secrets_manager,
    read_local_key_pairs,
    remove_local_key_pair,
)
from tests.aws_support import Aws

ROOT = Path(__file__).resolve().parents[2]
STACK = "cardline-prod"


def _not_after(pair: KeyPair) -> datetime:
    (status,) = check_key_pairs([pair])
    assert status.not_after is not None
    return status.not_after


def _days_before_expiry(pair: KeyPair, days: int) -> datetime:
    """A moment ``days`` whole days (and an hour) before ``pair``'s certificate ends."""
    return _not_after(pair) - timedelta(days=days, hours=1)


def _without_certificate(pair: KeyPair) -> KeyPair:
    return KeyPair(pair.key_id, pair.private_key_pem, b"")


def _secret_document(*pairs: KeyPair) -> str:
    """A secret as an operator writes it: entries without a certificate keep none."""
    entries = []
    for pair in pairs:
        entry = {"key_id": pair.key_id, "private_key": pair.private_key_pem.decode()}
        if pair.certificate_pem:
            entry["certificate"] = pair.certificate_pem.decode()
        entries.append(entry)
    return json.dumps({"keys": entries})


def _put_secret(aws: Aws, document: str) -> str:
    name = f"cardline/ivr-keys-{uuid.uuid4().hex[:8]}"
    aws.client("secretsmanager").create_secret(Name=name, SecretString=document)
    return name


def _no_private_material(text: str, *pairs: KeyPair) -> None:
    assert "PRIVATE KEY" not in text
    for pair in pairs:
        body = pair.private_key_pem.decode().splitlines()[1:-1]
        assert not any(line in text for line in body if len(line) > 16)


# -- the verdicts ---------------------------------------------------------------------


def test_a_good_pair_reports_subject_expiry_days_left_and_a_match(key_pair: KeyPair) -> None:
    now = _days_before_expiry(key_pair, 200)
    (status,) = check_key_pairs([key_pair], now=now)
    assert status.key_id == key_pair.key_id
    assert status.subject == "CN=cardline IVR input encryption"
    assert status.days_left == 200
    assert status.key_matches is True
    assert status.status == key_check.OK
    assert exit_code([status]) == key_check.EXIT_OK == 0


@pytest.mark.parametrize(
    ("days", "warn_days", "verdict", "code"),
    [
        (31, 30, key_check.OK, 0),
        (29, 30, key_check.EXPIRING, 3),
        (0, 30, key_check.EXPIRING, 3),  # hours left: still valid, still a warning
        (29, 7, key_check.OK, 0),
    ],
)
def test_a_certificate_within_the_warning_window_warns(
    key_pair: KeyPair, days: int, warn_days: int, verdict: str, code: int
) -> None:
    now = _days_before_expiry(key_pair, days)
    statuses = check_key_pairs([key_pair], now=now, warn_days=warn_days)
    assert [s.status for s in statuses] == [verdict]
    assert exit_code(statuses) == code
    assert days_to_expiry(statuses) == days


def test_an_expired_or_not_yet_valid_certificate_fails(key_pair: KeyPair) -> None:
    after = _not_after(key_pair) + timedelta(days=2, hours=1)
    statuses = check_key_pairs([key_pair], now=after)
    assert [(s.status, s.days_left) for s in statuses] == [(key_check.EXPIRED, -3)]
    assert exit_code(statuses) == key_check.EXIT_FAILING == 4
    before = _not_after(key_pair) - timedelta(days=400)
    statuses = check_key_pairs([key_pair], now=before)
    assert [s.status for s in statuses] == [key_check.NOT_YET_VALID]
    assert exit_code(statuses) == 4
    assert days_to_expiry(statuses) == 0


def test_a_private_key_that_is_not_the_certificates_fails(
    key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    crossed = KeyPair(key_pair.key_id, other_key_pair.private_key_pem, key_pair.certificate_pem)
    statuses = check_key_pairs([crossed, other_key_pair], now=_days_before_expiry(key_pair, 90))
    assert [(s.status, s.key_matches) for s in statuses] == [
        (key_check.MISMATCH, False),
        (key_check.OK, True),
    ]
    assert exit_code(statuses) == 4
    assert days_to_expiry(statuses) == 0  # it cannot decrypt now, whatever its dates say


def test_an_entry_without_certificate_is_unknown_with_advice(key_pair: KeyPair) -> None:
    statuses = check_key_pairs([_without_certificate(key_pair)])
    (status,) = statuses
    assert status.status == key_check.CERTIFICATE_UNKNOWN
    assert status.days_left is None
    assert status.not_after is None
    assert '"certificate"' in status.advice
    assert exit_code(statuses) == 3
    assert days_to_expiry(statuses) is None


def test_an_unreadable_certificate_or_private_key_fails(key_pair: KeyPair) -> None:
    bad_certificate = KeyPair("a", key_pair.private_key_pem, b"-----BEGIN CERTIFICATE-----\nx")
    bad_private = KeyPair(
        "b",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        key_pair.certificate_pem,
    )
    statuses = check_key_pairs([bad_certificate, bad_private])
    assert [s.status for s in statuses] == [key_check.UNREADABLE] * 2
    assert statuses[1].key_matches is None
    assert exit_code(statuses) == 4


def test_the_table_and_json_hold_no_private_key_material(
    key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    crossed = KeyPair("crossed", other_key_pair.private_key_pem, key_pair.certificate_pem)
    statuses = check_key_pairs([key_pair, crossed, _without_certificate(other_key_pair)])
    table = key_check.render_table(statuses, source="here", warn_days=30)
    document = key_check.render_json(statuses, source="here", warn_days=30)
    for text in (table, document):
        _no_private_material(text, key_pair, other_key_pair)
    assert "certificate unknown" in table
    assert "mismatch" in table
    assert "result: failing (exit 4)" in table
    parsed = json.loads(document)
    assert parsed["exit_code"] == 4
    assert [k["status"] for k in parsed["keys"]] == ["ok", "mismatch", "certificate_unknown"]
    assert set(parsed["keys"][0]) == {
        "key_id",
        "status",
        "subject",
        "not_after",
        "days_left",
        "key_matches",
        "advice",
    }


# -- the command ----------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["ivr", "keys", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_reads_the_data_directorys_key_file(
    data_dir: Path, key_pair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / KEY_FILE).write_text(key_document([key_pair]))
    code, out, _ = _cli(capsys, "check", "--data-dir", str(data_dir))
    assert code == 0
    assert key_pair.key_id in out
    assert "CN=cardline IVR input encryption" in out
    code, out, _ = _cli(capsys, "check", "--data-dir", str(data_dir), "--warn-days", "400")
    assert code == 3
    code, out, _ = _cli(capsys, "check", "--data-dir", str(data_dir), "--json")
    assert json.loads(out)["keys"][0]["key_matches"] is True
    _no_private_material(out, key_pair)


def test_check_without_a_key_file_says_how_to_make_one(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(capsys, "check", "--data-dir", str(data_dir))
    assert code == 1
    assert out == ""
    assert "cardline serve" in err
    assert "cardline ivr keys add" in err
    assert not (data_dir / KEY_FILE).exists()  # a check never makes a key


def test_check_reads_the_secret_with_and_without_certificates(
    aws: Aws,
    key_pair: KeyPair,
    other_key_pair: KeyPair,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in aws.environment().items():
        monkeypatch.setenv(name, value)
    # An older secret: the first entry was written before certificates were kept.
    secret = _put_secret(aws, _secret_document(_without_certificate(key_pair), other_key_pair))
    code, out, _ = _cli(capsys, "check", "--secret-id", secret, "--json")
    assert code == 3
    parsed = json.loads(out)
    assert [(k["key_id"], k["status"]) for k in parsed["keys"]] == [
        (key_pair.key_id, "certificate_unknown"),
        (other_key_pair.key_id, "ok"),
    ]
    assert parsed["days_to_expiry"] is None
    _no_private_material(out, key_pair, other_key_pair)
    code, out, err = _cli(capsys, "check", "--secret-id", "cardline/absent")
    assert code == 1
    assert out == ""
    assert "cannot read secret cardline/absent" in err


def test_check_takes_a_certificate_file_alone(
    tmp_path: Path, key_pair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ivr-cert.pem"
    path.write_bytes(key_pair.certificate_pem)
    code, out, _ = _cli(capsys, "check", "--certificate", str(path), "--json")
    assert code == 0
    (entry,) = json.loads(out)["keys"]
    assert entry["key_id"] == str(path)
    assert entry["key_matches"] is None
    assert entry["days_left"] >= 364


def test_add_and_remove_refuse_what_they_cannot_do(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(capsys, "add", "--secret-id", "x", "--data-dir", str(data_dir))[0] == 1
    assert _cli(capsys, "remove", "--data-dir", str(data_dir))[0] == 1
    assert _cli(capsys, "add", "--data-dir", str(data_dir))[0] == 0
    only = read_local_key_pairs(data_dir)[0].key_id
    code, _, err = _cli(capsys, "remove", only, "--data-dir", str(data_dir))
    assert code == 1
    assert "only key" in err
    assert _cli(capsys, "add", "--data-dir", str(data_dir))[0] == 0
    code, _, err = _cli(capsys, "add", "--data-dir", str(data_dir))
    assert code == 1
    assert f"remove {only}" in err
    assert (data_dir / KEY_FILE).stat().st_mode & 0o777 == 0o600


# -- rotation with two active keys ----------------------------------------------------


def _encrypt(digits: str, pair: KeyPair) -> str:
    return encrypt_like_connect(digits, key_id=pair.key_id, certificate_pem=pair.certificate_pem)


def test_a_local_rotation_keeps_both_keys_working_until_the_old_is_removed(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = add_local_key_pair(data_dir)
    in_flight = _encrypt("4012888888881881", old)  # a call that started before the rotation
    code, new_id, _ = _cli(capsys, "add", "--data-dir", str(data_dir))
    assert code == 0
    pairs = read_local_key_pairs(data_dir)
    assert [p.key_id for p in pairs] == [new_id.strip(), old.key_id]  # new first: the flow's
    new = pairs[0]
    both = ConnectDecryptor(p.connect_key() for p in pairs)
    assert both.decrypt(in_flight) == "4012888888881881"
    assert both.decrypt(_encrypt("1230", new)) == "1230"
    code, out, _ = _cli(capsys, "check", "--data-dir", str(data_dir), "--json")
    assert code == 0
    assert [k["key_id"] for k in json.loads(out)["keys"]] == [new.key_id, old.key_id]
    remove_local_key_pair(data_dir, old.key_id)
    left = read_local_key_pairs(data_dir)
    assert [p.key_id for p in left] == [new.key_id]
    only_new = ConnectDecryptor(p.connect_key() for p in left)
    assert only_new.decrypt(_encrypt("123", new)) == "123"
    with pytest.raises(DecryptionFailed) as failed:
        only_new.decrypt(in_flight)
    assert failed.value.code == "unknown_key_id"
    with pytest.raises(KeyConfigError, match="no key"):
        remove_local_key_pair(data_dir, old.key_id)


def test_a_secret_rotation_decrypts_to_either_key_then_to_the_new_alone(
    aws: Aws, key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    old, new = key_pair, other_key_pair
    client = aws.client("secretsmanager")
    secret = _put_secret(aws, _secret_document(old))
    client.put_secret_value(SecretId=secret, SecretString=_secret_document(old, new))
    during = ConnectDecryptor(keys_from_secrets_manager(secret, client))
    assert during.decrypt(_encrypt("4012888888881881", old)) == "4012888888881881"
    assert during.decrypt(_encrypt("4012888888881881", new)) == "4012888888881881"
    buffer = _Lines()
    answer = run_key_check(
        {"cardline": KEY_CHECK, "stack": STACK}, secret, client=client, stream=buffer
    )
    assert answer["keys"] == "2"
    client.put_secret_value(SecretId=secret, SecretString=_secret_document(new))
    after = ConnectDecryptor(keys_from_secrets_manager(secret, client))
    assert after.decrypt(_encrypt("1230", new)) == "1230"
    with pytest.raises(DecryptionFailed):
        after.decrypt(_encrypt("1230", old))


# -- the scheduled check's metric -----------------------------------------------------


class _Lines:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def _assert_emf(line: str) -> dict[str, Any]:
    """``line`` is one EMF document as the specification defines it; answers it."""
    document = json.loads(line)
    metadata = document["_aws"]
    assert set(metadata) == {"Timestamp", "CloudWatchMetrics"}
    assert isinstance(metadata["Timestamp"], int)
    assert metadata["Timestamp"] > 0
    (directive,) = metadata["CloudWatchMetrics"]
    assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
    assert directive["Namespace"] == NAMESPACE
    for dimension_set in directive["Dimensions"]:
        assert 1 <= len(dimension_set) <= 30
        for name in dimension_set:
            assert isinstance(document[name], str)  # a target member: the dimension's value
    for metric in directive["Metrics"]:
        assert metric["Unit"] in {"None", "Count"}
        assert isinstance(document[metric["Name"]], int | float)
    return dict(document)


def test_the_metric_line_is_emf_with_the_stack_as_its_only_dimension() -> None:
    line = emf_line(42, stack=STACK, now=datetime.fromisoformat("2026-12-02T06:00:00+00:00"))
    document = _assert_emf(line)
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stack"]]
    assert document["Stack"] == STACK
    assert document[METRIC] == 42
    assert document["_aws"]["Timestamp"] == 1796191200000
    assert "\n" not in line


def test_the_scheduled_check_writes_the_fewest_days_left_and_no_key_material(
    aws: Aws, key_pair: KeyPair
) -> None:
    soon = generate_key_pair(days=20)
    client = aws.client("secretsmanager")
    secret = _put_secret(aws, _secret_document(key_pair, soon))
    out = _Lines()
    now = _days_before_expiry(soon, 12)
    answer = run_key_check(
        {"cardline": KEY_CHECK, "stack": STACK}, secret, client=client, stream=out, now=now
    )
    (line,) = out.text.splitlines()
    document = _assert_emf(line)
    assert document[METRIC] == 12
    assert answer == {"check": KEY_CHECK, "keys": "2", "days_to_expiry": "12"}
    _no_private_material(out.text + json.dumps(answer), key_pair, soon)
    assert "CERTIFICATE" not in out.text


def test_an_entry_without_certificate_writes_no_metric_so_the_alarm_fires(
    aws: Aws, key_pair: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    client = aws.client("secretsmanager")
    secret = _put_secret(aws, _secret_document(_without_certificate(key_pair)))
    out = _Lines()
    answer = run_key_check(
        {"cardline": KEY_CHECK, "stack": STACK}, secret, client=client, stream=out
    )
    assert out.text == ""
    assert answer["days_to_expiry"] == "unknown"
    assert any("alarm" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "event",
    [
        {"cardline": "something-else", "stack": STACK},
        {"cardline": KEY_CHECK},
        {"cardline": KEY_CHECK, "stack": "not a stack\n"},
    ],
)
def test_other_scheduled_events_are_refused(event: dict[str, Any]) -> None:
    with pytest.raises(NotAKeyCheck):
        run_key_check(event, "cardline/ivr-keys", client=object(), stream=_Lines())


def test_the_ivr_function_answers_its_schedule_without_building_the_charger(
    aws: Aws,
    key_pair: KeyPair,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in aws.environment().items():
        monkeypatch.setenv(name, value)
    secret = _put_secret(aws, _secret_document(key_pair))
    monkeypatch.setenv("CARDLINE_IVR_KEYS_SECRET_ID", secret)
    monkeypatch.delenv("PAYPAL_CLIENT_ID", raising=False)  # a charger could not be built
    monkeypatch.setattr(lambda_handler, "_handler", None)
    answer = lambda_handler.handler({"cardline": KEY_CHECK, "stack": STACK}, None)
    assert answer["check"] == KEY_CHECK
    assert int(answer["days_to_expiry"]) >= 364
    assert lambda_handler._handler is None
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if '"_aws"' in ln]
    assert _assert_emf(line)[METRIC] == int(answer["days_to_expiry"])
    # A broken secret: logged by type and reason, no metric, an answer all the same.
    monkeypatch.setenv("CARDLINE_IVR_KEYS_SECRET_ID", "cardline/absent")
    answer = lambda_handler.handler({"cardline": KEY_CHECK, "stack": STACK}, None)
    assert answer["check"] == "failed"
    assert '"_aws"' not in capsys.readouterr().out


def test_importing_the_ivr_function_leaves_the_key_check_unimported() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cardline.ivr.lambda_handler; print(sorted(m for m in ("
            "'cardline.ivr.key_check', 'cardline.ivr.key_expiry_metric', 'cardline.ivr.keys',"
            "'cryptography', 'boto3') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
