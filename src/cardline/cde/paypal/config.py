"""Where PayPal is and how to reach it: the base URL and TLS rules, credentials, timeouts.

``https://`` always, with certificate verification and TLS 1.2 or newer; plain
``http://`` only to a loopback host (the local sandbox emulator).
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from cardline.cde.values import FrozenValue

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import ClassVar

__all__ = ["NOT_CONFIGURED", "PayPalConfig", "timeout_from_env"]

# What a host that cannot run without PayPal says when PayPalConfig.from_env finds none.
NOT_CONFIGURED = "PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET must be configured"


def _is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost, without importing ipaddress (import time)."""
    host = host.lower()
    if host in ("localhost", "::1"):
        return True
    parts = host.split(".")
    return (
        len(parts) == 4
        and parts[0] == "127"
        and all(p.isascii() and p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)
    )


class PayPalConfig(FrozenValue):
    """Where PayPal is and how to reach it.

    ``timeout`` ends each attempt; ``deadline`` ends the whole call (every attempt, read
    and backoff), 25 s by default: inside API Gateway's 29 s and the charge Lambda's 30 s.
    ``base_url`` must be ``https://``; ``http://`` is accepted only for a loopback host
    (the local sandbox emulator). Anything else raises ValueError. Immutable; its repr
    leaves out the client secret.
    """

    _hidden = frozenset({"client_secret"})

    base_url: str
    client_id: str
    client_secret: str
    timeout: float
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    deadline: float

    SANDBOX_URL: ClassVar[str] = "https://api-m.sandbox.paypal.com"
    LIVE_URL: ClassVar[str] = "https://api-m.paypal.com"

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 20.0,
        max_attempts: int = 4,
        backoff_base: float = 0.25,
        backoff_cap: float = 4.0,
        deadline: float = 25.0,
    ) -> None:
        _parse_base_url(base_url)
        if not client_id or not client_secret:
            raise ValueError("PayPal client id and secret must not be empty")
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if backoff_base < 0 or backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must not be negative")
        if not deadline > 0:
            raise ValueError("deadline must be positive")
        _set = object.__setattr__
        _set(self, "base_url", base_url)
        _set(self, "client_id", client_id)
        _set(self, "client_secret", client_secret)
        _set(self, "timeout", timeout)
        _set(self, "max_attempts", max_attempts)
        _set(self, "backoff_base", backoff_base)
        _set(self, "backoff_cap", backoff_cap)
        _set(self, "deadline", deadline)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PayPalConfig | None:
        """Config from PAYPAL_CLIENT_ID / PAYPAL_CLIENT_SECRET, or None if either is unset.

        PAYPAL_TIMEOUT_SECONDS sets the per-attempt timeout (default 20 s),
        PAYPAL_DEADLINE_SECONDS the deadline of a whole call (default 25 s).

        PAYPAL_BASE_URL wins when set; otherwise PAYPAL_ENV=live selects the live API and
        anything else empty or "sandbox" the sandbox. Other PAYPAL_ENV values raise
        ValueError rather than silently charging against the wrong environment.
        """
        client_id = environ.get("PAYPAL_CLIENT_ID", "").strip()
        secret = environ.get("PAYPAL_CLIENT_SECRET", "").strip()
        if not client_id or not secret:
            return None
        base_url = environ.get("PAYPAL_BASE_URL", "").strip()
        if not base_url:
            env = environ.get("PAYPAL_ENV", "").strip().lower()
            if env == "live":
                base_url = cls.LIVE_URL
            elif env in ("", "sandbox"):
                base_url = cls.SANDBOX_URL
            else:
                raise ValueError("PAYPAL_ENV must be 'sandbox' or 'live'")
        return cls.with_env_timing(base_url, client_id, secret, environ)

    @classmethod
    def with_env_timing(
        cls, base_url: str, client_id: str, client_secret: str, environ: Mapping[str, str]
    ) -> PayPalConfig:
        """This PayPal, with the per-attempt timeout and the deadline of a whole call that
        ``environ`` sets (PAYPAL_TIMEOUT_SECONDS, PAYPAL_DEADLINE_SECONDS; 20 s and 25 s by
        default): the one reading of them, for every host and for the local emulator."""
        return cls(
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            timeout=timeout_from_env(environ),
            deadline=timeout_from_env(environ, 25.0, "PAYPAL_DEADLINE_SECONDS"),
        )


def timeout_from_env(
    environ: Mapping[str, str], default: float = 20.0, name: str = "PAYPAL_TIMEOUT_SECONDS"
) -> float:
    """``name`` (PAYPAL_TIMEOUT_SECONDS: per attempt, connect and read), else ``default``."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds") from None
    if not 0 < seconds <= 300:
        raise ValueError(f"{name} must be more than 0 and at most 300")
    return seconds


def _parse_base_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path prefix) of a base URL, or ValueError."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("https", "http") or not host:
        raise ValueError("PayPal base_url must be an https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("PayPal base_url must not carry credentials, a query or a fragment")
    if scheme == "http" and not _is_loopback(host):
        raise ValueError("Plain http:// is allowed only to a loopback host; use https://")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ValueError("PayPal base_url has an invalid port") from None
    return scheme, host, port, parts.path.rstrip("/")


def _tls_context() -> ssl.SSLContext:
    """System CAs, hostname checking, certificate verification required, TLS 1.2 minimum."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context
