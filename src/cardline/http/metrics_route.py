"""``GET /metrics``: the local host's counters in Prometheus' text format
(cardline.local_metrics), for a supervisor's key or a scraper holding one. Served by
``cardline serve`` only: on AWS the functions' metrics are CloudWatch's, from their EMF
lines (cardline.cde.metrics)."""

from __future__ import annotations

from collections.abc import Callable

from cardline.cde import roles
from cardline.cde.http.app import Call, Route
from cardline.cde.http.messages import Response
from cardline.local_metrics import LocalMetrics

PATH = "/metrics"


def metrics_route(metrics: Callable[[], LocalMetrics]) -> Route:
    """The route exposing ``metrics``; a supervisor's (the counts cover every agent)."""

    def scrape(call: Call) -> Response:
        body, content_type = metrics().exposition(call.request.header("accept"))
        return Response(200, {"Content-Type": content_type}, body)

    return Route("GET", PATH, scrape, role=roles.SUPERVISOR)
