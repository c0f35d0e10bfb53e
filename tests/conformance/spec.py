"""PayPal's official OpenAPI documents as test oracles.

Load a document with :func:`load_spec` ("checkout_orders_v2" or "payments_payment_v2"),
then check a JSON instance against a named schema, an operation's response for one
status, or an operation's request body. Every ``#/components/...`` reference resolves
inside the loaded document (a ``referencing`` registry holds it under its own URI).

The documents are OpenAPI 3.0.3: schemas are draft-4 flavoured with ``nullable``,
``readOnly`` and ``writeOnly``, which ``openapi_schema_validator`` understands. Responses
are checked with its read validator (read-only fields allowed, write-only ones not) and
request bodies with its write validator (read-only fields such as ``last_digits`` must
not be sent).

The folder is ``../shared/paypal-openapi`` next to the repository, or the directory in
``CARDLINE_PAYPAL_OPENAPI``; :data:`SPEC_DIR` is None when neither exists, and test
modules skip themselves then (and fail the run when ``CI`` is set: tests/reference_docs.py).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry
from referencing.jsonschema import DRAFT4

from tests.reference_docs import missing

SPEC_NAMES = ("checkout_orders_v2", "payments_payment_v2")
_URI = "urn:paypal-openapi:"


def _spec_dir() -> Path | None:
    configured = os.environ.get("CARDLINE_PAYPAL_OPENAPI")
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared" / "paypal-openapi")
    for candidate in candidates:
        if all((candidate / f"{name}.json").is_file() for name in SPEC_NAMES):
            return candidate
    return None


SPEC_DIR: Path | None = _spec_dir()
SKIP_REASON = missing(
    "PayPal's OpenAPI documents: expected ../shared/paypal-openapi/"
    "{checkout_orders_v2,payments_payment_v2}.json next to the repository, "
    "or a directory in CARDLINE_PAYPAL_OPENAPI"
)


@functools.cache
def load_spec(name: str) -> dict[str, Any]:
    """The parsed OpenAPI document ``name`` ("checkout_orders_v2", ".json" optional).

    Cached: treat the result as read-only.
    """
    if SPEC_DIR is None:
        raise FileNotFoundError(SKIP_REASON)
    stem = name.removesuffix(".json")
    document: dict[str, Any] = json.loads((SPEC_DIR / f"{stem}.json").read_text("utf-8"))
    document["x-cardline-uri"] = f"{_URI}{stem}"
    return document


def _uri(spec: Mapping[str, Any]) -> str:
    uri = spec.get("x-cardline-uri")
    if not isinstance(uri, str):
        raise ValueError("pass a document returned by load_spec()")
    return uri


@functools.cache
def _registry(uri: str) -> Registry:
    spec = load_spec(uri.removeprefix(_URI))
    return Registry().with_resource(uri, DRAFT4.create_resource(spec))


def _check(spec: Mapping[str, Any], pointer: str, instance: Any, *, reading: bool) -> None:
    uri = _uri(spec)
    validator_class = OAS30ReadValidator if reading else OAS30WriteValidator
    validator = validator_class(
        {"$ref": f"{uri}{pointer}"},
        registry=_registry(uri),
        format_checker=oas30_format_checker,
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise _summary(errors, pointer)


def _summary(errors: list[ValidationError], pointer: str) -> ValidationError:
    """One error naming every failure (best match first) with its location."""
    lines = []
    for error in errors:
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        lines.append(f"  at {where}: {error.message[:300]}")
    first = errors[0]
    return ValidationError(
        f"{len(errors)} violation(s) of {pointer}:\n" + "\n".join(lines),
        path=first.absolute_path,
        schema_path=first.absolute_schema_path,
    )


def validate_schema(spec: Mapping[str, Any], schema_ref: str, instance: Any) -> None:
    """Check ``instance`` against a schema: "#/components/schemas/order" or just "order".

    Raises ``jsonschema.ValidationError`` listing every violation.
    """
    pointer = schema_ref if schema_ref.startswith("#") else f"#/components/schemas/{schema_ref}"
    _resolve(spec, pointer)  # a clear KeyError for a misspelt name
    _check(spec, pointer, instance, reading=True)


def _resolve(spec: Mapping[str, Any], pointer: str) -> Any:
    node: Any = spec
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _operation(spec: Mapping[str, Any], path_template: str, method: str) -> tuple[str, Any]:
    try:
        operation = spec["paths"][path_template][method.lower()]
    except KeyError:
        raise KeyError(f"{method.upper()} {path_template} is not in the document") from None
    return f"#/paths/{_escape(path_template)}/{method.lower()}", operation


def _follow(spec: Mapping[str, Any], pointer: str, node: Any) -> tuple[str, Any]:
    """Follow a $ref'd response or request body to its definition."""
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"]
        node = _resolve(spec, pointer)
    return pointer, node


def validate_response(
    spec: Mapping[str, Any],
    path_template: str,
    method: str,
    status: int,
    body: Any,
) -> None:
    """Check a response ``body`` for ``method path_template`` answered with ``status``.

    Uses the status's own response, else the operation's ``default``. A response the
    document declares without content (204) requires an empty body (None or b"").
    """
    base, operation = _operation(spec, path_template, method)
    responses = operation["responses"]
    key = str(status) if str(status) in responses else "default"
    if key not in responses:
        raise KeyError(f"{method.upper()} {path_template} declares no {status} response")
    pointer, response = _follow(spec, f"{base}/responses/{key}", responses[key])
    content = response.get("content")
    if not content:
        if body not in (None, b"", ""):
            raise ValidationError(f"{status} declares no body, got {body!r:.200}")
        return
    if "application/json" not in content:
        raise KeyError(f"{status} of {method.upper()} {path_template} has no JSON content")
    _check(spec, f"{pointer}/content/application~1json/schema", body, reading=True)


def validate_request_body(
    spec: Mapping[str, Any],
    path_template: str,
    method: str,
    body: Any,
) -> None:
    """Check a request ``body`` for ``method path_template`` (read-only fields refused)."""
    base, operation = _operation(spec, path_template, method)
    if "requestBody" not in operation:
        raise KeyError(f"{method.upper()} {path_template} takes no request body")
    pointer, request = _follow(spec, f"{base}/requestBody", operation["requestBody"])
    if "application/json" not in request.get("content", {}):
        raise KeyError(f"{method.upper()} {path_template} takes no JSON body")
    _check(spec, f"{pointer}/content/application~1json/schema", body, reading=False)
