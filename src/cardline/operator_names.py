"""Who an operator id is: the name the console shows for the agent behind a payment.

The ledger and the audit log keep the operator's id (an ``op_`` id from ``operators.json``
locally, the Cognito user's ``sub`` on AWS): an id never changes and names no person
in a log. The backoffice turns it into a name when it serves a payment:

- locally and on EC2, :class:`cardline.operators.OperatorStore` (``operators.json``);
- on AWS, :class:`CognitoOperatorNames`: the operator user pool's user with that ``sub``
  (its ``name`` attribute, else its email), looked up once per function instance.

The identities cardline charges under itself get a word instead (the IVR, reconcile).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from cardline.cde import ids
from cardline.cde.pan import mask_pans

__all__ = ["CognitoOperatorNames", "NoOperatorNames", "OperatorNames", "display_name"]

log = logging.getLogger("cardline.operators")

_SYSTEM = {"reconcile": "Reconciliation"}
_IVR_PREFIX = "ivr:"
_IVR_NAME = "Caller's keypad (IVR)"


class OperatorNames(Protocol):
    def name_of(self, operator_id: str) -> str | None:
        """The agent's name for this operator id, or None when it is not known."""
        ...


class NoOperatorNames:
    """A host that knows no names: the console shows the id."""

    def name_of(self, operator_id: str) -> str | None:
        return None


def display_name(operator_id: object, names: OperatorNames) -> str | None:
    """The name to show for ``operator_id``: an agent's, a word for cardline's own
    identities, or None."""
    if not isinstance(operator_id, str) or not operator_id:
        return None
    if operator_id in _SYSTEM:
        return _SYSTEM[operator_id]
    if operator_id.startswith(_IVR_PREFIX):
        return _IVR_NAME
    return names.name_of(operator_id)


class CognitoOperatorNames:
    """Names from the operator user pool (``cognito-idp:ListUsers``, filtered by ``sub``).

    An agent's name is looked up once and kept for the function instance's life; a failed
    look-up is not kept (the next request asks again) and shows the id meanwhile. Only a
    ``sub`` (a UUID) is ever put into the filter, so no caller's text reaches it.
    """

    MAX_KEPT = 1024

    def __init__(self, user_pool_id: str, client: Any = None) -> None:
        self._pool = user_pool_id
        self._client = client
        self._names: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def _cognito(self) -> Any:
        if self._client is None:
            import boto3  # the backoffice's dependency, imported where used

            self._client = boto3.client("cognito-idp")
        return self._client

    def name_of(self, operator_id: str) -> str | None:
        if not ids.is_uuid(operator_id):
            return None
        with self._lock:
            if operator_id in self._names:
                return self._names[operator_id]
        try:
            answer = self._cognito().list_users(
                UserPoolId=self._pool,
                Filter=f'sub = "{operator_id}"',
                AttributesToGet=["name", "email"],
                Limit=1,
            )
        except Exception as error:  # noqa: BLE001 - a name is a courtesy, never a failure
            log.warning("operator name look-up failed: %s", type(error).__name__)
            return None
        name = _name_in(answer)
        with self._lock:
            if len(self._names) >= self.MAX_KEPT:
                self._names.clear()
            self._names[operator_id] = name
        return name


def _name_in(answer: Any) -> str | None:
    users = answer.get("Users") if isinstance(answer, dict) else None
    if not users:
        return None
    attributes = {item.get("Name"): item.get("Value") for item in users[0].get("Attributes", [])}
    for key in ("name", "email"):
        value = attributes.get(key)
        if isinstance(value, str) and value.strip():
            return mask_pans(value.strip()[:128], inside_identifiers=True)
    return None
