"""PCI DSS 4.2.1 and 4.2.1.1: TLS 1.2+ on every endpoint a card number or the agent's session
crosses, the execute-api address off when a custom domain is used, and the certificate
inventory read from the template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cardline.deploy.certificates import inventory
from tests.aws_support import ROOT, TEMPLATE


def _rest_api(translated: dict[str, Any]) -> dict[str, Any]:
    (api,) = [
        r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"
    ]
    properties: dict[str, Any] = api["Properties"]
    return properties


def test_the_execute_api_address_is_off_when_the_custom_domain_is_on(
    translated: dict[str, Any],
) -> None:
    api = _rest_api(translated)
    (server,) = api["Body"]["servers"]
    disabled = server["x-amazon-apigateway-endpoint-configuration"]["disableExecuteApiEndpoint"]
    assert disabled == {"Fn::If": ["HasCustomDomain", True, False]}
    # The outputs then name the domain, not the switched-off address.
    for output in ("ApiUrl", "ConsoleUrl"):
        value = translated["Outputs"][output]["Value"]["Fn::If"]
        assert value[0] == "HasCustomDomain"
        assert "${DomainName}" in value[1]["Fn::Sub"]


def test_every_api_endpoint_refuses_tls_below_1_2_and_checks_the_host(
    translated: dict[str, Any],
) -> None:
    api = _rest_api(translated)
    domains = [
        r["Properties"]
        for r in translated["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::DomainName"
    ]
    assert domains
    for properties in [api, *domains]:
        assert properties["SecurityPolicy"].startswith("SecurityPolicy_TLS13_1_2")
        assert properties["EndpointAccessMode"] == "STRICT"


def test_the_inventory_lists_each_endpoint_with_a_tls_1_2_floor() -> None:
    entries = inventory()
    endpoints = {entry.endpoint: entry for entry in entries}
    assert {
        "Api (execute-api default endpoint)",
        "ApiDomain (custom domain)",
        "PayPal REST API (sandbox)",
        "PayPal REST API (live)",
        "Amazon Connect encrypted customer input",
    } <= set(endpoints)
    for entry in entries:
        assert entry.minimum_tls in {"1.2", "1.3", "n/a"}, entry
    assert endpoints["Api (execute-api default endpoint)"].enabled == (
        "unless HasCustomDomain (then disabled)"
    )
    assert endpoints["ApiDomain (custom domain)"].certificate.endswith("CertificateArn")


def test_the_inventory_follows_the_template_not_a_list(tmp_path: Path) -> None:
    weak = tmp_path / "weak.yaml"
    weak.write_text(
        "Resources:\n"
        "  Api:\n"
        "    Type: AWS::ApiGateway::RestApi\n"
        "    Properties: {Name: api}\n"
        "  Domain:\n"
        "    Type: AWS::ApiGateway::DomainName\n"
        "    Properties: {DomainName: pay.example.com, SecurityPolicy: TLS_1_0}\n",
        encoding="utf-8",
    )
    minimum = {entry.endpoint: entry.minimum_tls for entry in inventory(weak)}
    # No SecurityPolicy: the regional default endpoint's legacy TLS 1.0.
    assert minimum["Api (execute-api default endpoint)"] == "1.0"
    assert minimum["Domain (custom domain)"] == "1.0"
    assert "Amazon Connect encrypted customer input" not in minimum


def test_the_inventorys_paypal_hosts_are_the_ones_the_firewall_allows() -> None:
    from tests.aws_support import load_template

    allowed = json.dumps(
        load_template(TEMPLATE)["Resources"]["CdeEgressAllowList"]["Properties"]["RuleGroup"]
    )
    hosts = {e.host for e in inventory() if e.endpoint.startswith("PayPal")}
    assert hosts == {"api-m.paypal.com", "api-m.sandbox.paypal.com"}
    assert all(f'"{host}"' in allowed for host in hosts)


def test_the_command_prints_the_inventory_as_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cardline.deploy.certificates", "--template", str(TEMPLATE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=60,
    )
    printed = json.loads(done.stdout)
    assert [entry["endpoint"] for entry in printed] == [e.endpoint for e in inventory()]
    assert {"certificate", "tls_policy", "minimum_tls", "renewed_by"} <= set(printed[0])
