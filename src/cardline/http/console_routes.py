"""The agent console: the static web page served by the backoffice, never by the charge Lambda.

The files need no authentication; every API call the page makes carries the credential
the agent got at sign-in. How the agent signs in depends on the host, and the page asks
``/console/config.json`` which:

- ``{"auth": "operator-key", "ivrSessions": true}`` locally (``cardline serve``): the agent
  types an operator key; ``ivrSessions`` says the host serves ``/v1/ivr/sessions`` (the
  page's "Caller keys the card" panel), absent where it does not.
- ``{"auth": "cognito", ...}`` on AWS: the agent signs in to the operator user pool (password,
  then the authenticator app's code) by calling Cognito's public JSON API from the page, and
  the page sends the ID token to API Gateway, whose Cognito authorizer checks it.

The page runs under a strict Content-Security-Policy: its own script and style only, no
inline code but its import map (allowed by its hash), and connections to its own origin
plus, on AWS, exactly the Cognito endpoint of the pool's region.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

from cardline.cde.encoding import compact
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Response
from cardline.cde.roles import PUBLIC
from cardline.http.console_integrity import importmap_csp_source

__all__ = [
    "CONFIG_PATH",
    "CONSOLE_CSP",
    "CONSOLE_FILES",
    "CognitoSignIn",
    "console_csp",
    "console_file",
    "console_routes",
]

CONSOLE_PACKAGE = "cardline.console"
CONFIG_PATH = "/console/config.json"

# script-src: the site's own files, and the page's one inline script, its import map (the
# modules' integrity, cardline.http.console_integrity), by its hash.
_CSP = (
    "default-src 'none'; script-src 'self' " + importmap_csp_source() + "; style-src 'self'; "
    "img-src 'self'; connect-src {connect}; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The policy of the operator-key console (local): connections to its own origin only.
CONSOLE_CSP = _CSP.format(connect="'self'")

# path served -> (file in cardline/console, media type)
CONSOLE_FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    # The page's modules: console.js starts the others, one per feature.
    **{
        f"/console/{name}": (name, "text/javascript; charset=utf-8")
        for name in (
            "console.js",
            "api.js",
            "dom.js",
            "session.js",
            "pay.js",
            "payments.js",
            "refund.js",
            "capture.js",
            "ivr.js",
            "checks.js",
            "sign_in.js",
        )
    },
    "/console/console.css": ("console.css", "text/css; charset=utf-8"),
    "/console/favicon.svg": ("favicon.svg", "image/svg+xml"),
}

# Checked before they reach a response header or the page: a region, an app client id.
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_CLIENT_ID = re.compile(r"[\w+]{1,128}")
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class CognitoSignIn:
    """The operator user pool's app client the console signs agents in with (AWS).

    Neither value is a secret: the app client has no secret, and anyone may call
    InitiateAuth; what protects an account is its password and its second factor.
    ``endpoint`` is Cognito's regional endpoint unless a test points it at a stand-in on
    loopback (plain HTTP is refused anywhere else).
    """

    region: str
    client_id: str
    endpoint: str = ""

    def __post_init__(self) -> None:
        if not _REGION.fullmatch(self.region):
            raise ValueError("the Cognito region is not an AWS region name")
        if not _CLIENT_ID.fullmatch(self.client_id):
            raise ValueError("the Cognito app client id is malformed")
        if not self.endpoint:
            object.__setattr__(
                self, "endpoint", f"https://cognito-idp.{self.region}.amazonaws.com/"
            )
        url = urlsplit(self.endpoint)
        if (
            url.scheme not in ("https", "http")
            or not url.hostname
            or url.path not in ("", "/")
            or url.query
            or url.fragment
            or url.username
            or url.password
        ):
            raise ValueError("the Cognito endpoint must be a bare https:// origin")
        if url.scheme == "http" and not _is_loopback(url.hostname):
            raise ValueError("plain HTTP is allowed only to a loopback Cognito stand-in")
        if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", url.netloc):
            raise ValueError("the Cognito endpoint's host is malformed")
        object.__setattr__(self, "endpoint", f"{url.scheme}://{url.netloc}/")

    @property
    def origin(self) -> str:
        """The endpoint as a CSP source: scheme, host and port."""
        return self.endpoint.rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CognitoSignIn | None:
        """From the backoffice function's environment (set by the SAM template); None when
        no app client is configured. ``AWS_REGION`` is set by Lambda itself."""
        client_id = environ.get("CARDLINE_COGNITO_CLIENT_ID")
        if not client_id:
            return None
        region = environ.get("CARDLINE_COGNITO_REGION") or environ.get("AWS_REGION") or ""
        return cls(region, client_id, environ.get("CARDLINE_COGNITO_ENDPOINT", ""))

    def config(self) -> dict[str, str]:
        return {
            "auth": "cognito",
            "region": self.region,
            "userPoolClientId": self.client_id,
            "endpoint": self.endpoint,
        }


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def console_csp(cognito: CognitoSignIn | None = None) -> str:
    """The Content-Security-Policy of every console file: with Cognito, the page may also
    connect to that one endpoint."""
    if cognito is None:
        return CONSOLE_CSP
    return _CSP.format(connect=f"'self' {cognito.origin}")


@cache
def console_file(name: str) -> bytes:
    """One of the console's static files, read from the installed package."""
    return resources.files(CONSOLE_PACKAGE).joinpath(name).read_bytes()


def _headers(media_type: str, csp: str) -> dict[str, str]:
    return {
        "Content-Type": media_type,
        "Content-Security-Policy": csp,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }


def _static(path: str, name: str, media_type: str, csp: str) -> Route:
    def serve(call: Call) -> Response:
        return Response(200, _headers(media_type, csp), console_file(name))

    return Route("GET", path, serve, role=PUBLIC, static=True)


def console_routes(
    cognito: CognitoSignIn | None = None, *, ivr_sessions: bool = False
) -> list[Route]:
    """GET routes for the console's page, scripts, style sheet, icon and sign-in config
    (no authentication). Without ``cognito`` the agent signs in with an operator key.
    ``ivr_sessions``: the host serves the agent-assisted IVR routes, so the page offers them."""
    csp = console_csp(cognito)
    settings: dict[str, str | bool] = {}
    settings.update(cognito.config() if cognito is not None else {"auth": "operator-key"})
    if ivr_sessions:
        settings["ivrSessions"] = True
    body = compact(settings).encode()

    def config(call: Call) -> Response:
        return Response(200, _headers("application/json", csp), body)

    return [
        *(
            _static(path, name, media_type, csp)
            for path, (name, media_type) in CONSOLE_FILES.items()
        ),
        Route("GET", CONFIG_PATH, config, role=PUBLIC, static=True),
    ]
