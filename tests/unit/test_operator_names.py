"""The agent's name behind an operator id: operators.json locally, the Cognito pool on AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cardline.cde import audit
from cardline.operator_names import CognitoOperatorNames, NoOperatorNames, display_name
from cardline.operators import OperatorStore
from tests.cards import VISA

SUB = "4f1c2a7e-0b3d-4e5f-9a8b-6c7d8e9f0a1b"


class _Pool:
    """A stand-in for boto3's cognito-idp client: ListUsers, counted."""

    def __init__(self, users: dict[str, list[dict[str, str]]], fail: bool = False) -> None:
        self.users = users
        self.fail = fail
        self.filters: list[str] = []

    def list_users(self, **request: Any) -> dict[str, Any]:
        self.filters.append(request["Filter"])
        if self.fail:
            raise ConnectionError("unreachable")
        sub = request["Filter"].removeprefix('sub = "').removesuffix('"')
        found = self.users.get(sub)
        return {"Users": [{"Attributes": found}] if found else []}


def test_locally_the_name_comes_from_operators_json_even_once_revoked(tmp_path: Path) -> None:
    store = OperatorStore(tmp_path / "operators.json", audit.FileSink(tmp_path / "audit.jsonl"))
    operator, _key = store.add("Grace Hopper")
    assert display_name(operator.id, store) == "Grace Hopper"
    store.revoke(operator.id)
    assert display_name(operator.id, store) == "Grace Hopper"  # the payment keeps its taker
    assert display_name("op_nobody", store) is None


def test_cardlines_own_identities_get_a_word() -> None:
    assert display_name("reconcile", NoOperatorNames()) == "Reconciliation"
    assert display_name("ivr:instance", NoOperatorNames()) == "Caller's keypad (IVR)"
    assert display_name(None, NoOperatorNames()) is None


def test_on_aws_the_name_is_the_pool_users_looked_up_once() -> None:
    pool = _Pool({SUB: [{"Name": "email", "Value": "ada@example.com"}]})
    names = CognitoOperatorNames("eu-central-1_pool", pool)
    assert names.name_of(SUB) == "ada@example.com"
    assert names.name_of(SUB) == "ada@example.com"
    assert pool.filters == [f'sub = "{SUB}"']
    pool.users[SUB].append({"Name": "name", "Value": "Ada Lovelace"})
    assert CognitoOperatorNames("p", pool).name_of(SUB) == "Ada Lovelace"  # name before email


def test_only_a_sub_reaches_the_filter_and_a_failure_shows_the_id_meanwhile() -> None:
    pool = _Pool({}, fail=True)
    names = CognitoOperatorNames("p", pool)
    for hostile in ('x" or sub ^= "', "", SUB.upper(), f"{SUB} "):
        assert names.name_of(hostile) is None
    assert pool.filters == []
    assert names.name_of(SUB) is None
    pool.fail = False
    pool.users[SUB] = [{"Name": "name", "Value": f"Ada {VISA}"}]
    assert names.name_of(SUB) == "Ada [PAN ••••1881 masked]"  # a failure was not kept
    assert len(pool.filters) == 2
