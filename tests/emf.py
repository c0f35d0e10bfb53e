"""Reading the EMF lines a Lambda function printed, checked against CloudWatch's embedded
metric format specification and against cardline's metric catalogue
(cardline.cde.metrics.CATALOGUE): the names, units and dimension sets documented there,
and nothing else."""

from __future__ import annotations

import json
from typing import Any

from cardline.cde.metrics import CATALOGUE, NAMESPACE, SERVICE
from tests.cards import TEST_CVVS, TEST_PANS


def emf_documents(printed: str) -> list[dict[str, Any]]:
    """Each line of ``printed`` that is an EMF document, parsed and checked."""
    return [_checked(line) for line in printed.splitlines() if '"_aws"' in line]


def _checked(line: str) -> dict[str, Any]:
    assert not any(pan in line for pan in TEST_PANS)
    assert not any(f'"{cvv}"' in line for cvv in TEST_CVVS)
    document = json.loads(line)
    assert isinstance(document, dict)
    metadata = document["_aws"]
    assert set(metadata) == {"Timestamp", "CloudWatchMetrics"}
    assert isinstance(metadata["Timestamp"], int)
    assert metadata["Timestamp"] > 0
    named: set[str] = set()
    for directive in metadata["CloudWatchMetrics"]:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert directive["Namespace"] == NAMESPACE
        for metric in directive["Metrics"]:
            assert set(metric) == {"Name", "Unit"}
            unit, dimension_sets, _emitters, _meaning = CATALOGUE[metric["Name"]]
            assert metric["Unit"] == unit, metric
            # Every set the directive names is one of the catalogue's for this metric.
            assert {tuple(s) for s in directive["Dimensions"]} <= set(dimension_sets), metric
            value = document[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100
            assert all(isinstance(v, int | float) and v >= 0 for v in values), metric
            named.add(metric["Name"])
        for dimension_set in directive["Dimensions"]:
            assert SERVICE in dimension_set
            for name in dimension_set:
                assert isinstance(document[name], str)  # a target member: the value
    # Every root member is the metadata, a dimension named, or a metric named.
    dimensions = {
        d
        for directive in metadata["CloudWatchMetrics"]
        for dimension_set in directive["Dimensions"]
        for d in dimension_set
    }
    assert set(document) == {"_aws"} | dimensions | named
    return document


def by_metric(document: dict[str, Any]) -> dict[str, tuple[str, list[list[str]]]]:
    """Each metric of ``document``: its unit and the dimension sets it is published under."""
    found: dict[str, tuple[str, list[list[str]]]] = {}
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for metric in directive["Metrics"]:
            found[metric["Name"]] = (metric["Unit"], directive["Dimensions"])
    return found
