"""The agent console: the static web page served by the backoffice, never by the charge Lambda.

The files need no authentication; every API call the page makes carries the operator key
the agent typed at sign-in. The page runs under a strict Content-Security-Policy: its own
script and style only, no inline code, no other origin.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from cardline.http.app import Call, Route
from cardline.http.messages import Response

CONSOLE_PACKAGE = "cardline.console"

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# path served -> (file in cardline/console, media type)
CONSOLE_FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/console/console.js": ("console.js", "text/javascript; charset=utf-8"),
    "/console/checks.js": ("checks.js", "text/javascript; charset=utf-8"),
    "/console/console.css": ("console.css", "text/css; charset=utf-8"),
    "/console/favicon.svg": ("favicon.svg", "image/svg+xml"),
}


@cache
def console_file(name: str) -> bytes:
    """One of the console's static files, read from the installed package."""
    return resources.files(CONSOLE_PACKAGE).joinpath(name).read_bytes()


def _static(path: str, name: str, media_type: str) -> Route:
    def serve(call: Call) -> Response:
        return Response(
            200,
            {
                "Content-Type": media_type,
                "Content-Security-Policy": CONSOLE_CSP,
                "Cross-Origin-Opener-Policy": "same-origin",
                "Cross-Origin-Resource-Policy": "same-origin",
                "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
            },
            console_file(name),
        )

    return Route("GET", path, serve, authenticated=False, static=True)


def console_routes() -> list[Route]:
    """GET routes for the console's page, script, style sheet and icon (no authentication)."""
    return [_static(path, name, media_type) for path, (name, media_type) in CONSOLE_FILES.items()]
