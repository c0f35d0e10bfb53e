"""Webhook subscriptions and signature verification, as PayPal's Webhooks v1 has them.

``POST /v1/notifications/webhooks`` subscribes a listener URL to event types (names, or
``*`` for all) and answers the ``webhook`` with its id; ``GET`` lists them or shows one,
``DELETE`` removes one. ``POST /v1/notifications/verify-webhook-signature`` answers
SUCCESS for a delivery the emulator made and FAILURE for anything else
(:meth:`cardline.sandbox.deliveries.Deliverer.verify`). ``GET`` on the ``PAYPAL-CERT-URL``
a delivery names returns the certificate that checks its signature.

Subscriptions are kept in the state file. Errors are Webhooks v1's: a ``name`` naming the
problem (``WEBHOOK_URL_ALREADY_EXISTS``, ``WEBHOOK_NUMBER_LIMIT_EXCEEDED``,
``INVALID_RESOURCE_ID``, ``VALIDATION_ERROR`` with ``details``).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cardline.cde import ids
from cardline.sandbox.app import Outcome, Request, json_outcome
from cardline.sandbox.deliveries import Deliverer, Target
from cardline.sandbox.errors import new_debug_id
from cardline.sandbox.events import EVENT_TYPES
from cardline.sandbox.signing import Signer
from cardline.sandbox.state import StateFile

WEBHOOKS_PATH = "/v1/notifications/webhooks"
CERTS_PATH = "/v1/notifications/certs"
MAX_WEBHOOKS = 10  # PayPal allows ten webhooks per app
MAX_URL = 2048
MAX_EVENT_TYPES = 500
ALL = "*"
_EVENT_NAME = re.compile(r"[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)+")
# The verify request's fields: (maxLength, pattern) from verify_webhook_signature (a
# schema pattern is searched, not matched whole: only ^ and $ anchor it). The
# signature's documented pattern is left out: base64 may begin with "+" or "/", which the
# pattern refuses, so PayPal cannot be applying it to its own signatures.
_VERIFY_FIELDS: Mapping[str, tuple[int, re.Pattern[str] | None]] = {
    "auth_algo": (100, re.compile(r"^[a-zA-Z0-9]+$")),
    "cert_url": (500, None),
    "transmission_id": (50, re.compile(r"^(?!\d+$)\w+\S+")),
    "transmission_sig": (500, None),
    "transmission_time": (100, None),
    "webhook_id": (50, re.compile(r"^[a-zA-Z0-9]+$")),
}


@dataclass(frozen=True)
class Webhook:
    """A subscription: a listener URL and the event types it is sent."""

    id: str
    url: str
    event_types: tuple[str, ...]

    def wants(self, event_type: str) -> bool:
        """True when this subscription is sent ``event_type``."""
        return ALL in self.event_types or event_type in self.event_types

    def json(self, base: str) -> dict[str, Any]:
        """The ``webhook`` object."""
        href = f"{base}{WEBHOOKS_PATH}/{self.id}"
        return {
            "id": self.id,
            "url": self.url,
            "event_types": [_event_type(name) for name in self.event_types],
            "links": [
                {"href": href, "rel": "self", "method": "GET"},
                {"href": href, "rel": "delete", "method": "DELETE"},
            ],
        }


def _event_type(name: str) -> dict[str, Any]:
    known = EVENT_TYPES.get(name)
    description = "ALL" if name == ALL else known.description if known else None
    entry: dict[str, Any] = {"name": name}
    if description is not None:
        entry["description"] = description
    return entry


class Refusal(Exception):
    """A Webhooks v1 error answer."""

    def __init__(
        self, status: int, name: str, message: str, details: Iterable[dict[str, str]] = ()
    ) -> None:
        super().__init__(name)
        self.status = status
        self.name = name
        self.message = message
        self.details = list(details)

    def outcome(self) -> Outcome:
        """PayPal's v1 ``error`` body."""
        body: dict[str, Any] = {
            "name": self.name,
            "message": self.message,
            "debug_id": new_debug_id(),
            "information_link": "https://developer.paypal.com/docs/api/webhooks/v1/#errors",
        }
        if self.details:
            body["details"] = self.details
        return json_outcome(self.status, body, {"Paypal-Debug-Id": body["debug_id"]})


