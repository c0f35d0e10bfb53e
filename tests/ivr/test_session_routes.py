"""Who may read an agent-assisted session: as with payments, an agent reads the sessions
they started, a supervisor every one (cardline.cde.roles)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cardline.cde import roles
from cardline.cde.http.messages import Request, Response
from cardline.local import LocalStack, build_local
from tests.seeded import contact_id


@pytest.fixture
def stack(data_dir: Path) -> Iterator[LocalStack]:
    built = build_local(data_dir, environ={})
    try:
        yield built
    finally:
        built.close()


def _call(stack: LocalStack, key: str, method: str, path: str, body: Any = None) -> Response:
    return stack.app.handle(
        Request(
            method,
            path,
            headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
            body=json.dumps(body).encode() if body is not None else b"",
        )
    )


def _started_by(stack: LocalStack, key: str) -> dict[str, Any]:
    answer = _call(
        stack,
        key,
        "POST",
        "/v1/ivr/sessions",
        {
            "contact_id": contact_id(),
            "amount": "3.00",
            "currency": "USD",
            "cardholder_name": "Ada Lovelace",
        },
    )
    assert answer.status == 201, answer.body
    session: dict[str, Any] = json.loads(answer.body)
    return session


def test_an_agent_reads_their_own_session_not_another_agents(stack: LocalStack) -> None:
    _ada, ada = stack.operators.add("ada", role=roles.AGENT)
    _bob, bob = stack.operators.add("bob", role=roles.AGENT)
    session = _started_by(stack, ada)
    path = f"/v1/ivr/sessions/{session['id']}"
    assert _call(stack, ada, "GET", path).status == 200
    refused = _call(stack, bob, "GET", path)
    assert refused.status == 403
    problem = json.loads(refused.body)
    assert (problem["code"], problem["role"]) == ("role_required", roles.SUPERVISOR)
    assert session["id"] not in refused.body.decode()


def test_a_supervisor_reads_every_agents_session(stack: LocalStack) -> None:
    _ada, ada = stack.operators.add("ada", role=roles.AGENT)
    _sue, sue = stack.operators.add("sue", role=roles.SUPERVISOR)
    session = _started_by(stack, ada)
    answer = _call(stack, sue, "GET", f"/v1/ivr/sessions/{session['id']}")
    assert answer.status == 200
    assert json.loads(answer.body)["operator"] == session["operator"]
