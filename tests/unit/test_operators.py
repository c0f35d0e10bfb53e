"""Operator keys: a change made by another process (`cardline operators`) counts at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardline.cde import audit
from cardline.cde.errors import AuthenticationFailed
from cardline.cde.http.messages import Request
from cardline.operators import OperatorStore


class _Events:
    def emit(self, event: audit.AuditEvent) -> None:
        pass


def _bearer(key: str) -> Request:
    return Request(method="GET", path="/v1/payments", headers={"authorization": f"Bearer {key}"})


def test_keys_added_and_revoked_elsewhere_count_on_the_next_request(tmp_path: Path) -> None:
    path = tmp_path / "operators.json"
    serving, cli = OperatorStore(path, _Events()), OperatorStore(path, _Events())
    ada, ada_key = cli.add("ada")
    assert serving.authenticate(_bearer(ada_key)).operator == ada.id
    grace, grace_key = cli.add("grace")
    assert serving.authenticate(_bearer(grace_key)).operator == grace.id
    cli.revoke("ada")
    with pytest.raises(AuthenticationFailed):
        serving.authenticate(_bearer(ada_key))
    assert serving.authenticate(_bearer(grace_key)).operator == grace.id


def test_operators_handed_out_are_copies_of_what_is_stored(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "operators.json", _Events())
    _ada, key = store.add("ada")
    store.list()[0].revoked_at = "changed in memory only"
    assert store.list()[0].revoked_at is None
    assert store.authenticate(_bearer(key))