def _invalid(field: str, issue: str) -> Refusal:
    return Refusal(
        400, "VALIDATION_ERROR", "Invalid data provided", [{"field": field, "issue": issue}]
    )


class Webhooks:
    """The subscriptions of one emulator and the Webhooks v1 operations on them."""

    def __init__(
        self,
        state: StateFile | None,
        new_id: Callable[[], str],
        signer: Signer,
        deliverer: Deliverer,
    ) -> None:
        self._state = state
        self._new_id = new_id
        self.signer = signer
        self.deliverer = deliverer
        self._lock = threading.Lock()
        self._hooks: dict[str, Webhook] = {}
        if state is not None:
            for kept in state.load_webhooks():
                hook = Webhook(kept["id"], kept["url"], tuple(kept["event_types"]))
                self._hooks[hook.id] = hook

    # -- subscriptions ------------------------------------------------------------

    def create(self, url: str, event_types: Iterable[str]) -> Webhook:
        """Subscribe ``url``; refused for a URL already subscribed or an eleventh webhook."""
        with self._lock:
            if any(hook.url == url for hook in self._hooks.values()):
                raise Refusal(400, "WEBHOOK_URL_ALREADY_EXISTS", "Webhook URL already exists")
            if len(self._hooks) >= MAX_WEBHOOKS:
                raise Refusal(
                    400,
                    "WEBHOOK_NUMBER_LIMIT_EXCEEDED",
                    f"Maximum number of webhooks ({MAX_WEBHOOKS}) reached",
                )
            hook = Webhook(self._new_id(), url, tuple(dict.fromkeys(event_types)))
            self._keep(hook)
            return hook

    def subscribe(
        self, url: str, event_types: Iterable[str] = (ALL,), *, moves: bool = False
    ) -> Webhook:
        """``url``'s subscription to ``event_types``, made or updated: what a listener
        calls at every start. The webhook id stays the same for the same URL; with
        ``moves``, also for the same host and path on another port (the listener was
        restarted on a free port: its old subscription follows it)."""
        names = tuple(dict.fromkeys(event_types))
        with self._lock:
            same = [h for h in self._hooks.values() if h.url == url]
            moved = [h for h in self._hooks.values() if moves and _place(h.url) == _place(url)]
            for hook in same or moved[:1]:
                if (hook.url, hook.event_types) != (url, names):
                    hook = Webhook(hook.id, url, names)
                    self._keep(hook)
                return hook
        return self.create(url, names)

    def _keep(self, hook: Webhook) -> None:
        self._hooks[hook.id] = hook
        if self._state is not None:
            self._state.save_webhook(
                hook.id, {"id": hook.id, "url": hook.url, "event_types": list(hook.event_types)}
            )

    def get(self, webhook_id: str) -> Webhook:
        """One subscription; 404 INVALID_RESOURCE_ID when there is none."""
        with self._lock:
            hook = self._hooks.get(webhook_id)
        if hook is None:
            raise Refusal(404, "INVALID_RESOURCE_ID", "Resource id is invalid")
        return hook

    def delete(self, webhook_id: str) -> None:
        """Unsubscribe; 404 INVALID_RESOURCE_ID when there is no such webhook."""
        self.get(webhook_id)
        with self._lock:
            self._hooks.pop(webhook_id, None)
            if self._state is not None:
                self._state.delete_webhook(webhook_id)

    def all(self) -> list[Webhook]:
        """Every subscription, oldest first."""
        with self._lock:
            return list(self._hooks.values())

    def publish(self, event: Mapping[str, Any]) -> None:
        """Deliver ``event`` to every subscription wanting its type. Returns at once."""
        event_type = str(event["event_type"])
        targets = [Target(h.id, h.url) for h in self.all() if h.wants(event_type)]
        if targets:
            self.deliverer.deliver(event, targets)

    def cert_id(self) -> str:
        """The certificate's id in its URL, PayPal-style (``CERT-xxxxxxxx-xxxxxxxx-...``),
        derived from the certificate so that it outlives a restart."""
        letters = ids.digest(self.signer.cert_pem.decode())
        return "CERT-" + "-".join(letters[i : i + 8] for i in range(0, 24, 8))

    # -- HTTP ---------------------------------------------------------------------

    # Each takes the request and the base of HATEOAS links; the routing table calls them
    # through App.webhooks, which checks the bearer token and answers a Refusal.

    def create_answer(self, request: Request, base: str) -> Outcome:
        """POST /v1/notifications/webhooks: 201 with the webhook."""
        url, names = _webhook_request(_body(request))
        return json_outcome(201, self.create(url, names).json(base), _debug())

    def list_answer(self, _request: Request, base: str) -> Outcome:
        """GET /v1/notifications/webhooks."""
        body = {"webhooks": [hook.json(base) for hook in self.all()]}
        return json_outcome(200, body, _debug())

    def get_answer(self, request: Request, base: str) -> Outcome:
        """GET /v1/notifications/webhooks/{id}."""
        return json_outcome(200, self.get(request.ident).json(base), _debug())

    def delete_answer(self, request: Request, _base: str) -> Outcome:
        """DELETE /v1/notifications/webhooks/{id}: 204."""
        self.delete(request.ident)
        return Outcome(204, headers=_debug())

    def verify_answer(self, request: Request, _base: str) -> Outcome:
        """POST /v1/notifications/verify-webhook-signature: SUCCESS or FAILURE."""
        fields = _verify_request(_body(request))
        status = "SUCCESS" if self.deliverer.verify(fields) else "FAILURE"
        return json_outcome(200, {"verification_status": status}, _debug())

    def certificate(self, request: Request) -> Outcome:
        """GET on the certificate URL: the PEM certificate (no token needed, as at PayPal)."""
        if request.ident != self.cert_id():
            return Refusal(404, "INVALID_RESOURCE_ID", "Resource id is invalid").outcome()
        return Outcome(200, self.signer.cert_pem, {"Content-Type": "application/x-pem-file"})


