"""AWS Lambda entry point of the ``ivr`` function, invoked by Amazon Connect.

Environment: what the charge function reads (``CARDLINE_PAYPAL_SECRET_ID`` naming the
secret with the PayPal credentials and the fingerprint key, read as the charge function
reads it; ``PAYPAL_ENV``), and ``CARDLINE_IVR_KEYS_SECRET_ID``: the Secrets Manager secret
holding the private key(s) matching the Connect encryption key(s) (format in
:mod:`cardline.ivr.keys`). The PayPal client and the keys are built on the first
invocation and kept for the life of the instance. ``CARDLINE_IVR_SESSIONS_TABLE`` names
the DynamoDB table of agent-assisted sessions (cardline.ivr.session_table), which the
backoffice creates for the agent: the function takes a session's terms from it and records
the caller's progress and the outcome there. Without it, a ``session_id`` parameter is
refused and the flow hands the caller to an agent.

The same function answers its own schedule: an event with a ``cardline`` member (which no
Connect event has) is the scheduled key check of :mod:`cardline.ivr.key_expiry_metric`, run
without building the charger, imported only when such an event arrives.
The agent's recording on agent-assisted calls is suspended and resumed through Connect's
API (:class:`cardline.ivr.recording_control.ConnectRecordingControl`, its client made on
the first such invocation; the role may call ``connect:SuspendContactRecording`` and
``connect:ResumeContactRecording`` on the instance's contacts only).

Each Connect invocation's metrics (the payment's outcome, PayPal's latency and retries,
keyed input refused by field: cardline.cde.metrics) are written after its answer as one
EMF line on stdout.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from cardline.cde import audit
from cardline.cde.metrics import EmfRecorder
from cardline.ivr.connect import InvalidEvent, IvrHandler, error_answer

log = logging.getLogger("cardline.ivr")

_sink = audit.StreamSink()
_metrics = EmfRecorder("ivr")
_handler: IvrHandler | None = None


def _build() -> IvrHandler:
    from cardline.cde.charge import charger_from_environment
    from cardline.ivr.decrypt import ConnectDecryptor
    from cardline.ivr.keys import KEYS_SECRET_UNNAMED, keys_from_secrets_manager
    from cardline.ivr.recording_control import ConnectRecordingControl

    secret_id = os.environ.get("CARDLINE_IVR_KEYS_SECRET_ID", "")
    if not secret_id:
        raise RuntimeError(KEYS_SECRET_UNNAMED)
    charger = charger_from_environment(os.environ, _sink, _metrics)
    decryptor = ConnectDecryptor(keys_from_secrets_manager(secret_id))
    recording = ConnectRecordingControl()
    table = os.environ.get("CARDLINE_IVR_SESSIONS_TABLE", "")
    if not table:
        return IvrHandler(
            lambda: charger,
            lambda: decryptor,
            _sink,
            recording=lambda: recording,
            metrics=_metrics,
        )
    from cardline.ivr.session_table import DynamoDbSessionStore

    sessions = DynamoDbSessionStore(table, _sink)
    return IvrHandler(
        lambda: charger,
        lambda: decryptor,
        _sink,
        lambda: sessions,
        recording=lambda: recording,
        metrics=_metrics,
    )


def handler(event: Any, context: Any) -> dict[str, str]:
    global _handler
    if isinstance(event, dict) and "cardline" in event:
        return _scheduled(event)
    try:
        if _handler is None:
            audit.install_log_filter()  # the runtime's handler, before anything can log
            _handler = _build()
        return _handler.handle(event)
    except InvalidEvent as error:
        log.error("ivr: not a Connect contact flow event: %s", error)
    except Exception as error:  # noqa: BLE001 - the caller must hear an answer, not silence
        # The type only: an exception's text or traceback could quote what it was handling.
        log.error("ivr: unexpected %s", type(error).__name__)
    finally:
        _metrics.flush()
    return error_answer()


def _scheduled(event: dict[str, Any]) -> dict[str, str]:
    """The key check; a failure is logged by type and leaves the metric unwritten, which
    the alarm treats as breaching."""
    audit.install_log_filter()
    try:
        from cardline.ivr.key_expiry_metric import run_key_check

        return run_key_check(event, os.environ.get("CARDLINE_IVR_KEYS_SECRET_ID", ""))
    except Exception as error:  # noqa: BLE001 - logged, and the missing metric alarms
        from cardline.ivr.key_expiry_metric import NotAKeyCheck
        from cardline.ivr.keys import KeyConfigError

        # Our own errors' messages hold no key material; anything else shows its type only.
        detail = f": {error}" if isinstance(error, KeyConfigError | NotAKeyCheck) else ""
        log.error("ivr key check failed: %s%s", type(error).__name__, detail)
        return {"check": "failed", "error": type(error).__name__}
