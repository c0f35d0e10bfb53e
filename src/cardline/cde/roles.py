"""Operator roles: who may do what, checked by the App on every route.

The roles form a ladder, each holding every right of the ones below it:

    agent        takes payments, sees the payments they took
    supervisor   also refunds, captures, voids, sees every payment, exports them
    admin        also manages operators (the CLI locally, the Cognito groups on AWS)

Every route declares the lowest role it needs (``Route(..., role=...)``), or ``PUBLIC``
for the few that need no operator at all (/health, the OpenAPI document, the console's
static files, PayPal's webhook deliveries). An operator with no role recorded (an
operators.json written before roles, a Cognito user in no group) is an ``agent``: the
least right is the safe reading of a missing one.

Standard library only: the charge Lambda checks the role of every payment.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ADMIN", "AGENT", "DEFAULT_ROLE", "PUBLIC", "ROLES", "SUPERVISOR", "allows", "highest"]

AGENT = "agent"
SUPERVISOR = "supervisor"
ADMIN = "admin"
# Lowest first: a role holds the rights of every role before it.
ROLES = (AGENT, SUPERVISOR, ADMIN)
# A route anyone may call, without an operator's credential.
PUBLIC = "public"
# The role of an operator who has none recorded.
DEFAULT_ROLE = AGENT

_RANK = {role: rank for rank, role in enumerate(ROLES)}


def allows(held: str, needed: str) -> bool:
    """Whether an operator holding ``held`` may use what needs ``needed``; an unknown
    role (held or needed) allows nothing but a public route."""
    if needed == PUBLIC:
        return True
    rank = _RANK.get(held)
    return rank is not None and needed in _RANK and rank >= _RANK[needed]


def highest(groups: Iterable[str]) -> str:
    """The highest role among ``groups`` (a Cognito user's group names); the default
    role when none of them is a role."""
    ranks = [_RANK[group] for group in groups if group in _RANK]
    return ROLES[max(ranks)] if ranks else DEFAULT_ROLE
