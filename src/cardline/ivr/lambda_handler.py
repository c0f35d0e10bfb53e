"""AWS Lambda entry point of the ``ivr`` function, invoked by Amazon Connect.

Environment: what the charge function reads (``CARDLINE_PAYPAL_SECRET_ID`` naming the
secret with the PayPal credentials and the fingerprint key, read as the charge function
reads it; ``PAYPAL_ENV``), and ``CARDLINE_IVR_KEYS_SECRET_ID``: the Secrets Manager secret
holding the private key(s) matching the Connect encryption key(s) (format in
:mod:`cardline.ivr.keys`). The PayPal client and the keys are built on the first
invocation and kept for the life of the instance. Agent-assisted sessions need a shared
session store, which this deployment does not have yet: without one, a ``session_id``
parameter is refused and the flow hands the caller to an agent. The agent's recording on
agent-assisted calls is suspended and resumed through Connect's API
(:class:`cardline.ivr.recording_control.ConnectRecordingControl`, its client made on the
first such invocation; the role may call ``connect:SuspendContactRecording`` and
``connect:ResumeContactRecording`` on the instance's contacts only).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from cardline.cde import audit
from cardline.ivr.connect import InvalidEvent, IvrHandler, error_answer

log = logging.getLogger("cardline.ivr")

_sink = audit.StreamSink()
_handler: IvrHandler | None = None


def _build() -> IvrHandler:
    from cardline.cde.charge import charger_from_environment
    from cardline.ivr.decrypt import ConnectDecryptor
    from cardline.ivr.keys import keys_from_secrets_manager
    from cardline.ivr.recording_control import ConnectRecordingControl

    secret_id = os.environ.get("CARDLINE_IVR_KEYS_SECRET_ID", "")
    if not secret_id:
        raise RuntimeError("CARDLINE_IVR_KEYS_SECRET_ID must name the secret with the IVR keys")
    charger = charger_from_environment(os.environ, _sink)
    decryptor = ConnectDecryptor(keys_from_secrets_manager(secret_id))
    recording = ConnectRecordingControl()
    return IvrHandler(lambda: charger, lambda: decryptor, _sink, recording=lambda: recording)


def handler(event: Any, context: Any) -> dict[str, str]:
    global _handler
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
    return error_answer()
