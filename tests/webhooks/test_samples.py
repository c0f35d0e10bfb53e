"""The sample resources are valid by PayPal's own OpenAPI documents."""

from __future__ import annotations

import pytest

from tests.conformance.spec import SKIP_REASON, SPEC_DIR, load_spec, validate_schema
from tests.webhooks.samples import RESOURCES

pytestmark = pytest.mark.skipif(SPEC_DIR is None, reason=SKIP_REASON)


@pytest.mark.parametrize("event_type", sorted(RESOURCES))
def test_each_sample_resource_is_what_paypals_document_describes(event_type: str) -> None:
    document, schema, resource = RESOURCES[event_type]
    validate_schema(load_spec(document), schema, resource)