def _place(url: str) -> tuple[str, str | None, str]:
    """A URL without its port: scheme, host and path."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.hostname, parts.path


def _debug() -> dict[str, str]:
    return {"Paypal-Debug-Id": new_debug_id()}


def _body(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        raise Refusal(415, "UNSUPPORTED_MEDIA_TYPE", "The request payload is not JSON")
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refusal(400, "MALFORMED_REQUEST", "Incoming JSON request does not map to API request")
    return body


def _webhook_request(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise _invalid("url", "Required field is missing")
    parts = urllib.parse.urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid("url", "Invalid URL")
    types = body.get("event_types")
    if not isinstance(types, list) or not types:
        raise _invalid("event_types", "Required field is missing")
    if len(types) > MAX_EVENT_TYPES:
        raise _invalid("event_types", f"At most {MAX_EVENT_TYPES} event types")
    names = []
    for index, item in enumerate(types):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not (name == ALL or _EVENT_NAME.fullmatch(name)):
            raise _invalid(f"event_types[{index}].name", "Invalid event name")
        names.append(name)
    return url, names


def _verify_request(body: Mapping[str, Any]) -> dict[str, Any]:
    for name, (limit, shape) in _VERIFY_FIELDS.items():
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise _invalid(name, "Required field is missing")
        if len(value) > limit or (shape is not None and not shape.search(value)):
            raise _invalid(name, "Invalid data provided")
    try:
        datetime.fromisoformat(str(body["transmission_time"]).replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("transmission_time", "Invalid date-time") from None
    if not isinstance(body.get("webhook_event"), dict):
        raise _invalid("webhook_event", "Required field is missing")
    return dict(body)
