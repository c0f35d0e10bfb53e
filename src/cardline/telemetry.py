"""Logs, metrics and traces of the Lambda functions outside the card-data path (the
backoffice, the projector, the scheduled reconcile), through Powertools for AWS Lambda.

- **Logs**: one JSON object per line on stdout (Powertools' Logger), with Lambda's request
  id (``function_request_id``), API Gateway's (``correlation_id``, the answer's
  ``X-Request-Id``) and the ``operator`` the authorizer vouched for, where known. cardline's
  own module loggers (``cardline.*``) write through the same handler. Every line is masked
  as a whole (:func:`cardline.cde.pan.mask_pans`) after it is formatted: message, extra
  keys, exception and stack trace alike. The root logger's handlers (the runtime's, where
  botocore logs) keep the PanMaskingFilter.
- **Metrics**: Powertools' Metrics, in CloudWatch's embedded metric format on stdout,
  namespace ``cardline`` and the ``service`` dimension (cardline.cde.metrics names them),
  flushed at the end of each invocation.
- **Traces**: Powertools' Tracer (the X-Ray SDK) patching botocore only: AWS calls become
  subsegments with the X-Ray SDK's own short list of request fields (a table name, never an
  item). Handlers are captured with neither their response nor their error as metadata.

The audit stream is none of these: :class:`cardline.cde.audit.StreamSink` writes its lines
to stdout itself, untouched, and the projector (and its subscription filter) takes only the
lines whose ``schema`` is the audit schema's; log and metric lines have none.

Never imported by the charge path (cardline.cde): Powertools is not in the charge zip.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from cardline.cde import audit, metrics, pan

__all__ = [
    "API_GATEWAY_REQUEST_ID",
    "HandlerFailed",
    "MaskedFormatter",
    "Telemetry",
]

API_GATEWAY_REQUEST_ID = correlation_paths.API_GATEWAY_REST  # REST v1 and HTTP API v2 alike
_OWN_LOGGERS = "cardline"
# What a test or a local call passes for Lambda's context (None): the keys stay empty.
_NO_CONTEXT = SimpleNamespace(
    function_name="", memory_limit_in_mb=0, invoked_function_arn="", aws_request_id=""
)

# Most backoffice invocations count nothing: that is no news, once per instance or not.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

Handler = Callable[[Any, Any], Any]


class MaskedFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with every card number in the finished line masked."""

    def format(self, record: logging.LogRecord) -> str:
        return pan.mask_pans(super().format(record))


class HandlerFailed(Exception):
    """What a traced handler raises in place of its own failure, naming its type only:
    the X-Ray SDK (and Lambda's runtime, reporting the error) record an exception's text,
    which may quote what it was handling. The failure itself is logged first, masked."""


class Telemetry:
    """The Logger, Metrics and Tracer of one function; ``service`` is its name in the
    catalogue (cardline.cde.metrics): ``backoffice``, ``projector``, ``reconcile``."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.logger = Logger(
            service=service, logger_formatter=MaskedFormatter(utc=True, use_rfc3339=True)
        )
        self.metrics = Metrics(namespace=metrics.NAMESPACE, service=service)
        self.tracer = Tracer(service=service, patch_modules=("botocore",))
        self._routed = False

    def _prepare(self) -> None:
        """Before each invocation's handler: the PAN mask on the root logger's handlers
        (the runtime's is there by now), and on Lambda the ``cardline.*`` loggers routed."""
        audit.install_log_filter()
        if not self._routed and os.environ.get("LAMBDA_TASK_ROOT"):
            self.route_own_loggers()
        # Each invocation starts from clean keys: the logger's name is one to keep.
        self.logger.append_keys(name="%(name)s")

    def route_own_loggers(self) -> None:
        """Send the ``cardline.*`` loggers' records through the Logger's handler (JSON,
        masked) instead of the root logger's. Done on Lambda only (``LAMBDA_TASK_ROOT``,
        which Powertools' Tracer reads too), at the first invocation: elsewhere (a test
        run, ``cardline serve``) those loggers keep the host's own logging."""
        logging.getLogger(_OWN_LOGGERS)  # registered, for Powertools to find
        copy_config_to_registered_loggers(
            source_logger=self.logger, include={_OWN_LOGGERS}, ignore_log_level=True
        )
        self._routed = True

    def count(self, name: str, value: int = 1) -> None:
        """Add ``value`` to the catalogue's count ``name`` for this invocation."""
        unit, _dimensions, _emitters, _meaning = metrics.CATALOGUE[name]
        self.metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)

    def entry_point(
        self,
        handler: Handler,
        *,
        correlation_id_path: str | None = None,
        operator: Callable[[Any], str | None] | None = None,
    ) -> Handler:
        """``handler`` traced (neither its response nor its error recorded), its metrics
        flushed when it returns or raises, and its logs carrying the invocation's keys:
        Lambda's context, ``correlation_id`` from ``correlation_id_path`` in the event and
        ``operator`` as ``operator(event)`` finds it. Keys never outlive an invocation.
        A failure is logged (masked, with its traceback) and raised again as
        :class:`HandlerFailed`, so that Lambda still retries or reports it."""

        def with_operator(event: Any, context: Any) -> Any:
            self._prepare()
            if operator is not None:
                who = operator(event)
                if who:
                    self.logger.append_keys(operator=who)
            try:
                return handler(event, context)
            except Exception as error:
                self.logger.exception("the invocation failed: %s", type(error).__name__)
                raise HandlerFailed(type(error).__name__) from None

        # The trace's subsegment is "## <service>".
        with_operator.__name__ = with_operator.__qualname__ = self.service

        logged = self.logger.inject_lambda_context(
            with_operator, correlation_id_path=correlation_id_path, clear_state=True
        )
        measured = self.metrics.log_metrics(logged)
        traced = self.tracer.capture_lambda_handler(
            measured, capture_response=False, capture_error=False
        )

        def entry(event: Any, context: Any) -> Any:
            return traced(event, _NO_CONTEXT if context is None else context)

        return entry
