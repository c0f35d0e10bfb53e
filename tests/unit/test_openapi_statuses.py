"""Every operation of openapi.yaml documents the answers any request can get, whichever
route it was meant for: the host refuses a request it cannot read (a query string of
more than 50 fields, a broken body) with 400 before any route runs."""

from __future__ import annotations

from typing import Any

import pytest

from cardline.http.backoffice_routes import openapi_document

EVERY_OPERATION = {"400"}  # MalformedRequest from the host adapter (http/wsgi.py)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


@pytest.mark.parametrize(
    ("method", "path", "operation"), _operations(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_operation_documents_what_the_host_answers_for_any_request(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    assert set(operation["responses"]) >= EVERY_OPERATION, f"{method} {path}"
