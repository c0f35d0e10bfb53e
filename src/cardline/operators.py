"""Operators (agents) and their API keys for the local and EC2 hosts.

Keys are 256-bit random tokens shown once; only their SHA-256 is stored. An unkeyed hash
is sound here because the key, unlike a PAN, has far too much entropy to brute-force.
On AWS the API Gateway authorizer (Cognito) identifies agents instead.

Each operator has a role (cardline.cde.roles): an entry written before roles existed has
none and is read as ``agent``, the least right (``cardline operators role NAME ROLE``
gives it another).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cardline.cde import audit, ids, roles
from cardline.cde.errors import AuthenticationFailed, InvalidRequest, NotFound
from cardline.cde.http.app import Caller
from cardline.cde.http.messages import Request

KEY_PREFIX = "cl_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$")


@dataclass
class Operator:
    id: str
    name: str
    key_sha256: str
    created_at: str
    revoked_at: str | None = None
    role: str = roles.DEFAULT_ROLE


def _role(role: str) -> str:
    if role not in roles.ROLES:
        raise InvalidRequest("A role is one of " + ", ".join(roles.ROLES), field="role")
    return role


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class OperatorStore:
    """Operators kept in a JSON file (mode 0600), written atomically."""

    def __init__(self, path: Path, sink: audit.AuditSink) -> None:
        self.path = path
        self._sink = sink
        self._lock = threading.Lock()
        # The parsed file and the stat it was read at: every request authenticates, and a
        # stat costs less than a read and a parse. Every write (ours or another process's
        # `cardline operators`) replaces the file, so a new inode shows the change at once.
        self._cached: tuple[tuple[int, int, int], list[dict[str, Any]]] | None = None

    def _load(self) -> list[Operator]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cached is None or self._cached[0] != version:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self._cached = (version, list(data.get("operators", [])))
        # Fresh objects each time: revoke() changes the ones it gets before saving.
        # An entry without a role (written before roles) is read with the default role.
        return [
            Operator(**{**item, "role": item.get("role") or roles.DEFAULT_ROLE})
            for item in self._cached[1]
        ]

    def _save(self, operators: list[Operator]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"operators": [asdict(o) for o in operators]}, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)

    def list(self) -> list[Operator]:
        with self._lock:
            return self._load()

    def add(
        self,
        name: str,
        *,
        role: str = roles.DEFAULT_ROLE,
        by: str = "cli",
        origin: str = "local",
    ) -> tuple[Operator, str]:
        """Create an operator with ``role``; returns it and its new key (the only time the
        key exists)."""
        _role(role)
        if not _NAME.match(name) or audit.contains_pan(name):
            raise InvalidRequest(
                "Operator names are 1 to 64 letters, digits, spaces or . _ @ -, "
                "without a card number",
                field="name",
            )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            operators = self._load()
            if any(o.name == name and o.revoked_at is None for o in operators):
                raise InvalidRequest(f"An operator named {name!r} already exists", field="name")
            operator = Operator(
                id="op_" + ids.random_id(16),
                name=name,
                key_sha256=_hash(key),
                created_at=audit.utc_now(),
                role=role,
            )
            self._save([*operators, operator])
        self._emit(audit.OPERATOR_ADDED, operator, by, origin)
        return operator, key

    def revoke(self, name_or_id: str, *, by: str = "cli", origin: str = "local") -> Operator:
        def revoked(operator: Operator) -> None:
            operator.revoked_at = audit.utc_now()

        operator = self._change(name_or_id, revoked)
        self._emit(audit.OPERATOR_REVOKED, operator, by, origin)
        return operator

    def set_role(
        self, name_or_id: str, role: str, *, by: str = "cli", origin: str = "local"
    ) -> Operator:
        """Give the active operator with this name or id ``role`` (from their next request)."""
        _role(role)
        previous: list[str] = []

        def promoted(operator: Operator) -> None:
            previous.append(operator.role)
            operator.role = role

        operator = self._change(name_or_id, promoted)
        self._emit(audit.OPERATOR_ROLE_CHANGED, operator, by, origin, previous=previous[0])
        return operator

    def _change(self, name_or_id: str, change: Callable[[Operator], None]) -> Operator:
        """Apply ``change`` to the active operator with this name or id and save it."""
        with self._lock:
            operators = self._load()
            for operator in operators:
                if name_or_id in (operator.id, operator.name) and operator.revoked_at is None:
                    change(operator)
                    self._save(operators)
                    return operator
        raise NotFound("No active operator has this name or id")

    def name_of(self, operator_id: str) -> str | None:
        """The name of the operator with this id, revoked or not (a payment keeps the name
        of the agent who took it); None for an id this store never issued."""
        for operator in self.list():
            if operator.id == operator_id:
                return operator.name
        return None

    def authenticate(self, request: Request) -> Caller:
        """The operator id and role for the request's Bearer key; raises
        AuthenticationFailed."""
        header = request.header("authorization") or ""
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthenticationFailed("Send an operator key as 'Authorization: Bearer <key>'")
        presented = _hash(key.strip())
        found = None
        for operator in self.list():
            # Compare every entry so the time taken does not tell which one matched.
            if hmac.compare_digest(operator.key_sha256, presented) and operator.revoked_at is None:
                found = operator
        if found is None:
            raise AuthenticationFailed("The operator key is not valid")
        return Caller(found.id, found.role)

    def _emit(self, kind: str, operator: Operator, by: str, origin: str, **more: str) -> None:
        audit.record(
            self._sink,
            kind,
            operator=by,
            outcome="success",
            origin=origin,
            resource=operator.id,
            details={"name": operator.name, "role": operator.role, **more},
        )
