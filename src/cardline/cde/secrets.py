"""Secrets Manager secrets read through the AWS Parameters and Secrets Lambda Extension.

The extension (an AWS-managed Lambda layer) serves ``GET /secretsmanager/get?secretId=...``
on ``localhost:2773`` (``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`` moves it) and answers
with the JSON of Secrets Manager's GetSecretValue. Every request must carry the
function's ``AWS_SESSION_TOKEN`` in ``X-Aws-Parameters-Secrets-Token``. Reading it this
way keeps the AWS SDK out of the charge Lambda: this module is in the charge path,
standard library only.

A secret is read once per Lambda instance and kept in memory for the instance's life.
Error messages name the secret and the HTTP status, never a value.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from urllib.parse import quote

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "SECRET_ID_VARIABLE",
    "SecretUnavailable",
    "SecretsExtension",
    "forget_secrets",
    "secret_settings",
    "settings",
]

DEFAULT_PORT = 2773
# Names the JSON secret (PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, CARDLINE_FINGERPRINT_KEY).
SECRET_ID_VARIABLE = "CARDLINE_PAYPAL_SECRET_ID"  # noqa: S105 - a variable name
_MAX_BODY = 1 << 16  # Secrets Manager's limit is 64 KiB
_TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header name


class SecretUnavailable(RuntimeError):
    """The extension could not give us the secret (not ready, not allowed, not found)."""


class SecretsExtension:
    """A client of the extension's local HTTP endpoint."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        host: str = "localhost",
        timeout: float = 5.0,
        attempts: int = 5,
        retry_delay: float = 0.2,
    ) -> None:
        env = os.environ if environ is None else environ
        self._host = host
        self._port = int(env.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") or DEFAULT_PORT)
        self._token = env.get("AWS_SESSION_TOKEN", "")
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._retry_delay = retry_delay

    def secret_string(self, secret_id: str) -> str:
        """The SecretString of the current version of ``secret_id``."""
        path = "/secretsmanager/get?secretId=" + quote(secret_id, safe="")
        last = "no attempt made"
        for attempt in range(self._attempts):
            if attempt:
                time.sleep(self._retry_delay * attempt)
            try:
                status, body = self._get(path)
            except OSError as error:
                # The extension starts alongside the function; early calls may be refused.
                last = f"the extension is unreachable ({type(error).__name__})"
                continue
            if status == 200:
                return _secret_string(secret_id, body)
            last = f"the extension answered HTTP {status}"
            if status not in (400, 429, 500, 502, 503):
                break  # 401/403/404 will not change on a retry
        raise SecretUnavailable(f"Secret {secret_id!r} is unavailable: {last}")

    def secret_json(self, secret_id: str) -> dict[str, str]:
        """A secret holding a flat JSON object of strings (what cardline stores)."""
        try:
            value = json.loads(self.secret_string(secret_id))
        except ValueError:
            raise SecretUnavailable(f"Secret {secret_id!r} is not a JSON object") from None
        if not isinstance(value, dict):
            raise SecretUnavailable(f"Secret {secret_id!r} is not a JSON object")
        return {str(k): str(v) for k, v in value.items() if v is not None}

    def _get(self, path: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            connection.request("GET", path, headers={_TOKEN_HEADER: self._token})
            response = connection.getresponse()
            return response.status, response.read(_MAX_BODY + 1)
        finally:
            connection.close()


def _secret_string(secret_id: str, body: bytes) -> str:
    if len(body) > _MAX_BODY:
        raise SecretUnavailable(f"Secret {secret_id!r}: the extension's answer is too large")
    try:
        answer = json.loads(body)
    except ValueError:
        raise SecretUnavailable(
            f"Secret {secret_id!r}: the extension's answer is not JSON"
        ) from None
    value = answer.get("SecretString") if isinstance(answer, dict) else None
    if not isinstance(value, str):
        raise SecretUnavailable(f"Secret {secret_id!r} has no SecretString")
    return value


_cache: dict[str, dict[str, str]] = {}
_cache_lock = threading.Lock()


def secret_settings(secret_id: str, client: SecretsExtension | None = None) -> dict[str, str]:
    """The JSON secret ``secret_id``, read once and kept for the life of the instance."""
    with _cache_lock:
        if secret_id not in _cache:
            _cache[secret_id] = (client or SecretsExtension()).secret_json(secret_id)
        return dict(_cache[secret_id])


def forget_secrets() -> None:
    """Drop the cached secrets (tests; a rotation picked up without a new instance)."""
    with _cache_lock:
        _cache.clear()


def settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment with the secret named by CARDLINE_PAYPAL_SECRET_ID laid over it.

    Without that variable (local use) the environment alone is returned.
    """
    merged = dict(environ)
    secret_id = environ.get(SECRET_ID_VARIABLE, "").strip()
    if secret_id:
        merged.update(secret_settings(secret_id, SecretsExtension(environ)))
    return merged
