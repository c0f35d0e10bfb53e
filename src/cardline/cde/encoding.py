"""JSON as cardline writes it: one encoder per form, each built once (``json.dumps`` with
options builds a new encoder on every call).

- :func:`compact`: no spaces. Every answer body, every request body sent to PayPal, the
  console's settings, the receipt.
- :func:`compact_sorted`: compact with the keys sorted. Audit lines.
- :func:`canonical`: the keys sorted, ``json.dumps``'s default separators. The bytes a
  request fingerprint is a digest of (a charge's ``custom_id``, a refund's fingerprint):
  they must never change, or a retry after a deploy no longer matches its first request
  (``tests/unit/test_known_answers.py`` pins them).

Every form is ASCII (non-ASCII characters escaped). This module is in the charge path:
standard library only.
"""

from __future__ import annotations

import json

__all__ = ["canonical", "compact", "compact_sorted"]

compact = json.JSONEncoder(separators=(",", ":")).encode
compact_sorted = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode
canonical = json.JSONEncoder(sort_keys=True).encode
