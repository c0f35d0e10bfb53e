"""The stack's alarms and its operations dashboard: every alarm has a runbook entry and
notifies AlarmTopic, every alarm on a cardline metric watches a catalogued metric
(src/cardline/cde/metrics.py) exactly as it is emitted, and the dashboard's body is JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from cardline.cde.metrics import CATALOGUE, NAMESPACE, SERVICE
from tests.aws_support import ROOT, load_template

RUNBOOK = ROOT / "docs" / "operations.md"
ALARM = "AWS::CloudWatch::Alarm"
MISSING_DATA = {"breaching", "notBreaching", "ignore", "missing"}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == ALARM
    }
    assert len(found) >= 12
    return found


def _metrics(properties: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every metric an alarm reads: its own, or each of its metric-math inputs."""
    if "MetricName" in properties:
        yield {key: properties.get(key) for key in ("Namespace", "MetricName", "Dimensions")}
        return
    for query in properties["Metrics"]:
        if "MetricStat" in query:
            yield query["MetricStat"]["Metric"]


def _emitters(name: str) -> set[str]:
    """The services that emit a catalogued metric ("charge, ivr"; "ivr (scheduled ...)")."""
    return {part.split()[0] for part in CATALOGUE[name][2].split(",")}


def test_every_alarm_has_a_runbook_entry_its_description_points_at(
    alarms: dict[str, dict[str, Any]],
) -> None:
    runbook = RUNBOOK.read_text(encoding="utf-8")
    headings = set(re.findall(r"^### (\w+)$", runbook, re.M))
    for name, alarm in alarms.items():
        assert name in headings, f"docs/operations.md has no '### {name}'"
        description = alarm["Properties"]["AlarmDescription"]
        if name != "IvrKeyExpiryAlarm":  # older, and pointing at docs/ivr.md
            assert f"docs/operations.md#{name.lower()}" in description, name
        # The table of alarms and thresholds names it too.
        assert re.search(rf"^\| \[`{name}`\]\(#{name.lower()}\) \|", runbook, re.M), name


def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_on_recovery(
    alarms: dict[str, dict[str, Any]],
) -> None:
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert properties["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert properties.get("ActionsEnabled", True) is True, name


def test_every_alarm_says_what_missing_data_means(alarms: dict[str, dict[str, Any]]) -> None:
    for name, alarm in alarms.items():
        assert alarm["Properties"].get("TreatMissingData") in MISSING_DATA, name


def test_every_cardline_metric_an_alarm_reads_is_catalogued_with_one_of_its_dimension_sets(
    alarms: dict[str, dict[str, Any]],
) -> None:
    checked = 0
    for name, alarm in alarms.items():
        for metric in _metrics(alarm["Properties"]):
            if metric["Namespace"] != NAMESPACE:
                continue
            checked += 1
            metric_name = metric["MetricName"]
            assert metric_name in CATALOGUE, f"{name}: {metric_name} is not catalogued"
            unit, dimension_sets, _emitted_by, _one = CATALOGUE[metric_name]
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}
            matching = [s for s in dimension_sets if set(s) == set(dimensions)]
            assert len(matching) == 1, f"{name}: {metric_name} by {sorted(dimensions)}"
            if SERVICE in dimensions:
                assert dimensions[SERVICE] in _emitters(metric_name), name
            assert alarm["Properties"].get("Unit", unit) == unit, name
    assert checked >= 10


def test_rates_page_only_above_a_minimum_volume(alarms: dict[str, dict[str, Any]]) -> None:
    for name, alarm in alarms.items():
        queries = alarm["Properties"].get("Metrics")
        if not queries:
            continue
        (answer,) = [q for q in queries if q.get("ReturnData", True)]
        inputs = {q["Id"] for q in queries if "MetricStat" in q}
        expression = answer["Expression"]
        # IF(volume >= N, 100 * FILL(part, 0) / volume, 0): a percentage of at least N.
        match = re.fullmatch(
            r"IF\((\w+) >= (\d+), 100 \* FILL\((\w+), 0\) / (\w+), 0\)", expression
        )
        assert match, f"{name}: {expression}"
        volume, minimum, part, divisor = match.groups()
        assert volume == divisor, name
        assert {volume, part} == inputs, name
        assert int(minimum) >= 5, name
        assert 0 < alarm["Properties"]["Threshold"] < 100, name


def test_alarms_on_the_ivr_exist_only_with_connect(alarms: dict[str, dict[str, Any]]) -> None:
    for name, alarm in alarms.items():
        services = {
            d["Value"]
            for metric in _metrics(alarm["Properties"])
            for d in metric.get("Dimensions") or []
            if d["Name"] == SERVICE
        }
        on_ivr = "ivr" in services or name.startswith("Ivr")
        assert (alarm.get("Condition") == "HasConnect") == on_ivr, name


def _resolve(value: Any, connect: bool) -> str:
    """A Fn::Sub variable's value, with or without Connect."""
    if isinstance(value, str):
        return value
    if "Fn::If" in value:
        condition, then, otherwise = value["Fn::If"]
        assert condition == "HasConnect"
        return _resolve(then if connect else otherwise, connect)
    return _substitute(value["Fn::Sub"], {})


def _substitute(text: str, variables: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return variables[name]
        if name.endswith(".Arn"):
            return f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name[:-4]}"
        return name.replace("AWS::", "").lower()

    return _PLACEHOLDER.sub(one, text)


def _dashboard(template: dict[str, Any], connect: bool) -> dict[str, Any]:
    text, variables = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"][
        "Fn::Sub"
    ]
    body = _substitute(text, {k: _resolve(v, connect) for k, v in variables.items()})
    parsed: dict[str, Any] = json.loads(body)
    return parsed


@pytest.mark.parametrize("connect", [True, False], ids=["with-connect", "without"])
def test_the_dashboard_body_is_json_and_lists_every_alarm(
    template: dict[str, Any], alarms: dict[str, dict[str, Any]], connect: bool
) -> None:
    body = _dashboard(template, connect)
    (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    listed = {arn.rsplit(":", 1)[1] for arn in widget["properties"]["alarms"]}
    expected = {n for n, a in alarms.items() if connect or a.get("Condition") != "HasConnect"}
    assert listed == expected


def test_the_dashboard_shows_payments_latency_errors_and_waf_blocks(
    template: dict[str, Any],
) -> None:
    widgets = _dashboard(template, connect=True)["widgets"]
    titles = [w["properties"]["title"] for w in widgets]
    for shown in ("Payments per minute by outcome", "PayPal latency", "Errors", "WAF blocked"):
        assert any(t.startswith(shown) for t in titles), shown
    rows = [row for w in widgets for row in w["properties"].get("metrics", [])]
    stats = {row[-1].get("stat") for row in rows if row[:2] == ["cardline", "PayPalLatency"]}
    assert {"p50", "p99"} <= stats
    # Every cardline metric row names a catalogued metric with one of its dimension sets.
    for row in rows:
        if row[0] != NAMESPACE:
            continue
        fields = [f for f in row[2:] if isinstance(f, str)]
        dimensions = set(fields[::2])
        assert row[1] in CATALOGUE, row
        assert sum(set(s) == dimensions for s in CATALOGUE[row[1]][1]) == 1, row
    (search,) = [row[0]["expression"] for row in rows if isinstance(row[0], dict)]
    assert search.startswith("SEARCH('{cardline,Outcome,service} MetricName=\"Payments\"'")
    assert (SERVICE, "Outcome") in CATALOGUE["Payments"][1]
