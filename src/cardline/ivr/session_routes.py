"""The agent-assisted IVR routes, on every host that keeps sessions (local and the AWS
backoffice): ``POST /v1/ivr/sessions`` starts one, ``GET /v1/ivr/sessions/{id}`` follows
it. As with payments, an agent reads the sessions they started and a supervisor every one.
No card data is ever sent or answered here (cardline.ivr.sessions)."""

from __future__ import annotations

from collections.abc import Callable

from cardline.cde.errors import NotFound, RoleRequired
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Response, json_response
from cardline.cde.roles import AGENT, SUPERVISOR
from cardline.ivr.sessions import NO_SESSION, SESSION_ATTRIBUTE, SessionStore, parse_session_request

__all__ = ["ANOTHER_AGENTS", "SESSIONS_PATH", "session_routes"]

SESSIONS_PATH = "/v1/ivr/sessions"
ANOTHER_AGENTS = "Another agent started this session: reading it needs the supervisor role"


def session_routes(sessions: Callable[[], SessionStore]) -> list[Route]:
    """The two session routes on the store ``sessions`` gives (built on first use)."""

    def create_session(call: Call) -> Response:
        terms = parse_session_request(call.request.json())
        session = sessions().create(terms, operator=call.operator, origin=call.request.source_ip)
        body = {**session.to_dict(), "contact_attributes": {SESSION_ATTRIBUTE: session.id}}
        return json_response(201, body, {"Location": f"{SESSIONS_PATH}/{session.id}"})

    def get_session(call: Call) -> Response:
        session = sessions().get(call.params["id"])
        if session is None:
            raise NotFound(NO_SESSION)
        if not call.holds(SUPERVISOR) and session.operator != call.operator:
            raise RoleRequired(SUPERVISOR, ANOTHER_AGENTS)
        return json_response(200, session.to_dict())

    return [
        Route("POST", SESSIONS_PATH, create_session, role=AGENT),
        Route("GET", SESSIONS_PATH + "/{id}", get_session, role=AGENT),
    ]
